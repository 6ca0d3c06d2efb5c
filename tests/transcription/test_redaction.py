"""Redaction: what the detectors find (and leave alone), how accepted spans read and map to
time, and who may decide. Real database, real services, real admin."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from wagtail.models import PageLogEntry

from cms.exports import exporter_for
from stories.services import story_approve
from tests import factories
from tests.transcription.redaction_helpers import timed_transcript, word_time
from themes import selectors as theme_selectors
from themes.models import Theme, ThemeAssignment, ThemeRun
from transcription import redaction, redaction_services, selectors
from transcription import services as transcription_services
from transcription.models import (
    NameListEntry,
    Redaction,
    RedactionKind,
    RedactionSource,
    RedactionStatus,
    Segment,
)
from transcription.redaction import find_suggestions, redacted_text, redaction_time_ranges
from transcription.signals import redactions_changed


def found(text, names=()):
    return [(text[s:e], kind, source) for s, e, kind, source in find_suggestions(text, names=names)]


def found_texts(text, names=()):
    return [t for t, _, _ in found(text, names)]


# --- Detectors -------------------------------------------------------------------------


def test_finds_email_addresses_written_and_spoken():
    assert found("Write to dave.smith+probation@example.co.uk, please.") == [
        ("dave.smith+probation@example.co.uk", "email", "pattern")
    ]
    assert found_texts("it was kerry dot walsh at gmail dot com I think") == [
        "kerry dot walsh at gmail dot com"
    ]


@pytest.mark.parametrize(
    "number",
    [
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "+447700900123",
        "+44 (0)20 7946 0958",
        "020 7946 0958",
        "0161 496 0000",
        "0044 161 496 0000",
        "01632 960001",
    ],
)
def test_finds_uk_phone_numbers_as_people_write_them(number):
    assert found(f"Ring me on {number} after six.") == [(number, "number", "pattern")]


@pytest.mark.parametrize(
    "text",
    [
        "I did 18 months, from 2019 to 2020.",
        "It cost 1200 pounds and 350 more.",
        "Call 999 if it happens again.",
        "Room 101 at 10 30 on the 4th.",
        "The case number was 123456789012345.",
        "He got 0 out of 10 on the test.",
    ],
)
def test_leaves_other_numbers_alone(text):
    assert found(text) == []


@pytest.mark.parametrize("postcode", ["M1 1AE", "SW1A 1AA", "B33 8TH", "CR2 6XH", "DN551PT"])
def test_finds_uk_postcodes(postcode):
    assert found(f"We moved to {postcode} last year.") == [(postcode, "place", "pattern")]


@pytest.mark.parametrize(
    "text", ["I was 25 in 2010.", "It was 2nd on the list, 3rd time lucky.", "Use an MP3 player."]
)
def test_does_not_take_ordinary_text_for_postcodes(text):
    assert found(text) == []


@pytest.mark.parametrize("ni", ["AB 12 34 56 C", "AB123456C", "ce 12 34 56 d"])
def test_finds_national_insurance_numbers(ni):
    assert found(f"My NI is {ni} apparently.") == [(ni, "number", "pattern")]


@pytest.mark.parametrize(
    "text",
    [
        "GB 12 34 56 A was on the form.",  # GB is never a prefix
        "AB 12 34 56 E was on the form.",  # the letter at the end is A to D
        "DA 12 34 56 A was on the form.",  # D is never the first letter
    ],
)
def test_does_not_take_impossible_ni_numbers(text):
    assert found(text) == []


@pytest.mark.parametrize("reg", ["AB12 CDE", "AB12CDE", "A123 BCD"])
def test_finds_vehicle_registrations(reg):
    assert found(f"The van was {reg} and it was stolen.") == [(reg, "number", "pattern")]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("I was born on 12/03/1990 in the winter.", "12/03/1990"),
        ("Date of birth 1-3-85 on the form.", "1-3-85"),
        ("I was born on the 12th of March 1990.", "12th of March 1990"),
        ("It happened on March 12th, 1990 really.", "March 12th, 1990"),
        ("It was 3 Sept 2001 when I went in.", "3 Sept 2001"),
        ("I was born on the twelfth of March, she said.", "twelfth of March"),
        ("My birthday is the 4th of July.", "4th of July"),
    ],
)
def test_finds_dates_of_birth_written_and_spoken(text, date):
    assert found(text) == [(date, "date", "pattern")]


@pytest.mark.parametrize(
    "text",
    [
        "I was in court in March, then again in 2020.",
        "It was the 3rd time that month.",
        "May I ask you something?",
        "They march you in at seven.",
        "The meeting is on the 4th of July.",  # a date, but nothing says it is a birthday
    ],
)
def test_leaves_dates_that_are_not_birthdays_or_full_dates_alone(text):
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("I lived at 14 Elm Road for years.", "14 Elm Road"),
        ("It was Flat 3, 221B Baker Street then.", "Flat 3, 221B Baker Street"),
        ("We were on Orchard Close at the time.", "Orchard Close"),
    ],
)
def test_finds_street_addresses(text, address):
    assert found(text) == [(address, "place", "pattern")]


@pytest.mark.parametrize(
    "text",
    ["I walked 14 miles down the road.", "The road was long and the street was empty."],
)
def test_does_not_take_roads_in_general_for_addresses(text):
    assert found(text) == []


def test_name_lists_match_whole_words_in_any_case_and_spacing():
    names = [("Dave Smith", "name"), ("Kerry", "name"), ("Elm", "place")]
    text = "dave   SMITH told Kerry, not Kerryanne or Davey Smithson, to leave."
    assert found(text, names) == [
        ("dave   SMITH", "name", "name_list"),
        ("Kerry", "name", "name_list"),
        # What the capitalised-name guess still offers (not on the list):
        ("Kerryanne", "name", "heuristic"),
        ("Davey Smithson", "name", "heuristic"),
    ]


def test_a_name_list_term_inside_an_address_hides_the_whole_address():
    assert found("I lived at 14 Elm Road.", [("elm", "place")]) == [
        ("14 Elm Road", "place", "name_list")
    ]


def test_capitalised_names_are_guessed_but_not_common_words_or_sentence_starts():
    text = (
        "I met Kerry Walsh at the Probation office on Monday in March. "
        "Then Christmas came. Darren was not there, and I'm sure Mr O'Brien knew."
    )
    assert found(text) == [
        ("Kerry Walsh", "name", "heuristic"),
        ("O'Brien", "name", "heuristic"),
    ]


def test_the_guess_stops_at_punctuation_and_keeps_possessives_outside():
    assert found_texts("I asked Sam, Jo and McDonald's staff about Dave's flat.") == [
        "Sam",
        "Jo",
        "McDonald",
        "Dave",
    ]


# --- Rendering -------------------------------------------------------------------------


def test_overlapping_and_touching_spans_read_as_one_placeholder():
    text = "I met John Smith Jones at the shop"
    spans = [(6, 16, "name"), (11, 22, "name"), (22, 22, "name")]
    assert redaction.render(text, spans) == "I met [name] at the shop"
    # A place inside a longer name reads as the longer one's placeholder.
    assert (
        redaction.render(text, [(6, 22, "name"), (11, 16, "place")]) == "I met [name] at the shop"
    )
    assert (
        redaction.render(text, [(0, 1, "name"), (33, 34, "place")])
        == "[name] met John Smith Jones at the sho[place]"
    )


# --- Services --------------------------------------------------------------------------


@pytest.fixture
def story(project, reporter):
    return factories.story(project, reporter, title="Hostel", text="A written story.")


@pytest.fixture
def transcript(story):
    return timed_transcript(
        story,
        [
            "I met Kerry Walsh at the hostel on Tuesday",  # words 0-8
            "she gave me her number 07700 900123 and left",  # words 9-17
            "the rest was just waiting around",  # words 18-23
        ],
    )


def segments(transcript):
    return list(Segment.objects.filter(transcript=transcript).order_by("index"))


def reload(segment):
    return Segment.objects.prefetch_related("redactions").get(pk=segment.pk)


def test_suggestions_change_nothing_until_a_person_accepts_them(transcript):
    created = redaction_services.redaction_suggest(transcript=transcript)
    assert sorted((r.original, r.kind, r.status) for r in created) == [
        ("07700 900123", "number", "suggested"),
        ("Kerry Walsh", "name", "suggested"),
    ]
    first, second, _ = segments(transcript)
    assert redacted_text(first) == "I met Kerry Walsh at the hostel on Tuesday"
    assert redaction_time_ranges(transcript.story) == []


def test_suggesting_again_adds_nothing_and_a_kept_span_is_not_asked_again(transcript, reporter):
    first = redaction_services.redaction_suggest(transcript=transcript)
    kerry = next(r for r in first if r.original == "Kerry Walsh")
    redaction_services.redaction_decide(redaction=kerry, user=reporter, accept=False)
    assert redaction_services.redaction_suggest(transcript=transcript) == []
    assert Redaction.objects.filter(story=transcript.story).count() == 2
    assert Redaction.objects.get(pk=kerry.pk).status == RedactionStatus.REJECTED


def test_accepting_hides_the_words_and_their_time_and_tells_the_audio_side(
    transcript, reporter, django_capture_on_commit_callbacks
):
    heard = []

    def receiver(sender, story_id, **kwargs):
        heard.append(story_id)

    redactions_changed.connect(receiver)
    try:
        suggestions = redaction_services.redaction_suggest(transcript=transcript)
        with django_capture_on_commit_callbacks(execute=True):
            for suggestion in suggestions:
                redaction_services.redaction_decide(
                    redaction=suggestion, user=reporter, accept=True
                )
    finally:
        redactions_changed.disconnect(receiver)
    first, second, third = segments(transcript)
    assert redacted_text(first) == "I met [name] at the hostel on Tuesday"
    assert redacted_text(second) == "she gave me her number [number] and left"
    assert redacted_text(third) == "the rest was just waiting around"
    # Kerry Walsh is words 2-3; the number is words 14-15. Padded 0.05 s either side.
    assert redaction_time_ranges(transcript.story) == [
        pytest.approx((word_time(2)[0] - 0.05, word_time(3)[1] + 0.05)),
        pytest.approx((word_time(14)[0] - 0.05, word_time(15)[1] + 0.05)),
    ]
    assert heard == [transcript.story.pk, transcript.story.pk]


def test_undoing_a_redaction_shows_the_words_again_and_says_so(
    transcript, reporter, django_capture_on_commit_callbacks
):
    kerry = next(
        r for r in redaction_services.redaction_suggest(transcript=transcript) if r.kind == "name"
    )
    redaction_services.redaction_decide(redaction=kerry, user=reporter, accept=True)
    heard = []
    redactions_changed.connect(lambda sender, story_id, **kw: heard.append(story_id), weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            redaction_services.redaction_decide(redaction=kerry, user=reporter, accept=False)
            # Keeping what is already kept changes nothing a listener must redo.
            redaction_services.redaction_decide(redaction=kerry, user=reporter, accept=False)
    finally:
        redactions_changed.receivers = [
            r for r in redactions_changed.receivers if "lambda" not in repr(r[1])
        ]
        redactions_changed.sender_receivers_cache.clear()
    assert redacted_text(reload(segments(transcript)[0])).startswith("I met Kerry Walsh")
    assert heard == [transcript.story.pk]


def test_a_selection_across_a_segment_boundary_hides_both_parts(transcript, reporter):
    first, second, third = segments(transcript)
    # From "hostel on Tuesday" to "she gave me".
    start = first.text.index("hostel")
    rows = redaction_services.redaction_add(
        segment=first,
        start_char=start,
        end_char=len(first.text),
        kind=RedactionKind.PLACE,
        user=reporter,
        end_segment=second,
        end_char_in_end_segment=len("she gave me"),
    )
    assert [r.original for r in rows] == ["hostel on Tuesday", "she gave me"]
    assert rows[0].group and rows[0].group == rows[1].group
    assert redacted_text(reload(first)) == "I met Kerry Walsh at the [place]"
    assert redacted_text(reload(second)) == "[place] her number 07700 900123 and left"
    # Words 6-8 and 9-11 are one silence, not two.
    assert redaction_time_ranges(transcript.story) == [
        pytest.approx((word_time(6)[0] - 0.05, word_time(11)[1] + 0.05))
    ]
    # Undoing one part undoes the whole selection.
    redaction_services.redaction_decide(redaction=rows[1], user=reporter, accept=False)
    assert redacted_text(reload(first)) == first.text
    assert redaction_time_ranges(transcript.story) == []


def test_a_selection_over_three_segments_hides_the_middle_one_whole(transcript, reporter):
    first, second, third = segments(transcript)
    rows = redaction_services.redaction_add(
        segment=first,
        start_char=first.text.index("Tuesday"),
        end_char=len(first.text),
        kind=RedactionKind.OTHER,
        user=reporter,
        end_segment=third,
        end_char_in_end_segment=len("the rest"),
    )
    assert len(rows) == 3
    assert redacted_text(reload(second)) == "[redacted]"
    assert redacted_text(reload(third)) == "[redacted] was just waiting around"


def test_overlapping_redactions_never_show_two_placeholders(transcript, reporter):
    first = segments(transcript)[0]
    kerry = first.text.index("Kerry")
    for start, end in [
        (kerry, kerry + len("Kerry Walsh")),
        (kerry + 6, kerry + len("Kerry Walsh at")),
    ]:
        redaction_services.redaction_add(
            segment=first, start_char=start, end_char=end, kind="name", user=reporter
        )
    assert redacted_text(reload(first)) == "I met [name] the hostel on Tuesday"
    assert redaction_time_ranges(transcript.story) == [
        pytest.approx((word_time(2)[0] - 0.05, word_time(4)[1] + 0.05))
    ]


def test_selecting_a_suggested_span_accepts_it_rather_than_adding_another(transcript, reporter):
    redaction_services.redaction_suggest(transcript=transcript)
    first = segments(transcript)[0]
    kerry = first.text.index("Kerry")
    # A selection with a space either side is trimmed to the words.
    rows = redaction_services.redaction_add(
        segment=first,
        start_char=kerry - 1,
        end_char=kerry + len("Kerry Walsh "),
        kind="name",
        user=reporter,
    )
    assert Redaction.objects.filter(segment=first).count() == 1
    assert rows[0].status == RedactionStatus.ACCEPTED
    assert rows[0].source == RedactionSource.HEURISTIC


@pytest.mark.parametrize(
    ("start", "end", "kind", "message"),
    [
        (5, 5, "name", "Please select some words to hide."),
        (10, 3, "name", "Please select some words to hide."),
        (0, 500, "name", "Please select some words to hide."),
        (5, 6, " ", "Please select some words to hide."),
        (0, 5, "face", "Please choose what kind of thing this is (a name, a place…)."),
    ],
)
def test_a_bad_selection_is_refused_with_a_plain_message(
    transcript, reporter, start, end, kind, message
):
    first = segments(transcript)[0]
    if kind == " ":  # only the space between two words
        start = first.text.index(" ")
        end, kind = start + 1, "name"
    with pytest.raises(ValidationError) as refused:
        redaction_services.redaction_add(
            segment=first, start_char=start, end_char=end, kind=kind, user=reporter
        )
    assert refused.value.messages == [message]
    assert not Redaction.objects.exists()


def test_a_selection_that_runs_backwards_across_segments_is_refused(transcript, reporter):
    first, second, _ = segments(transcript)
    with pytest.raises(ValidationError):
        redaction_services.redaction_add(
            segment=second,
            start_char=0,
            end_char=3,
            kind="name",
            user=reporter,
            end_segment=first,
            end_char_in_end_segment=3,
        )


def test_redactions_follow_the_words_after_an_edit(transcript, reporter):
    first = segments(transcript)[0]
    redaction_services.redaction_suggest(transcript=transcript)
    kerry = Redaction.objects.get(segment=first, original="Kerry Walsh")
    redaction_services.redaction_decide(redaction=kerry, user=reporter, accept=True)

    old = first.text
    first.text = "So yesterday I met Kerry Walsh at the hostel on Tuesday"
    first.save()
    redaction_services.redactions_reanchor(segment=first, old_text=old)
    kerry.refresh_from_db()
    assert first.text[kerry.start_char : kerry.end_char] == "Kerry Walsh"
    assert redacted_text(reload(first)) == "So yesterday I met [name] at the hostel on Tuesday"
    # The words before the name were edited (no timings); the name's own words still have
    # theirs, so the silence is still exactly over the name.
    assert redaction_time_ranges(transcript.story) == [
        pytest.approx((word_time(2)[0] - 0.05, word_time(3)[1] + 0.05))
    ]

    # The reporter corrects the name away: the redaction has nothing left to hide.
    old = first.text
    first.text = "So yesterday I met her at the hostel on Tuesday"
    first.save()
    redaction_services.redactions_reanchor(segment=first, old_text=old)
    assert not Redaction.objects.filter(pk=kerry.pk).exists()
    assert redacted_text(reload(first)) == first.text


def test_a_name_typed_in_by_an_edit_is_suggested(transcript, reporter):
    story = transcript.story
    redaction_services.name_list_add(user=reporter, term="Darren", story=story)
    third = segments(transcript)[2]
    old = third.text
    third.text = "the rest was just waiting around for darren"
    third.save()
    redaction_services.redactions_reanchor(segment=third, old_text=old)
    suggestion = Redaction.objects.get(segment=third)
    assert (suggestion.original, suggestion.status) == ("darren", RedactionStatus.SUGGESTED)


def test_when_the_words_moved_before_reanchoring_they_are_still_hidden(transcript, reporter):
    """Belt and braces: an edit that forgot to re-anchor must not show the name."""
    first = segments(transcript)[0]
    kerry = first.text.index("Kerry")
    redaction_services.redaction_add(
        segment=first, start_char=kerry, end_char=kerry + 11, kind="name", user=reporter
    )
    Segment.objects.filter(pk=first.pk).update(text="Well I met Kerry Walsh at the hostel")
    assert redacted_text(reload(first)) == "Well I met [name] at the hostel"


def test_a_written_story_is_redacted_but_has_nothing_to_silence(story, reporter):
    transcript = timed_transcript(story, ["My sister Kerry lives in Leeds"], timed=False)
    first = segments(transcript)[0]
    rows = redaction_services.redaction_add(
        segment=first, start_char=10, end_char=15, kind="name", user=reporter
    )
    assert (rows[0].start, rows[0].end) == (None, None)
    assert redacted_text(reload(first)) == "My sister [name] lives in Leeds"
    assert redaction_time_ranges(story) == []


def test_a_new_transcript_of_the_story_keeps_what_was_decided(transcript, reporter):
    story = transcript.story
    for suggestion in redaction_services.redaction_suggest(transcript=transcript):
        redaction_services.redaction_decide(
            redaction=suggestion, user=reporter, accept=suggestion.kind == "number"
        )
    first = segments(transcript)[0]
    redaction_services.redaction_add(
        segment=first,
        start_char=first.text.index("hostel"),
        end_char=first.text.index(" on"),
        kind="place",
        user=reporter,
    )
    # Re-transcribed with another model: different segmentation, same words.
    rerun = timed_transcript(
        story,
        ["I met Kerry Walsh at the hostel", "on Tuesday she gave me 07700 900123"],
        model="base",
    )
    redaction_services.redaction_suggest(transcript=rerun)
    one, two = (reload(s) for s in segments(rerun))
    assert redacted_text(one) == "I met Kerry Walsh at the [place]"
    assert redacted_text(two) == "on Tuesday she gave me [number]"
    kept = Redaction.objects.get(segment=one, original="Kerry Walsh")
    assert kept.status == RedactionStatus.REJECTED


def test_a_new_transcript_is_searched_when_it_is_ready(
    project, reporter, django_capture_on_commit_callbacks
):
    story = factories.story(
        project, reporter, title="Letter", text="I wrote to Kerry at 14 Elm Road, M1 1AE."
    )
    job = transcription_services.job_enqueue(story=story)
    with django_capture_on_commit_callbacks(execute=True):
        transcription_services.job_run(job_id=job.pk)
    assert sorted(Redaction.objects.filter(story=story).values_list("original", "status")) == [
        ("14 Elm Road", "suggested"),
        ("Kerry", "suggested"),
        ("M1 1AE", "suggested"),
    ]


# --- Who may decide --------------------------------------------------------------------


def test_only_the_storys_reporter_and_stewards_may_change_redactions(
    transcript, reporter, other_reporter, facilitator, manager, steward, other_project
):
    story = transcript.story
    stranger = factories.user_with_role("reporter", other_project, username="olga")
    assert selectors.redactions_editable_by(user=reporter, story=story)
    assert selectors.redactions_editable_by(user=steward, story=story)
    for user in (other_reporter, facilitator, manager, stranger):
        assert not selectors.redactions_editable_by(user=user, story=story)
        assert not selectors.redactions_for_user(user=user, story=story).exists()

    suggestion = redaction_services.redaction_suggest(transcript=transcript)[0]
    first = segments(transcript)[0]
    for user in (other_reporter, facilitator, manager, stranger):
        with pytest.raises(PermissionDenied):
            redaction_services.redaction_decide(redaction=suggestion, user=user, accept=True)
        with pytest.raises(PermissionDenied):
            redaction_services.redaction_add(
                segment=first, start_char=0, end_char=1, kind="name", user=user
            )
        with pytest.raises(PermissionDenied):
            redaction_services.name_list_add(user=user, term="Kerry", story=story)
    assert not Redaction.objects.filter(status=RedactionStatus.ACCEPTED).exists()
    redaction_services.redaction_decide(redaction=suggestion, user=steward, accept=True)
    assert Redaction.objects.filter(status=RedactionStatus.ACCEPTED).count() == 1


def test_every_decision_is_in_the_audit_log_without_the_words(transcript, reporter):
    story = transcript.story
    suggestions = redaction_services.redaction_suggest(transcript=transcript)
    redaction_services.name_list_add(user=reporter, term="Tuesday Smith", story=story)
    redaction_services.redaction_decide(redaction=suggestions[0], user=reporter, accept=True)
    redaction_services.redaction_decide(redaction=suggestions[1], user=reporter, accept=False)
    first = segments(transcript)[0]
    redaction_services.redaction_add(
        segment=first, start_char=0, end_char=5, kind="other", user=reporter
    )
    entries = PageLogEntry.objects.filter(page=story, action__startswith="storyloom.")
    actions = set(entries.values_list("action", flat=True))
    assert {
        "storyloom.namelist.add",
        "storyloom.redaction.suggest",
        "storyloom.redaction.accept",
        "storyloom.redaction.reject",
        "storyloom.redaction.add",
    } <= actions
    logged = json.dumps(list(entries.values_list("data", flat=True)))
    for secret in ("Kerry", "Walsh", "07700", "900123", "Tuesday Smith", "I met"):
        assert secret not in logged
    accepted = entries.get(action="storyloom.redaction.accept")
    assert accepted.user == reporter and accepted.data["redaction"] == suggestions[0].pk


# --- Name lists ------------------------------------------------------------------------


def test_a_story_name_list_entry_is_suggested_wherever_it_is_said(transcript, reporter):
    story = transcript.story
    redaction_services.redaction_suggest(transcript=transcript)
    entry = redaction_services.name_list_add(
        user=reporter, term=" the   hostel ", kind="place", story=story
    )
    assert entry.term == "the hostel"
    # Adding it again (in any case) does not make a second entry.
    assert redaction_services.name_list_add(user=reporter, term="THE HOSTEL", story=story) == entry
    row = Redaction.objects.get(story=story, original="the hostel")
    assert (row.kind, row.source, row.status) == ("place", "name_list", "suggested")


def test_project_lists_are_kept_by_stewards_and_reach_every_story(
    project, transcript, reporter, steward
):
    other = factories.story(project, reporter, title="Second", text="x", storyteller_name="Al")
    other_transcript = timed_transcript(other, ["officer Tuesday was kind to me"])
    with pytest.raises(PermissionDenied):
        redaction_services.name_list_add(user=reporter, term="Tuesday", project=project)
    entry = redaction_services.name_list_add(user=steward, term="Tuesday", project=project)
    assert Redaction.objects.filter(original="Tuesday", source="name_list").count() == 2
    assert Redaction.objects.filter(segment__transcript=other_transcript).exists()
    with pytest.raises(PermissionDenied):
        redaction_services.name_list_remove(user=reporter, entry=entry)
    redaction_services.name_list_remove(user=steward, entry=entry)
    assert not NameListEntry.objects.exists()


def test_a_name_list_entry_needs_a_name_and_one_owner(story, reporter, project, steward):
    with pytest.raises(ValidationError):
        redaction_services.name_list_add(user=reporter, term=" ", story=story)
    with pytest.raises(ValidationError):
        redaction_services.name_list_add(user=steward, term="Kerry", story=story, project=project)
    with pytest.raises(ValidationError):
        redaction_services.name_list_add(user=steward, term="Kerry")


def test_reporters_see_and_keep_only_their_own_stories_name_lists(
    client, project, story, reporter, other_reporter, steward, facilitator
):
    theirs = factories.story(
        project, other_reporter, title="Theirs", text="x", storyteller_name="Bo"
    )
    redaction_services.name_list_add(user=other_reporter, term="Zebedee Quint", story=theirs)
    redaction_services.name_list_add(user=steward, term="Officer Pym", project=project)

    client.force_login(facilitator)
    assert client.get(reverse("name_list:index")).status_code in (302, 403)

    client.force_login(reporter)
    index = reverse("name_list:index")
    form = client.get(reverse("name_list:add") + f"?story={story.pk}").content.decode()
    assert "Name, place or organisation" in form and "Hostel" in form and "Theirs" not in form
    response = client.post(
        reverse("name_list:add"),
        {"term": "Kerry Walsh", "kind": "name", "story": story.pk},
    )
    assert response.status_code == 302
    assert NameListEntry.objects.filter(story=story, term="Kerry Walsh").exists()
    page = client.get(index).content.decode()
    assert "Kerry Walsh" in page
    assert "Zebedee Quint" not in page and "Officer Pym" not in page

    # Another reporter's story cannot be chosen, nor a project.
    response = client.post(
        reverse("name_list:add"), {"term": "Sneaky", "kind": "name", "story": theirs.pk}
    )
    assert response.status_code == 200
    response = client.post(
        reverse("name_list:add"), {"term": "Sneaky", "kind": "name", "project": project.pk}
    )
    assert response.status_code == 200
    assert not NameListEntry.objects.filter(term="Sneaky").exists()
    # Another story's entry answers 404.
    hidden = NameListEntry.objects.get(term="Zebedee Quint")
    assert client.post(reverse("name_list:delete", args=[hidden.pk])).status_code == 404
    mine = NameListEntry.objects.get(term="Kerry Walsh")
    assert client.post(reverse("name_list:delete", args=[mine.pk])).status_code == 302
    assert not NameListEntry.objects.filter(pk=mine.pk).exists()

    client.force_login(steward)
    page = client.get(index).content.decode()
    assert "Zebedee Quint" in page and "Officer Pym" in page


# --- Outputs ---------------------------------------------------------------------------


def _accept_all(transcript, user):
    for suggestion in redaction_services.redaction_suggest(transcript=transcript):
        redaction_services.redaction_decide(redaction=suggestion, user=user, accept=True)


def test_the_segments_export_is_redacted_words_included(transcript, reporter):
    _accept_all(transcript, reporter)
    rows = exporter_for("segments").as_json(project=transcript.story.get_project())
    ours = [row for row in rows if row["story_id"] == transcript.story_id]
    assert [row["text"] for row in ours][:2] == [
        "I met [name] at the hostel on Tuesday",
        "she gave me her number [number] and left",
    ]
    first_words = [w["text"] for w in ours[0]["words"]]
    assert first_words == [" I", " met", " [name]", " at", " the", " hostel", " on", " Tuesday"]
    placeholder = ours[0]["words"][2]
    assert (placeholder["start"], placeholder["end"]) == (word_time(2)[0], word_time(3)[1])
    dumped = json.dumps(rows)
    assert "Kerry" not in dumped and "900123" not in dumped


def test_theme_analysis_and_the_themes_export_are_redacted(transcript, reporter, steward):
    story = transcript.story
    story_approve(story=story, user=steward)
    _accept_all(transcript, reporter)
    first = reload(segments(transcript)[0])
    assert theme_selectors.analysis_text(first) == "I met [name] at the hostel on Tuesday"
    project = story.get_project()
    run = ThemeRun.objects.create(project=project, is_current=True)
    # Found before the name was hidden, so the name is among its words.
    theme = Theme.objects.create(
        run=run,
        project=project,
        key=0,
        auto_label="hostel, kerry, waiting",
        keywords=["hostel", "kerry", "waiting", "walsh"],
        size=1,
    )
    ThemeAssignment.objects.create(theme=theme, segment=first, story=story)
    data = exporter_for("themes").as_json(project=project)
    assert data["themes"][0]["label"] == "hostel, [name], waiting"
    assert data["themes"][0]["keywords"] == ["hostel", "waiting"]
    assert data["themes"][0]["segments"][0]["text"] == "I met [name] at the hostel on Tuesday"
    assert {s["text"] for s in data["unassigned"]} == {
        "she gave me her number [number] and left",
        "the rest was just waiting around",
    }
