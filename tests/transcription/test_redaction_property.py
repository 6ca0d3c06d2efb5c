"""Planted personal data never survives redaction: synthetic names (from a name list), phone
numbers, e-mail addresses, postcodes, National Insurance numbers and number plates are
spoken in a transcript; once every suggestion is accepted, none of them appears in any
redacted output — the text, theme analysis, the segments and themes exports, captions,
the plain-text download, or a clip's words and captions."""

import json
import re

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cms.exports import exporter_for
from stories.services import story_approve
from tests import factories
from tests.transcription.redaction_helpers import timed_transcript
from themes import selectors as theme_selectors
from themes.models import Theme, ThemeAssignment, ThemeRun
from transcription import captions, clip_services, redaction_services
from transcription.models import Redaction, RedactionStatus, Segment
from transcription.redaction import redacted_text

TEMPLATES = {
    "name": [
        "i told {} about the hostel",
        "{} came round later that night",
        "my officer {} was fair to me",
        "we went to see {}'s mum on the bus",
    ],
    "phone": ["you can ring me on {} any time", "her number was {} back then"],
    "email": ["write to {} if you like", "my email is {} now"],
    "postcode": ["my postcode is {} these days", "we moved to {} in the end"],
    "ni": ["my insurance number is {} on the form", "he read out {} at the desk"],
    "reg": ["the car was {} and it was stolen", "they stopped the van {} twice"],
}
FILLER = ["the rest was just waiting around", "nobody listened to me for years"]
TITLE = "Planted"
# Words the outputs hold anyway (placeholders, caption headers, the templates, the title):
# a generated name that is one of them could not be told apart from them.
FIXED = " ".join(
    [TITLE, "WEBVTT name place number redacted", *FILLER]
    + [t for group in TEMPLATES.values() for t in group]
).lower()

names = (
    st.lists(st.from_regex(r"[A-Z][a-z]{2,9}", fullmatch=True), min_size=1, max_size=2)
    .map(" ".join)
    .filter(lambda n: not any(re.search(rf"\b{re.escape(w.lower())}\b", FIXED) for w in n.split()))
)
phones = st.one_of(
    st.from_regex(r"07[0-9]{3} [0-9]{6}", fullmatch=True),
    st.from_regex(r"07[0-9]{9}", fullmatch=True),
    st.from_regex(r"\+44 7[0-9]{3} [0-9]{6}", fullmatch=True),
    st.from_regex(r"01[0-9]{2} [0-9]{3} [0-9]{4}", fullmatch=True),
    st.from_regex(r"020 [0-9]{4} [0-9]{4}", fullmatch=True),
    st.from_regex(r"\+44 \(0\)20 [0-9]{4} [0-9]{4}", fullmatch=True),
)
emails = st.from_regex(
    r"[a-z]{2,8}(\.[a-z]{2,8})?@[a-z]{3,8}\.(com|org|net|co\.uk)", fullmatch=True
)
postcodes = st.from_regex(r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True)
ni_numbers = st.from_regex(
    r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]", fullmatch=True
).filter(lambda ni: ni[:2] not in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
registrations = st.from_regex(r"[A-Z]{2}[0-9]{2} ?[A-Z]{3}", fullmatch=True)

VALUES = {
    "name": names,
    "phone": phones,
    "email": emails,
    "postcode": postcodes,
    "ni": ni_numbers,
    "reg": registrations,
}


@st.composite
def plantings(draw):
    """1–6 sentences, each saying one piece of personal data, spread over 1–3 segments
    (with some ordinary sentences between)."""
    sentences, planted = [], []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(sorted(VALUES)))
        value = draw(VALUES[kind])
        sentences.append(draw(st.sampled_from(TEMPLATES[kind])).format(value))
        planted.append((kind, value))
        if draw(st.booleans()):
            sentences.append(draw(st.sampled_from(FILLER)))
    cuts = []
    if len(sentences) > 1:
        cuts = sorted(draw(st.sets(st.integers(1, len(sentences) - 1), max_size=2)))
    texts = [
        " ".join(s[0].upper() + s[1:] + "." for s in sentences[a:b])
        for a, b in zip([0, *cuts], [*cuts, len(sentences)], strict=True)
    ]
    return texts, planted


def _shown(value: str, output: str, kind: str) -> bool:
    if kind == "name":  # name lists match whole words in any case
        return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output, re.IGNORECASE) is not None
    if kind == "phone":
        digits = re.sub(r"\D", "", value)
        return value in output or digits in re.sub(r"\s", "", output)
    return value.casefold() in output.casefold()


@pytest.fixture
def planted_story(project, reporter, steward):
    story = factories.story(project, reporter, title=TITLE, text="A written story.")
    story_approve(story=story, user=steward)
    ThemeRun.objects.create(project=project, is_current=True)
    return story


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plantings())
def test_no_planted_personal_data_survives_redaction(planted_story, reporter, plan):
    texts, planted = plan
    for _, value in planted:
        # Personal data must not be made of the words the sentences are made of.
        assume(not re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", FIXED))
    # Each example in a savepoint rolled back at its end: no example sees another's rows,
    # and a failing one does not break the next one's transaction.
    with transaction.atomic():
        _plant_redact_and_check(planted_story, reporter, texts, planted)
        transaction.set_rollback(True)


def _plant_redact_and_check(story, reporter, texts, planted):
    project = story.get_project()
    for kind, value in planted:
        if kind == "name":
            redaction_services.name_list_add(user=reporter, term=value, story=story)

    transcript = timed_transcript(story, texts)
    redaction_services.redaction_suggest(transcript=transcript)
    for suggestion in Redaction.objects.filter(
        segment__transcript=transcript, status=RedactionStatus.SUGGESTED
    ):
        redaction_services.redaction_decide(redaction=suggestion, user=reporter, accept=True)

    segments = list(
        Segment.objects.filter(transcript=transcript)
        .prefetch_related("redactions")
        .order_by("index")
    )
    # A theme found before the words were hidden: its keywords and label hold the names.
    name_words = [w.lower() for kind, v in planted if kind == "name" for w in v.split()]
    keywords = ["hostel", *name_words, "waiting"]
    theme = Theme.objects.create(
        run=ThemeRun.objects.get(project=project, is_current=True),
        project=project,
        key=0,
        auto_label=", ".join(keywords[:4]),
        keywords=keywords,
        size=1,
    )
    ThemeAssignment.objects.create(theme=theme, segment=segments[0], story=story)
    clip = clip_services.clip_create(
        user=reporter, story=story, first_segment=segments[0], last_segment=segments[-1]
    )
    outputs = {
        "redacted text": "\n".join(redacted_text(s) for s in segments),
        "theme analysis": "\n".join(theme_selectors.analysis_text(s) for s in segments),
        "segments export": json.dumps(exporter_for("segments").as_json(project=project)),
        "segments csv": json.dumps(exporter_for("segments").as_rows(project=project)[1]),
        "themes export": json.dumps(exporter_for("themes").as_json(project=project)),
        "captions vtt": captions.webvtt(captions.story_cues(segments)),
        "captions srt": captions.srt(captions.story_cues(segments)),
        "plain text": captions.plain_text(segments, title=TITLE),
        "clip words": clip.text,
        "clip captions": clip.captions,
    }
    for kind, value in planted:
        for where, output in outputs.items():
            assert not _shown(value, output, kind), f"{kind} {value!r} shown in the {where}"
    # And it was hidden, not dropped: the placeholders say something was there.
    assert "[" in outputs["redacted text"]
