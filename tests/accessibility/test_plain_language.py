"""Every message a reporter or storyteller reads is short and plain: a sentence of at most
25 words; a text long enough to score (8 words or more) reads at Flesch reading ease 60 or
more and school grade 8 or less (textstat); a shorter one (a label, a button, a choice) has
no word of more than four syllables. The consent script's easy-read words are easier still."""

import pytest

from stories.consent import EASY_READ, SCRIPT
from stories.forms import NO_CONSENT_TO_RECORD
from tests.accessibility import plain_language
from tests.accessibility.plain_language import all_messages, problems, sentences


@pytest.fixture(autouse=True)
def syllables_from_pyphen(monkeypatch):
    """textstat would ask nltk for the CMU dictionary, which nltk downloads on first use:
    nothing may be fetched here, so syllables come from pyphen's dictionaries (shipped)."""
    monkeypatch.setattr("textstat.backend.counts._count_syllables.get_cmudict", lambda lang: None)


@pytest.fixture
def messages(db):
    return all_messages()


def test_the_messages_are_collected_from_every_place_they_are_written(messages):
    texts = {m.text for m in messages}
    sources = {m.source for m in messages}
    # The form (labels, help, errors, choices), the models' choices, the Python modules,
    # the templates, and the public statuses.
    assert {"Title of the story", "Please give the story a title.", NO_CONSENT_TO_RECORD} <= texts
    assert "Being transcribed" in texts and "Person using the service" in texts
    assert "It should be ready in about 5 minutes." in texts  # an f-string, filled in
    assert "There is a problem" in texts and "You said, we did" in texts
    assert set(SCRIPT) <= texts and set(EASY_READ) <= texts
    for place in plain_language.MODULES + plain_language.TEMPLATE_FILES:
        assert place in sources, f"nothing collected from {place}"
    assert "action status (public)" in sources
    assert len(messages) > 300
    # Code and log lines are not messages.
    assert not any(t.startswith(("storyloom.", "stories/")) for t in texts)


def test_every_message_a_reporter_or_storyteller_reads_is_plain(messages):
    hard = [
        f"{m.source}: “{m.text[:120]}” — {', '.join(found)}"
        for m in messages
        if (found := problems(m.text))
    ]
    assert not hard, "Please say these more plainly:\n" + "\n".join(hard)


@pytest.mark.no_database
@pytest.mark.parametrize(
    "text",
    [
        "Notwithstanding the aforementioned considerations, authorisation is contingent upon "
        "verification of documentation.",
        "Authorisation unsuccessful",
        "When you have finished telling the story and the storyteller has agreed to every "
        "part of it, and you have checked the date, the place and the title, press the "
        "button to send it.",
    ],
)
def test_hard_wording_is_caught(text):
    assert problems(text)


@pytest.mark.no_database
def test_plain_wording_passes():
    assert problems("Please give the story a title.") == []
    assert problems("Send the story") == []


@pytest.mark.no_database
def test_the_easy_read_consent_is_easier_than_the_script():
    import textstat

    assert len(EASY_READ) >= 10
    for line in EASY_READ:
        assert len(sentences(line)) == 1, f"one idea a line: {line}"
        assert textstat.lexicon_count(line) <= 12, f"short: {line}"
    easy, script = " ".join(EASY_READ), " ".join(SCRIPT)
    assert textstat.flesch_reading_ease(easy) >= 90
    assert textstat.flesch_kincaid_grade(easy) <= 3
    assert textstat.flesch_kincaid_grade(easy) < textstat.flesch_kincaid_grade(script)
    # It says what the script says: every promise of the script is there in easy words.
    for idea in [
        "record",
        "say yes",
        "name",
        "places",
        "safe",
        "choose",
        "change your mind",
        "delete",
    ]:
        assert idea in easy, idea
