"""Segments become passages of a few sentences, per story, remembering their segments."""

import random

import pytest

from themes.passages import Passage, SegmentText, make_passages


def words(n, word="word"):
    return " ".join(f"{word}{i}" for i in range(n))


def test_short_segments_of_one_story_are_merged_to_a_few_sentences():
    segments = [(i, "story-a", i, f"This is short segment number {i}.") for i in range(20)]
    passages = make_passages(segments, min_words=40, max_words=80)
    assert all(40 <= p.words <= 80 for p in passages[:-1])
    assert [sid for p in passages for sid in p.segment_ids] == list(range(20))
    assert passages[0].text.startswith("This is short segment number 0. This is short")


def test_stories_are_never_mixed():
    segments = [
        SegmentText(1, "a", 0, "Housing was the worst of it."),
        SegmentText(2, "b", 0, "Work kept me going."),
        SegmentText(3, "a", 1, "The hostel had no lock."),
    ]
    passages = make_passages(segments)
    assert passages == [
        Passage("a", (1, 3), "Housing was the worst of it. The hostel had no lock."),
        Passage("b", (2,), "Work kept me going."),
    ]


def test_a_long_segment_is_split_at_sentence_ends():
    sentences = [f"Sentence {i} has {words(12)}." for i in range(10)]  # 15 words each
    passages = make_passages([(7, "s", 0, " ".join(sentences))], min_words=40, max_words=80)
    assert len(passages) >= 2
    assert all(p.text.endswith(".") for p in passages)
    assert all(p.segment_ids == (7,) for p in passages)
    assert " ".join(p.text for p in passages) == " ".join(sentences)
    assert all(p.words <= 80 for p in passages)


def test_one_endless_sentence_is_cut_into_pieces():
    passages = make_passages([(1, "s", 0, words(200))], min_words=40, max_words=80)
    assert [p.words for p in passages] == [80, 80, 40]


def test_a_short_tail_joins_the_passage_before_it():
    segments = [(1, "s", 0, words(45)), (2, "s", 1, "And that was it.")]
    passages = make_passages(segments, min_words=40, max_words=80)
    assert len(passages) == 1 and passages[0].segment_ids == (1, 2)
    assert passages[0].text.endswith("And that was it.")


def test_empty_segments_are_left_out_and_order_does_not_matter():
    segments = [(i, i % 3, i, "" if i % 5 == 0 else f"Line {i} of the story.") for i in range(30)]
    passages = make_passages(segments)
    assert 0 not in {sid for p in passages for sid in p.segment_ids}
    shuffled = segments[:]
    random.Random(1).shuffle(shuffled)
    assert make_passages(shuffled) == passages


def test_nonsense_limits_are_refused():
    with pytest.raises(ValueError):
        make_passages([], min_words=50, max_words=10)
