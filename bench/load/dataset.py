"""The load bench's data: a project with many stories, made fast.

A few stories per reporter go through the real services (story_create, story_submit,
story_approve, the transcription job that splits a written story, clip_create and
clip_render); the rest are copies of those, written with bulk inserts: Wagtail page rows
with treebeard paths computed here, then the StoryPage rows, consent, and for approved
stories a finished job, a current transcript and its segments (the real splitter's
output). Themes are written directly too (a finished, current run whose themes hold every
analysable segment): running the engine is bench/themes.py's business, not this one's.
The workshop pack and the actions go through their services.
"""

import csv
import math
import random
import struct
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "fixtures" / "corpus" / "bbc_paragraphs.csv"
ROLES = ["service_user", "staff", "volunteer", "family", "partner"]
THEMES = 20
BATCH = 500


@dataclass
class Dataset:
    project_id: int
    project_slug: str
    users: dict = field(default_factory=dict)  # name → user id
    reporters: list = field(default_factory=list)  # user ids
    story_by_reporter: dict = field(default_factory=dict)  # reporter id → approved story id
    stories: int = 0
    approved: int = 0
    segments: int = 0
    themes: int = 0
    clips: int = 0
    workshop_id: int | None = None
    action_id: int | None = None
    recording_id: str | None = None  # StoryMedia uuid of the long recording
    recording_bytes: int = 0
    clip_id: int | None = None  # a clip with sound
    queue_story_ids: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)


def paragraphs(limit: int | None = None) -> list[str]:
    with CORPUS.open(newline="") as handle:
        rows = [row["text"] for row in csv.DictReader(handle)]
    return rows[:limit] if limit else rows


def write_wav(path: Path, *, seconds: float, rate: int = 16_000) -> int:
    with path.open("wb") as out:
        return write_wav_to(out, seconds=seconds, rate=rate)


def write_wav_to(out, *, seconds: float, rate: int = 16_000) -> int:
    """A mono 16-bit WAV of a quiet 440 Hz tone with a second of silence every 10 s:
    a valid recording of any length, written in blocks (memory stays small). Returns the
    bytes written."""
    import numpy as np

    samples = int(seconds * rate)
    block = rate * 10
    t = np.arange(block) / rate
    tone = (0.2 * 32767 * np.sin(2 * math.pi * 440 * t)).astype("<i2")
    tone[:rate] = 0
    header = _wav_header(samples * 2, rate)
    out.write(header)
    left = samples
    while left > 0:
        n = min(block, left)
        out.write(tone[:n].tobytes())
        left -= n
    return len(header) + samples * 2


def _wav_header(data_bytes: int, rate: int) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class BenchEngine:
    """Words for a tone: one segment every 5 s. The bench needs a timed transcript to cut a
    clip from, not Whisper's opinion of a 440 Hz tone (bench/transcribe.py measures that)."""

    model_id = "bench/tone"

    def transcribe(self, audio, *, language, vocabulary=(), offset=0.0, on_progress=None):
        from transcription.results import SegmentResult, TranscriptResult, WordResult

        seconds = len(audio) / 16_000
        segments = []
        start = 0.0
        while start < seconds - 0.5:
            end = min(start + 5.0, seconds)
            at = offset + start
            words = tuple(
                WordResult(f" word{i}", at + i * 0.5, at + i * 0.5 + 0.4, 0.9) for i in range(8)
            )
            segments.append(
                SegmentResult(
                    start=at,
                    end=offset + end,
                    text=" ".join(w.text.strip() for w in words),
                    words=words,
                    avg_logprob=-0.2,
                    no_speech_prob=0.01,
                    compression_ratio=1.1,
                )
            )
            start = end
        if on_progress:
            on_progress(1.0)
        return TranscriptResult(
            model_id=self.model_id,
            language=language or "en",
            language_probability=None,
            duration=seconds,
            segments=segments,
        )


# --- The real services, for the few stories everything else is copied from -----------------


