"""A small project with real stories, transcripts and themes (the stand-in theme engine,
which clusters by vocabulary), for the workshop tests."""

import pytest

from tests.factories import PASSWORD
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, FakeEngine, analysed_story
from themes import services as theme_services
from themes.models import Theme
from workshops import services

ANN_HOUSING = "The landlord wanted a deposit and the rent was more than my benefits."
DEE_HOUSING = "I slept in the hostel for months before housing found me a flat."

# Who says what (storyteller, role, paragraphs, consent scopes or None for all).
TELLERS = [
    ("Ann", "service_user", [HOUSING[0], WORK[0], ANN_HOUSING], None),
    ("Bob", "staff", [HOUSING[1], WORK[1]], None),
    ("Cat", "service_user", [HOUSING[2], DRINK[0], DRINK[1]], None),
    ("Dee", "volunteer", [DEE_HOUSING, FAMILY[0]], None),
    # Eve may be analysed, but not quoted.
    ("Eve", "service_user", [WORK[2]], ["record", "transcribe", "analyse"]),
]


@pytest.fixture
def stories(project, reporter, steward):
    return {
        name: analysed_story(
            project,
            reporter,
            steward,
            paragraphs,
            title=f"{name}'s story",
            teller=name,
            role=role,
            scopes=scopes,
        )
        for name, role, paragraphs, scopes in TELLERS
    }


@pytest.fixture
def run(project, stories, facilitator):
    started = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    return theme_services.theme_run_execute(run_id=started.pk, engine=FakeEngine())


@pytest.fixture
def themes(run):
    return {
        name: Theme.objects.get(run=run, auto_label=f"{name}, auto")
        for name in ("housing", "work", "drink", "family")
    }


@pytest.fixture
def workshop(project, facilitator, themes):
    return services.workshop_create(
        project=project,
        user=facilitator,
        title="Managers' workshop",
        audience=["managers", "case_managers"],
        objectives="Agree two changes to try.",
        draft=True,
    )


@pytest.fixture
def plain_workshop(project, facilitator):
    """A workshop with an empty pack (outcomes and permissions need no themes)."""
    return services.workshop_create(
        project=project, user=facilitator, title="Staff workshop", audience=["managers"]
    )


@pytest.fixture
def login(client):
    def as_user(user):
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return as_user


def add_blocks(workshop, user, *blocks, without: str = ""):
    """Edit the pack as the page editor does: a new revision with these blocks added (and
    the blocks of type `without` taken out)."""
    import uuid

    from workshops.selectors import latest_version

    version = latest_version(workshop)
    raw = [block for block in version.body.raw_data if block["type"] != without]
    raw += [{"type": kind, "value": value, "id": str(uuid.uuid4())} for kind, value in blocks]
    version.body = raw
    version.save_revision(user=user)
    return version


def quote_block(segment):
    return ("quote", {"quote": segment.pk, "notes": ""})


def clip_block(clip):
    return ("clip", {"clip": clip.pk, "minutes": 3, "notes": ""})


def redact(segment, word):
    """An accepted redaction of `word` in the segment (as the reporter would make it)."""
    from transcription.models import Redaction

    start = segment.text.index(word)
    return Redaction.objects.create(
        story=segment.story,
        segment=segment,
        start_char=start,
        end_char=start + len(word),
        original=word,
        kind="name",
        status="accepted",
        source="manual",
    )


def make_clip(story, *, text, playable=True, title=""):
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from transcription.models import Clip, ClipStatus, Transcript

    clip = Clip.objects.create(
        story=story,
        transcript=Transcript.objects.get(story=story, is_current=True),
        title=title,
        start=1.0,
        end=5.0,
        text=text,
        captions=f"WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n{text}\n",
        content_type="audio/mpeg" if playable else "",
        status=ClipStatus.DONE if playable else ClipStatus.TEXT_ONLY,
        rendered_at=timezone.now(),
    )
    if playable:
        clip.file.save("clip.mp3", ContentFile(b"ID3" + b"\0" * 64), save=True)
    return clip
