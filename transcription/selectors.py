"""Reads of transcription jobs and transcripts, always through the viewer's stories."""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from cms.roles import user_is_steward
from stories.models import StoryPage
from stories.selectors import story_get_for_user
from transcription.models import JobStatus, Segment, Transcript, TranscriptionJob

WHAT_TO_DO = {
    JobStatus.QUEUED: "You do not need to do anything. It will start soon.",
    JobStatus.RUNNING: "You do not need to do anything. You can leave this page.",
    JobStatus.DONE: "",
    JobStatus.NEEDS_REUPLOAD: "Please record the story again, or upload the file again.",
    JobStatus.FAILED: "A data steward can see the problem and try again. "
    "You do not need to do anything.",
}


def latest_job(story: StoryPage) -> TranscriptionJob | None:
    return TranscriptionJob.objects.filter(story=story).order_by("-created_at", "-pk").first()


def job_for_user(*, user, story_id) -> tuple[StoryPage, TranscriptionJob | None]:
    """The story (404 for anyone who may not see it) and its latest transcription job."""
    story = story_get_for_user(user=user, story_id=story_id)
    return story, latest_job(story)


def estimated_finish(job: TranscriptionJob, now=None):
    """When the running job should be done: from its pace so far, or, early on, from the
    length of the recording and the usual speed."""
    if job.status not in {JobStatus.QUEUED, JobStatus.RUNNING}:
        return None
    now = now or timezone.now()
    if job.status == JobStatus.RUNNING and job.started_at and job.progress >= 3:
        spent = (now - job.started_at).total_seconds()
        return now + timedelta(seconds=spent * (100 - job.progress) / job.progress)
    seconds = job.media.duration_seconds if job.media_id and job.media else None
    if not seconds:
        return None
    speed = float(getattr(settings, "TRANSCRIPTION_EXPECTED_SPEED", 4.0))  # × real time
    start = job.started_at if job.status == JobStatus.RUNNING and job.started_at else now
    return max(now, start + timedelta(seconds=seconds / speed))


def _in_words(when, now) -> str:
    if when is None:
        return ""
    minutes = round((when - now).total_seconds() / 60)
    if minutes <= 1:
        return "It should be ready in about a minute."
    if minutes < 90:
        return f"It should be ready in about {minutes} minutes."
    return f"It should be ready at about {timezone.localtime(when):%H:%M}."


def progress_of(job: TranscriptionJob | None) -> dict:
    """What the reporter sees about a story's transcription, as plain data (the panel and
    its JSON endpoint show the same)."""
    if job is None:
        return {
            "status": "none",
            "label": "Not started",
            "percent": 0,
            "finished": False,
            "message": "",
            "what_to_do": "",
            "estimated_finish": None,
            "estimated_finish_text": "",
        }
    now = timezone.now()
    finish = estimated_finish(job, now)
    percent = 100 if job.status == JobStatus.DONE else job.progress
    if job.status in {JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD}:
        # Reporters get the plain part; the technical detail is for stewards in the admin.
        message = job.error.split("\n\nTechnical detail:")[0]
    elif job.status == JobStatus.RUNNING:
        message = f"{percent}% done."
    elif job.status == JobStatus.QUEUED:
        message = "Waiting to start." if job.attempts == 0 else "Waiting to try again."
    else:
        message = "The transcript is ready."
    return {
        "status": job.status,
        "label": job.get_status_display(),
        "percent": percent,
        "finished": job.is_finished,
        "message": message,
        "what_to_do": WHAT_TO_DO[job.status],
        "estimated_finish": finish.isoformat() if finish else None,
        "estimated_finish_text": _in_words(finish, now),
    }


def progress_for_user(*, user, story_id) -> dict:
    story, job = job_for_user(user=user, story_id=story_id)
    return {"story": story.pk, **progress_of(job)}


def current_transcript(story: StoryPage) -> Transcript | None:
    return Transcript.objects.filter(story=story, is_current=True).first()


def segments_for_user(*, user, story_id) -> QuerySet[Segment]:
    """The current transcript's segments, for whoever may see the story."""
    story = story_get_for_user(user=user, story_id=story_id)
    return Segment.objects.filter(story=story, transcript__is_current=True).order_by("index")


def jobs_needing_attention(*, user) -> QuerySet[TranscriptionJob]:
    """Failed jobs and recordings that need re-uploading: data stewards only."""
    if not user.is_authenticated or not user_is_steward(user):
        return TranscriptionJob.objects.none()
    return TranscriptionJob.objects.filter(
        status__in=[JobStatus.FAILED, JobStatus.NEEDS_REUPLOAD]
    ).select_related("story", "media")


# --- Redaction (issue 4) -------------------------------------------------------------------