def _users(reporters: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from cms.roles import ROLE_GROUPS, Role

    User = get_user_model()
    steward = User.objects.create_user("steward", email="steward@example.org")
    steward.groups.add(Group.objects.get(name=ROLE_GROUPS[Role.STEWARD]))
    people = {
        "steward": steward,
        "facilitator": User.objects.create_user("facilitator", email="f@example.org"),
        "manager": User.objects.create_user("manager", email="m@example.org"),
    }
    team = [
        User.objects.create_user(f"reporter{n}", email=f"reporter{n}@example.org")
        for n in range(reporters)
    ]
    return people, team


def _text_story(project, reporter, *, title, text, teller, role, approve_by=None, submit=True):
    from stories import services
    from stories.models import CONSENT_SCOPES
    from transcription import services as transcription

    story = services.story_create(
        project=project,
        reporter=reporter,
        story=services.StoryInput(title=title, storyteller=teller, storyteller_role=role),
        consent=services.ConsentInput(scopes=set(CONSENT_SCOPES)),
        text=text,
        submit=submit,
    )
    if approve_by is not None:
        services.story_approve(story=story, user=approve_by)
        transcription.job_run(job_id=transcription.job_enqueue(story=story).pk)
    story.refresh_from_db()
    return story


def _audio_story(project, reporter, steward, *, path: Path, teller):
    """A long recording (Range requests) with a timed transcript and one clip with sound."""
    from django.core.files import File

    from stories import services
    from stories.models import CONSENT_SCOPES
    from transcription import clip_services
    from transcription import services as transcription

    with path.open("rb") as handle:
        story = services.story_create(
            project=project,
            reporter=reporter,
            story=services.StoryInput(title="A long recording", storyteller=teller),
            consent=services.ConsentInput(scopes=set(CONSENT_SCOPES)),
            recording=File(handle, name="recording.wav"),
            submit=True,
        )
    services.story_approve(story=story, user=steward)
    job = transcription.job_enqueue(story=story)
    transcription.job_run(job_id=job.pk, engine=BenchEngine())
    story.refresh_from_db()
    clip = clip_services.clip_create(
        user=reporter, story=story, start=10.0, end=25.0, title="Ten seconds in"
    )
    clip = clip_services.clip_render(clip_id=clip.pk)
    media = story.media.get(role="recording")
    return story, clip, media


# --- Bulk copies -------------------------------------------------------------------------


def _clone_stories(*, index_page, templates: list, count: int, start_number: int, rng, texts):
    """`count` copies of the template stories (round robin), as page + StoryPage rows, with
    paths after the index page's last child. Returns the new StoryPage ids, in order, with
    the template each was copied from."""
    from django.db import transaction
    from django.db.models import F
    from django.utils import timezone
    from wagtail.models import Page

    from stories.models import StoryPage

    page_fields = [f for f in Page._meta.concrete_fields if not f.primary_key]
    story_fields = StoryPage._meta.local_concrete_fields
    last = index_page.get_last_child()
    step = int(last.path[-Page.steplen :], 36) + 1 if last else 1
    depth = index_page.depth + 1
    now = timezone.now()
    made = []
    with transaction.atomic():
        for offset in range(0, count, BATCH):
            pages, stories = [], []
            for i in range(offset, min(count, offset + BATCH)):
                template = templates[i % len(templates)]
                number = start_number + i
                values = {f.attname: getattr(template, f.attname) for f in page_fields}
                title = f"Story {number}: {texts[number % len(texts)][:60]}"
                slug = f"bench-story-{number}"
                published = now - timedelta(minutes=number) if template.live else None
                values.update(
                    path=Page._get_path(index_page.path, depth, step + i),
                    depth=depth,
                    numchild=0,
                    title=title,
                    draft_title=title,
                    slug=slug,
                    url_path=f"{index_page.url_path}{slug}/",
                    translation_key=uuid.uuid4(),
                    live_revision_id=None,
                    latest_revision_id=None,
                    first_published_at=published,
                    last_published_at=published,
                    latest_revision_created_at=now - timedelta(minutes=number),
                    has_unpublished_changes=not template.live,
                )
                pages.append(Page(**values))
                story = StoryPage()
                for f in story_fields:
                    setattr(story, f.attname, getattr(template, f.attname))
                story.text_body = "\n\n".join(
                    texts[(number * 3 + k) % len(texts)] for k in range(rng.randint(2, 6))
                )
                story.storyteller_role = ROLES[number % len(ROLES)]
                stories.append((story, template))
            Page.objects.bulk_create(pages)
            rows = []
            for page, (story, template) in zip(pages, stories, strict=True):
                story.page_ptr_id = page.pk
                story.pk = page.pk
                rows.append(story)
                made.append((page.pk, template))
            StoryPage._base_manager._insert(rows, fields=story_fields, using="default")
        Page.objects.filter(pk=index_page.pk).update(numchild=F("numchild") + count)
    return made


def _copy_rows(model, template_rows, *, story_id, **extra):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    out = []
    for row in template_rows:
        values = {f.attname: getattr(row, f.attname) for f in fields}
        values.update(story_id=story_id, **extra)
        out.append(model(**values))
    return out


def _bulk_related(made):
    """Consent (a copy of the template's), and for approved stories a finished split job,
    a current transcript and its segments (transcription.pipeline.segment_text)."""
    from django.db import transaction

    from stories.models import Consent, StoryPage
    from transcription.models import Segment, Transcript, TranscriptionJob
    from transcription.pipeline import segment_text

    segments = 0
    consent_of, job_of = {}, {}
    for _, template in made:
        if template.pk not in consent_of:
            consent_of[template.pk] = template.consents.order_by("-version")[:1]
            job_of[template.pk] = template.transcription_jobs.first()
    with transaction.atomic():
        for offset in range(0, len(made), BATCH):
            chunk = made[offset : offset + BATCH]
            ids = [pk for pk, _ in chunk]
            bodies = dict(StoryPage.objects.filter(pk__in=ids).values_list("pk", "text_body"))
            consents, jobs, live = [], [], []
            for pk, template in chunk:
                consents += _copy_rows(Consent, consent_of[template.pk], story_id=pk)
                if template.live:
                    jobs += _copy_rows(TranscriptionJob, [job_of[template.pk]], story_id=pk)
                    live.append(pk)
            Consent.objects.bulk_create(consents)
            TranscriptionJob.objects.bulk_create(jobs)
            transcripts = []
            for job, pk in zip(jobs, live, strict=True):
                transcripts.append(
                    Transcript(story_id=pk, job_id=job.pk, model_id="text", is_current=True)
                )
            Transcript.objects.bulk_create(transcripts)
            rows = []
            for transcript in transcripts:
                for index, text in enumerate(segment_text(bodies[transcript.story_id])):
                    rows.append(
                        Segment(
                            transcript_id=transcript.pk,
                            story_id=transcript.story_id,
                            index=index,
                            text=text,
                        )
                    )
            Segment.objects.bulk_create(rows, batch_size=BATCH)
            segments += len(rows)
    return segments


def _themes(project, *, rng):
    """A finished, current run with THEMES themes sharing every analysable segment."""
    from django.db import transaction
    from django.utils import timezone

    from themes.models import Theme, ThemeAssignment, ThemeRun
    from themes.selectors import analysis_segments

    rows = list(analysis_segments(project=project).values_list("pk", "story_id", "text"))
    stories = _story_model().objects.descendant_of(project)
    roles = dict(stories.values_list("pk", "storyteller_role"))
    tellers = dict(stories.values_list("pk", "storyteller_id"))
    with transaction.atomic():
        now = timezone.now()
        run = ThemeRun.objects.create(
            project=project,
            status="done",
            progress=100,
            is_current=True,
            started_at=now,
            finished_at=now,
            story_count=len({r[1] for r in rows}),
            segment_count=len(rows),
            passage_count=len(rows),
            theme_count=THEMES,
            engine_version="bench",
            parameters={"method": "bench"},
        )
        themes = []
        for key in range(THEMES):
            words = [w.strip(".,'\"").lower() for w in rows[key % len(rows)][2].split()[:6]]
            themes.append(
                Theme(
                    run=run,
                    project=project,
                    key=key,
                    auto_label=" / ".join(words[:3]) or f"theme {key}",
                    keywords=words,
                    map_x=rng.random(),
                    map_y=rng.random(),
                )
            )
        Theme.objects.bulk_create(themes)
        assignments, members = [], {t.pk: set() for t in themes}
        sizes = dict.fromkeys(members, 0)
        role_counts = {t.pk: {} for t in themes}
        for pk, story_id, _ in rows:
            theme = themes[(story_id * 7 + pk) % THEMES]
            assignments.append(
                ThemeAssignment(
                    theme=theme, segment_id=pk, story_id=story_id, probability=rng.random()
                )
            )
            members[theme.pk].add(story_id)
            sizes[theme.pk] += 1
        ThemeAssignment.objects.bulk_create(assignments, batch_size=BATCH)
        for theme in themes:
            seen = {}
            for story_id in members[theme.pk]:
                seen.setdefault(roles.get(story_id, "service_user"), set()).add(
                    tellers.get(story_id)
                )
            role_counts[theme.pk] = {role: len(t) for role, t in seen.items()}
            theme.size = sizes[theme.pk]
            theme.storyteller_count = len({tellers.get(s) for s in members[theme.pk]})
            theme.role_counts = role_counts[theme.pk]
        Theme.objects.bulk_update(themes, ["size", "storyteller_count", "role_counts"])
    return len(themes)


def _story_model():
    from stories.models import StoryPage

    return StoryPage


# --- Everything --------------------------------------------------------------------------


def build(
    *,
    stories: int,
    reporters: int,
    recording_seconds: float,
    queue_stories: int,
    work_dir: Path,
    seed: int = 42,
) -> Dataset:
    import time

    from django.db import connection

    from cms.roles import Role
    from cms.services import project_add_member
    from stories import services
    from stories.importing import project_create
    from stories.models import StoryIndexPage, StoryPage

    rng = random.Random(seed)
    texts = paragraphs()
    timings = {}
    start = time.perf_counter()
    people, team = _users(reporters)
    steward = people["steward"]
    project = project_create(
        slug="bench", title="Bench programme", organisation="Bench", user=steward
    )
    for user in team:
        project_add_member(project=project, user=user, role=Role.REPORTER)
    project_add_member(project=project, user=people["facilitator"], role=Role.FACILITATOR)
    project_add_member(project=project, user=people["manager"], role=Role.MANAGER)

    # The real services: per reporter one approved (split) and one waiting story, and a
    # long recording with a clip for the first reporter.
    approved_templates, waiting_templates, story_by_reporter = [], [], {}
    for n, reporter in enumerate(team):
        teller = services.storyteller_get_or_create(
            project=project, pseudonym=f"Teller {n}", user=reporter
        )
        text = "\n\n".join(texts[n * 5 : n * 5 + 4])
        approved = _text_story(
            project,
            reporter,
            title=f"Told to reporter {n}",
            text=text,
            teller=teller,
            role=ROLES[n % len(ROLES)],
            approve_by=steward,
        )
        waiting = _text_story(
            project,
            reporter,
            title=f"Waiting, reporter {n}",
            text=text,
            teller=teller,
            role=ROLES[(n + 1) % len(ROLES)],
        )
        approved_templates.append(approved)
        waiting_templates.append(waiting)
        story_by_reporter[reporter.pk] = approved.pk
    wav = work_dir / "recording.wav"
    recording_bytes = write_wav(wav, seconds=recording_seconds)
    teller = services.storyteller_get_or_create(project=project, pseudonym="Long", user=team[0])
    audio, clip, media = _audio_story(project, team[0], steward, path=wav, teller=teller)
    wav.unlink()
    story_by_reporter[team[0].pk] = audio.pk
    timings["services_s"] = round(time.perf_counter() - start, 2)

    # Bulk copies: 70 % approved (with transcripts), 30 % drafts, spread over the reporters.
    start = time.perf_counter()
    index_page = StoryIndexPage.objects.child_of(project).get()
    real = StoryPage.objects.descendant_of(project).count()
    copies = max(0, stories - real)
    templates = []
    for n in range(len(team)):
        templates += [approved_templates[n]] * 7 + [waiting_templates[n]] * 3
    order = list(range(len(templates)))
    rng.shuffle(order)
    ordered = [templates[i] for i in order]
    made = _clone_stories(
        index_page=index_page,
        templates=ordered,
        count=copies,
        start_number=real,
        rng=rng,
        texts=texts,
    )
    timings["story_rows_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    segments = _bulk_related(made)
    timings["transcripts_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    themes = _themes(project, rng=rng)
    timings["themes_s"] = round(time.perf_counter() - start, 2)

    # Text-only clips (instant) from a few approved stories, by the facilitator.
    from transcription import clip_services

    start = time.perf_counter()
    clip_count = 1
    for story in StoryPage.objects.live().descendant_of(project).filter(kind="text")[:40]:
        segment = story.segments.order_by("index").first()
        if segment is not None:
            clip_services.clip_create(
                user=people["facilitator"], story=story, first_segment=segment.pk
            )
            clip_count += 1
    timings["clips_s"] = round(time.perf_counter() - start, 2)

    # A workshop with a pack drafted from the themes, and actions.
    start = time.perf_counter()
    workshop_id = action_id = None
    try:
        from workshops import services as workshops

        workshop = workshops.workshop_create(
            project=project, user=people["facilitator"], title="Bench workshop", draft=True
        )
        workshop_id = workshop.pk
    except Exception as error:  # noqa: BLE001 — a missing app is reported, not fatal
        timings["workshop_error"] = f"{type(error).__name__}: {error}"
    try:
        from actions import services as actions
        from themes.models import Theme

        first_themes = list(Theme.objects.filter(project=project)[:3])
        for n in range(10):
            action = actions.action_create(
                project=project,
                user=people["manager"],
                title=f"Bench action {n}",
                description="Something that changed because of the stories.",
                owner=people["manager"],
                themes=first_themes[: 1 + n % 3],
            )
            action_id = action_id or action.pk
    except Exception as error:  # noqa: BLE001
        timings["actions_error"] = f"{type(error).__name__}: {error}"
    timings["workshop_actions_s"] = round(time.perf_counter() - start, 2)

    # Stories for the queue scenario: approved written stories without a job yet, in a
    # project of their own (so they change no page's figures).
    queue_ids = []
    if queue_stories:
        start = time.perf_counter()
        queue_project = project_create(
            slug="bench-queue", title="Bench queue", organisation="Bench", user=steward
        )
        project_add_member(project=queue_project, user=team[0], role=Role.REPORTER)
        q_teller = services.storyteller_get_or_create(
            project=queue_project, pseudonym="Queue", user=team[0]
        )
        template = _text_story(
            queue_project,
            team[0],
            title="Queue template",
            text="\n\n".join(texts[:3]),
            teller=q_teller,
            role="staff",
            submit=True,
        )
        services.story_approve(story=template, user=steward)
        template.refresh_from_db()
        from transcription.models import TranscriptionJob

        TranscriptionJob.objects.filter(story=template).delete()
        q_index = StoryIndexPage.objects.child_of(queue_project).get()
        q_made = _clone_stories(
            index_page=q_index,
            templates=[template],
            count=queue_stories,
            start_number=stories + 1000,
            rng=rng,
            texts=texts,
        )
        from stories.models import Consent

        consents, first = [], list(template.consents.order_by("-version")[:1])
        for pk, _ in q_made:
            consents += _copy_rows(Consent, first, story_id=pk)
        Consent.objects.bulk_create(consents, batch_size=BATCH)
        queue_ids = [pk for pk, _ in q_made]
        timings["queue_stories_s"] = round(time.perf_counter() - start, 2)

    # Whatever the services queued while seeding is not part of any measurement.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.execute("ANALYZE")
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    live = StoryPage.objects.descendant_of(project).live().count()
    return Dataset(
        project_id=project.pk,
        project_slug=project.slug,
        users={name: user.pk for name, user in people.items()},
        reporters=[u.pk for u in team],
        story_by_reporter=story_by_reporter,
        stories=StoryPage.objects.descendant_of(project).count(),
        approved=live,
        segments=segments,
        themes=themes,
        clips=clip_count,
        workshop_id=workshop_id,
        action_id=action_id,
        recording_id=str(media.pk),
        recording_bytes=recording_bytes,
        clip_id=clip.pk if clip and clip.file else None,
        queue_story_ids=queue_ids,
        timings=timings,
    )
