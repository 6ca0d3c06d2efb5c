"""The "world" the access matrix requests routes in: two projects, A and B, each with a
recorded story (recording, transcript, redaction, clip, consent evidence), written stories
for a theme run, a workshop whose pack quotes the story and shows its clip, a proposal, a
significant story, and an action with an update and an evidence file. Everything is made
through the real services where they exist (the theme engine is the stand-in from the
theme tests: the real one is tested there)."""

import io
from dataclasses import dataclass

from django.core.files import File
from django.core.files.base import ContentFile
from django.utils import timezone

from actions import services as action_services
from stories import services as story_services
from stories.models import CONSENT_SCOPES, ErasureRequest, StoryMedia
from tests import factories
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, FakeEngine, analysed_story
from tests.transcription.clipkit import add_transcript
from tests.workshops.conftest import add_blocks, clip_block, quote_block
from themes import services as theme_services
from themes.models import Theme
from transcription import redaction_services
from transcription.models import (
    Clip,
    ClipStatus,
    JobStatus,
    NameListEntry,
    Segment,
    TranscriptionJob,
)
from workshops import services as workshop_services
from workshops.models import SignificantStory

# Each side's things carry a word found nowhere else, so that a page of one project that
# shows anything of the other is caught by its content (see test_matrix).
MARKERS = {"a": "Quokka", "b": "Pangolin"}


def recorded_lines(marker: str) -> list[tuple[float, float, str]]:
    """The recorded story's lines (jfk.flac is 11 s long), in the housing theme's words."""
    return [
        (0.3, 3.0, f"When I came out Dave had no flat in {marker}ville and the landlord said no."),
        (3.3, 7.4, f"The {marker} hostel was the only place, the rent for a flat was too high."),
        (7.6, 10.8, "My probation officer helped me find housing after I was evicted."),
    ]


# A tiny but real PDF (evidence files are checked by their first bytes).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Side:
    """One project and everything in it."""

    name: str
    marker: str  # a word only this side's things contain
    project: object
    reporter: object
    facilitator: object
    manager: object
    story: object  # recorded, approved, owned by `reporter`
    waiting_story: object  # reporter's, sent for approval (in the workflow)
    task_state: object  # its approval task
    recording: StoryMedia
    consent: object  # the story's consent, with an evidence file
    transcript: object
    segment: Segment
    redaction: object
    clip: Clip
    job: TranscriptionJob  # a failed one
    name_entry: NameListEntry
    storyteller: object
    run: object
    theme: Theme
    workshop: object
    proposal: object
    significant: SignificantStory
    action: object
    update: object  # with an evidence file
    erasure: ErasureRequest


@dataclass
class World:
    a: Side
    b: Side
    steward: object


def _pdf(name="evidence.pdf") -> File:
    return File(io.BytesIO(PDF), name=name)