def redactions_editable_by(*, user, story: StoryPage) -> bool:
    """Who may accept, reject or add redactions of a story, and keep its name list: the
    story's own reporter (while it is one of their visible stories) and data stewards.
    Facilitators and managers only ever see the redacted text."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user_is_steward(user):
        return True
    from stories.selectors import stories_visible_to

    return stories_visible_to(user=user).filter(pk=story.pk, reporter=user).exists()


def redactions_for_user(*, user, story: StoryPage):
    """The redactions of the story's current transcript (each with the words it hides), for
    those who may change them; nothing for anyone else."""
    from transcription.models import Redaction

    if not redactions_editable_by(user=user, story=story):
        return Redaction.objects.none()
    return Redaction.objects.filter(story=story, segment__transcript__is_current=True).order_by(
        "segment__index", "start_char", "pk"
    )


def name_list_visible_to(*, user):
    """Name-list entries: stewards see every list; a reporter sees the lists of their own
    stories only (never another story's, nor the project's lists of officers and places)."""
    from stories.selectors import stories_visible_to
    from transcription.models import NameListEntry

    if not user.is_authenticated or not user.is_active:
        return NameListEntry.objects.none()
    entries = NameListEntry.objects.select_related("story", "project")
    if user_is_steward(user):
        return entries
    return entries.filter(story__in=stories_visible_to(user=user).filter(reporter=user))


# --- Transcript editor (issue 4) -----------------------------------------------------------
# Who may open the editor: whoever may see the story (its reporter, the project's
# facilitators once it is approved, stewards); anyone else gets a 404. Who may change it: the
# story's own reporter and stewards, the same people as for redactions. Everyone else reads
# the redacted text only: no unredacted words, no revisions, no recording.


def transcript_editable_by(*, user, story: StoryPage) -> bool:
    return redactions_editable_by(user=user, story=story)


def editor_story_for_user(*, user, story_id) -> tuple[StoryPage, bool]:
    """The story (404 for anyone who may not see it) and whether the viewer may change its
    transcript."""
    story = story_get_for_user(user=user, story_id=story_id)
    return story, transcript_editable_by(user=user, story=story)


def editor_segments(
    *, user, story: StoryPage, flagged_only: bool = False, segment_id=None
) -> list[Segment]:
    """The current transcript's segments for the editor. Those who may change the story get
    the words as they are, with `redaction_marks` (accepted and suggested spans to highlight);
    everyone else gets `display_text`, with every accepted redaction a placeholder."""
    from django.db.models import Prefetch

    from transcription.models import Redaction, RedactionStatus
    from transcription.redaction import redacted_text

    editable = transcript_editable_by(user=user, story=story)
    segments = Segment.objects.filter(story=story, transcript__is_current=True)
    if segment_id is not None:  # one line, re-drawn after a change
        segments = segments.filter(pk=segment_id)
    segments = segments.select_related("verified_by").prefetch_related(
        Prefetch(
            "redactions",
            queryset=Redaction.objects.exclude(status=RedactionStatus.REJECTED).order_by(
                "start_char", "pk"
            ),
        )
    )
    rows = list(segments.order_by("index"))
    if flagged_only:  # doubtful and not yet checked: "review these first"
        rows = [s for s in rows if s.flags and s.verified_at is None]
    for segment in rows:
        segment.redaction_marks = list(segment.redactions.all()) if editable else []
        segment.display_text = segment.text if editable else redacted_text(segment)
    return rows


def editor_segment_get(*, user, story: StoryPage, segment_id) -> Segment:
    """One segment of the story's transcripts, for someone who may change it (404 for
    anyone else, and for another story's segment)."""
    from django.http import Http404

    if not transcript_editable_by(user=user, story=story):
        raise Http404
    try:
        return Segment.objects.select_related("transcript", "story").get(pk=segment_id, story=story)
    except (Segment.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def segment_history_for_user(*, user, segment: Segment) -> list[dict]:
    """A segment's changes, newest first, each as what it was before and after, with a
    word-by-word diff: for those who may change the story only (they hold unredacted text)."""
    import difflib

    if not transcript_editable_by(user=user, story=segment.story):
        return []
    revisions = list(segment.revisions.select_related("user").order_by("number"))
    states = [*[(r.text, r.speaker) for r in revisions], (segment.text, segment.speaker)]
    history = []
    for i, revision in enumerate(revisions):
        before, after = states[i], states[i + 1]
        old, new = before[0].split(), after[0].split()
        diff = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                diff.append(("same", " ".join(old[i1:i2])))
                continue
            if i2 > i1:
                diff.append(("removed", " ".join(old[i1:i2])))
            if j2 > j1:
                diff.append(("added", " ".join(new[j1:j2])))
        history.append(
            {
                "revision": revision,
                "diff": diff,
                "text_changed": before[0] != after[0],
                "speaker_before": before[1],
                "speaker_after": after[1],
            }
        )
    return list(reversed(history))


# --- Clips, captions and redacted media (issue 4: AUDIO+CLIPS) ---------------------------


def _current_consent(field: str):
    from django.db.models import OuterRef, Subquery

    from stories.models import Consent

    return Subquery(
        Consent.objects.filter(story=OuterRef("story")).order_by("-version").values(field)[:1]
    )


def _newest_accepted_redaction(story_ref: str = "story"):
    """When the story's most recent still-accepted redaction was accepted: anything made
    from its sound before then may carry a word that is now redacted."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from transcription.models import Redaction, RedactionStatus

    return Subquery(
        Redaction.objects.filter(story=OuterRef(story_ref), status=RedactionStatus.ACCEPTED)
        .annotate(at=Coalesce("decided_at", "created_at"))
        .order_by("-at")
        .values("at")[:1]
    )


def restrict_unredacted_media(media: QuerySet) -> QuerySet:
    """For everyone but data stewards (registered with stories.selectors): no original
    recording once something in it has been redacted, and no playable copy made before the
    latest redaction (a new one is being made). Stewards are never restricted."""
    from django.db.models import F, Q

    from stories.models import StoryMedia
    from transcription.models import Redaction, RedactionStatus

    redacted = Redaction.objects.filter(status=RedactionStatus.ACCEPTED).values("story_id")
    return (
        media.exclude(role=StoryMedia.Role.RECORDING, story__in=redacted)
        .annotate(_redacted_at=_newest_accepted_redaction())
        .filter(
            ~Q(role=StoryMedia.Role.PLAYABLE)
            | Q(_redacted_at__isnull=True)
            | Q(created_at__gte=F("_redacted_at"))
        )
    )


def playable_being_prepared(*, user, story: StoryPage) -> bool:
    """True while the viewer has nothing to play only because a copy with the redacted words
    silenced is still being made (the player says so instead of showing nothing)."""
    from stories.models import StoryMedia
    from stories.selectors import recordings_visible_to

    if not story.media.filter(role=StoryMedia.Role.RECORDING).exists():
        return False
    visible = recordings_visible_to(user=user).filter(story=story)
    playable_roles = [StoryMedia.Role.PLAYABLE, StoryMedia.Role.RECORDING]
    if visible.filter(role__in=playable_roles).exists():
        return False
    own = story.reporter_id == getattr(user, "pk", None)
    return own and story.redactions.filter(status="accepted").exists()


def can_make_clips(*, user, story: StoryPage) -> bool:
    """Facilitators of the story's project, data stewards and the story's own reporter (who
    must also be able to see the story)."""
    from cms.roles import Role
    from cms.selectors import project_roles_for_user
    from stories.selectors import stories_visible_to

    if not stories_visible_to(user=user).filter(pk=story.pk).exists():
        return False
    roles = project_roles_for_user(user=user, project=story.get_project())
    if roles & {Role.STEWARD, Role.FACILITATOR}:
        return True
    return Role.REPORTER in roles and story.reporter_id == user.pk


def clips_visible_to(*, user, project=None) -> QuerySet:
    """Clips of the stories the viewer may see. Facilitators see a clip only while the
    storyteller agrees to be quoted; stewards and the story's reporter always (to see why a
    clip can no longer be used)."""
    from django.db.models import Q

    from stories.selectors import stories_visible_to
    from transcription.models import Clip

    stories = stories_visible_to(user=user, project=project)
    clips = Clip.objects.filter(story__in=stories.values("pk")).select_related("story")
    if not user_is_steward(user):
        clips = clips.annotate(_quote=_current_consent("quote")).filter(
            Q(story__reporter=user) | Q(_quote=True)
        )
    return clips.order_by("-created_at", "-pk")


def clip_get_for_user(*, user, clip_id):
    """The clip, or 404 for anyone who may not see it (another project's clip included)."""
    from django.http import Http404

    from transcription.models import Clip

    try:
        return clips_visible_to(user=user).get(pk=clip_id)
    except (Clip.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def clip_playable(clip) -> bool:
    """Whether the clip's sound may be played now: rendered, the storyteller still agrees to
    be quoted and heard, and no redaction accepted since it was made."""
    from django.db.models import Q

    from transcription.models import ClipStatus, Redaction, RedactionStatus

    if clip.status != ClipStatus.DONE or not clip.file or clip.rendered_at is None:
        return False
    consent = clip.story.current_consent
    if consent is None or not (consent.quote and consent.voice):
        return False
    since = Q(created_at__gt=clip.rendered_at) | Q(decided_at__gt=clip.rendered_at)
    return not Redaction.objects.filter(
        since, story_id=clip.story_id, status=RedactionStatus.ACCEPTED
    ).exists()


def clip_media_get_for_user(*, user, clip_id):
    """The clip whose sound the viewer may hear, or 404."""
    from django.http import Http404

    clip = clip_get_for_user(user=user, clip_id=clip_id)
    if not clip_playable(clip):
        raise Http404
    return clip


def caption_segments_for_user(*, user, story_id) -> tuple[StoryPage, list[Segment]]:
    """The story (404 for anyone who may not see it) and its current transcript's segments,
    with their redactions, for captions and transcript downloads (always redacted)."""
    story = story_get_for_user(user=user, story_id=story_id)
    segments = list(
        Segment.objects.filter(story=story, transcript__is_current=True)
        .prefetch_related("redactions")
        .order_by("index")
    )
    return story, segments
