"""A small, realistic programme for the accessibility checks, made through the real services:
written stories with transcripts and themes, a recorded story (jfk.flac) with a redaction and
a real clip with captions, a story waiting for approval, a workshop pack with that clip, an
accepted proposal that became an action with an update, a public action, a name to hide, an
erasure and a transcription that failed. The theme engine is the stand-in from the theme
tests (the real one is tested there)."""

from dataclasses import dataclass

from django.utils import timezone
from wagtail.log_actions import log

from actions import services as action_services
from actions.models import ActionStatus, ActionVisibility
from stories import erasure
from stories import services as story_services
from tests import factories
from tests.themes.helpers import DRINK, FAMILY, HOUSING, WORK, FakeEngine, analysed_story
from tests.transcription.clipkit import JFK_LINES, add_transcript
from themes import services as theme_services
from themes.models import Theme
from transcription import clip_services, redaction_services
from transcription.models import JobStatus, Segment, TranscriptionJob
from workshops import services as workshop_services
from workshops.models import Decision, Proposal
from workshops.selectors import latest_version


@dataclass
class World:
    project: object
    reporter: object
    facilitator: object
    manager: object
    steward: object
    recorded: object  # rita's recorded story (jfk.flac): transcript, redaction, clip
    written: object  # rita's written story, analysed
    waiting: object  # rita's story, sent and waiting for the data steward
    segment: object  # a line of the recorded story's transcript
    clip: object
    themes: dict
    workshop: object
    proposal: object
    action: object
    public_action: object
    name_entry: object
    erasure: object
    failed_job: object


def _theme(run_themes, name) -> Theme:
    return next(t for t in run_themes if t.auto_label.startswith(name))


def build_world() -> World:
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    facilitator = factories.user_with_role("facilitator", project, username="fay")
    manager = factories.user_with_role("manager", project, username="max")
    steward = factories.steward(username="stella")

    written = analysed_story(
        project, reporter, steward, [HOUSING[0], WORK[0]], title="No flat", teller="Ann"
    )
    analysed_story(
        project,
        reporter,
        steward,
        [HOUSING[1], WORK[1]],
        title="Hostel",
        teller="Bob",
        role="staff",
    )
    analysed_story(
        project, reporter, steward, [HOUSING[2], DRINK[0], DRINK[1]], title="Pub", teller="Cat"
    )
    analysed_story(project, reporter, steward, [FAMILY[0], WORK[2]], title="Kids", teller="Dee")

    # The recorded story: a transcript, a name hidden, and a clip with real sound.
    recorded = factories.story(project, reporter, title="Waiting room", storyteller_name="Eve")
    add_transcript(recorded, JFK_LINES)
    story_services.story_approve(story=recorded, user=steward)
    recorded.refresh_from_db()
    segment = Segment.objects.get(story=recorded, transcript__is_current=True, index=1)
    at = segment.text.index("country")
    redaction_services.redaction_add(
        segment=segment, start_char=at, end_char=at + len("country"), kind="place", user=reporter
    )
    # The playable copy with the name silenced (a worker's job), so that players show.
    clip_services.story_playable_rerender(story_id=recorded.pk)
    clip = clip_services.clip_create(
        user=reporter, story=recorded, first_segment=segment, last_segment=segment
    )
    clip = clip_services.clip_render(clip_id=clip.pk) or clip
    clip.refresh_from_db()

    waiting = factories.story(
        project, reporter, title="Bus fare", text="The bus fare ate my money.", submit=True
    )

    # Themes, one renamed by a person.
    run = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    run = theme_services.theme_run_execute(run_id=run.pk, engine=FakeEngine())
    run_themes = list(Theme.objects.filter(run=run))
    themes = {name: _theme(run_themes, name) for name in ("housing", "work", "drink")}
    theme_services.theme_rename(
        theme=themes["housing"], label="Somewhere to live", user=facilitator
    )

    # The workshop: a drafted pack with the clip in it, approved by the data steward.
    workshop = workshop_services.workshop_create(
        project=project,
        user=facilitator,
        title="Managers' workshop",
        audience=["managers"],
        objectives="Agree two changes to try.",
        draft=True,
    )
    version = latest_version(workshop)
    version.body = [
        *version.body.raw_data,
        {"type": "clip", "value": {"clip": clip.pk, "minutes": 3, "notes": ""}},
    ]
    version.save_revision(user=facilitator).publish(user=steward)
    workshop.refresh_from_db()

    proposal = workshop_services.proposal_add(
        workshop=workshop,
        user=facilitator,
        title="A housing officer at the hub",
        themes=[themes["housing"]],
    )
    workshop_services.attendance_record(workshop=workshop, user=facilitator, counts={"managers": 6})
    workshop_services.proposal_decide(
        proposal=proposal,
        user=facilitator,
        decision=Decision.ACCEPTED,
        votes_for=5,
        votes_against=1,
    )
    workshop_services.significant_story_add(
        workshop=workshop, user=facilitator, story=written, why="It shows the rent problem."
    )
    proposal = Proposal.objects.get(pk=proposal.pk)
    # The proposal_accepted signal made the action already: this returns it.
    action = action_services.action_create_from_proposal(proposal_id=proposal.pk)
    action_services.action_post_update(
        action=action,
        user=manager,
        text="The housing team agreed to send someone on Tuesdays.",
        status=ActionStatus.objects.get(key="in_progress"),
    )
    public_action = action_services.action_create(
        project=project,
        user=facilitator,
        title="Clearer letters",
        owner=manager,
        themes=[themes["work"]],
        status=ActionStatus.objects.get(key="agreed"),
        public_summary="Letters now say in plain words what happens next.",
        visibility=ActionVisibility.PUBLIC,
    )

    name_entry = redaction_services.name_list_add(user=steward, term="Eastgate", project=project)

    # A withdrawn story, erased: the steward's certificate.
    gone = factories.story(project, reporter, title="Withdrawn", text="I want this gone.")
    story_services.consent_withdraw(story=gone, user=steward, note="Asked by phone.")
    done = erasure.erasure_run(request_id=gone.erasures.get().pk)

    failed_job = TranscriptionJob.objects.create(
        story=waiting,
        model="tiny.en",
        status=JobStatus.FAILED,
        error="The recording could not be read.",
        attempts=3,
        finished_at=timezone.now(),
    )
    # An opening of the original recording, for the sensitive access report.
    log(instance=recorded, action="storyloom.media.view", user=steward, data={"kind": "original"})

    return World(
        project=project,
        reporter=reporter,
        facilitator=facilitator,
        manager=manager,
        steward=steward,
        recorded=recorded,
        written=written,
        waiting=waiting,
        segment=segment,
        clip=clip,
        themes=themes,
        workshop=workshop,
        proposal=proposal,
        action=action,
        public_action=public_action,
        name_entry=name_entry,
        erasure=done,
        failed_job=failed_job,
    )