def _side(name: str, steward) -> Side:
    marker = MARKERS[name]
    lines = recorded_lines(marker)
    project = factories.project(title=f"Project {name.upper()}", slug=f"project-{name}")
    reporter = factories.user_with_role("reporter", project, username=f"reporter_{name}")
    facilitator = factories.user_with_role("facilitator", project, username=f"facilitator_{name}")
    manager = factories.user_with_role("manager", project, username=f"manager_{name}")

    # The recorded story, with consent evidence (a signed form).
    teller = factories.storyteller(project, reporter, f"{marker} teller")
    with (factories.AUDIO / "jfk.flac").open("rb") as handle:
        story = story_services.story_create(
            project=project,
            reporter=reporter,
            story=story_services.StoryInput(title=f"{marker} story", storyteller=teller),
            consent=story_services.ConsentInput(
                scopes=set(CONSENT_SCOPES), evidence=_pdf(f"{marker}-consent.pdf")
            ),
            recording=File(handle, name=f"{marker}.flac"),
        )
    transcript = add_transcript(story, lines)
    story_services.story_approve(story=story, user=steward)
    story.refresh_from_db()
    segment = Segment.objects.get(transcript=transcript, index=0)
    start = segment.text.index("Dave")
    redaction = redaction_services.redaction_add(
        segment=segment, start_char=start, end_char=start + 4, kind="name", user=reporter
    )[0]
    name_entry = redaction_services.name_list_add(
        user=reporter, term=f"{marker}son", kind="name", story=story
    )

    # A finished clip with its sound (rendering is tested in tests/transcription).
    clip = Clip.objects.create(
        story=story,
        transcript=transcript,
        title=f"{marker} clip",
        start=3.3,
        end=7.4,
        text=lines[1][2],
        captions=f"WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n{lines[1][2]}\n",
        content_type="audio/mpeg",
        status=ClipStatus.DONE,
        rendered_at=timezone.now(),
        created_by=reporter,
    )
    clip.segments.set([Segment.objects.get(transcript=transcript, index=1)])
    clip.file.save("clip.mp3", ContentFile(b"ID3" + b"\0" * 64), save=True)

    # Written stories (transcribed by the real job) so that the theme run has material.
    for i, paragraphs in enumerate([WORK, DRINK, FAMILY + HOUSING[:1]]):
        analysed_story(
            project, reporter, steward, paragraphs, title=f"{marker} written {i}", teller="Ann"
        )
    waiting_story = factories.story(
        project,
        reporter,
        title=f"{marker} waiting",
        text="Sent, not yet approved.",
        storyteller_name="Bo",
        submit=True,
    )
    run = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    run = theme_services.theme_run_execute(run_id=run.pk, engine=FakeEngine())
    theme = Theme.objects.filter(run=run, auto_label__startswith="housing").get()
    theme = theme_services.theme_rename(theme=theme, label=f"{marker} housing", user=facilitator)

    # A workshop whose pack quotes the story's line and shows its clip, with outcomes.
    workshop = workshop_services.workshop_create(
        project=project, user=facilitator, title=f"{marker} workshop", audience=["managers"]
    )
    version = add_blocks(workshop, facilitator, quote_block(segment), clip_block(clip))
    # Approved by the steward: the pack is what the project's managers and reporters read.
    version.get_latest_revision().publish(user=steward)
    workshop.refresh_from_db()
    proposal = workshop_services.proposal_add(
        workshop=workshop, user=facilitator, title=f"{marker} proposal", themes=[theme]
    )
    significant = SignificantStory.objects.create(workshop=workshop, story=story, why="Heard.")

    action = action_services.action_create(
        project=project,
        user=facilitator,
        title=f"{marker} action",
        owner=manager,
        proposal=proposal,
        themes=[theme],
    )
    update = action_services.action_post_update(
        action=action, user=manager, text=f"Met {marker} council.", evidence=_pdf(f"{marker}.pdf")
    )
    # A failed transcription (of the waiting story): what stewards retry.
    failed_job = TranscriptionJob.objects.create(
        story=waiting_story, model="tiny.en", status=JobStatus.FAILED, error="Decoder stopped."
    )
    erasure = ErasureRequest.objects.create(
        story=waiting_story, project=project, kind="narrow", scopes_removed=["publish"]
    )
    return Side(
        name=name,
        marker=marker,
        project=project,
        reporter=reporter,
        facilitator=facilitator,
        manager=manager,
        story=story,
        waiting_story=waiting_story,
        task_state=waiting_story.current_workflow_task_state,
        recording=story.media.get(role=StoryMedia.Role.RECORDING),
        consent=story.consents.exclude(evidence="").get(),
        transcript=transcript,
        segment=segment,
        redaction=redaction,
        clip=clip,
        job=failed_job,
        name_entry=name_entry,
        storyteller=teller,
        run=run,
        theme=theme,
        workshop=workshop,
        proposal=proposal,
        significant=significant,
        action=action,
        update=update,
        erasure=erasure,
    )


def build_world() -> World:
    steward = factories.steward(username="steward")
    a = _side("a", steward)
    b = _side("b", steward)
    return World(a=a, b=b, steward=steward)
