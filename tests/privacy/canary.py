"""The canary (issue 8): a story with made-up words in its transcript, a pure tone in its
recording, its storyteller's real name on its name list and a distinctive upload name, carried
through every part of Storyloom (transcription, redaction, a clip, themes, a workshop pack, a
proposal accepted into an action). Then consent is withdrawn, the erasure runs, and everything
stored is searched for any trace of it.

Used in the test process (test_canary.py) and, for the kill -9 test, in subprocesses
(worker_script.py), so nothing here may depend on pytest."""

import hashlib
import io
import re
import subprocess
import tempfile
import uuid
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# Every needle is a word no language, fixture or corpus has, so a hit anywhere can only come
# from the canary story. The story's "unique identifier" is TITLE_TOKEN (in its title, slug
# and tags), not its integer id: small integers occur everywhere by chance (other rows' ids,
# counts, times), so a search for "17" would prove nothing either way.
PHRASE = "zorblat quixfen"
TITLE_TOKEN = "Kestrelwick"
PSEUDONYM = "Wrenfield"
REAL_NAME = "Bartholomew Quenby"  # on the story's name list; Whisper hears "Bartholomew"
UPLOAD_NAME = "Ploverstone-interview.wav"
EVIDENCE_NAME = "Ploverstone-consent.pdf"
TONE_HZ = 2345.0  # under everything the storyteller says; nothing else here has it

SPOKEN = (
    "My name is Bartholomew. When I came out of prison no landlord would rent me a flat, "
    "so I slept in the hostel for months. The council housing list was years long."
)
# The reporter's corrections: the surname Whisper missed, and the words it could not spell.
PLANTED = f" The {PHRASE} kept me going."

# A written consent form scanned to PDF: its bytes hold the phrase too, so the storage scan
# has something to find before the erasure.
EVIDENCE = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    + f"% signed: {PHRASE}\n".encode()
    + b"1 0 obj<<>>endobj\n" * 40
)


def needles(sha256: str) -> dict[str, str]:
    """What must not be found after the erasure (lower case; the scan is case-insensitive)."""
    words = {
        "phrase": PHRASE,
        **{f"phrase word {w}": w for w in PHRASE.split()},
        "story title token": TITLE_TOKEN,
        "pseudonym": PSEUDONYM,
        **{f"real name {w}": w for w in REAL_NAME.split()},
        "upload file name": Path(UPLOAD_NAME).stem.split("-")[0],
        "recording sha256": sha256,
    }
    return {name: value.lower() for name, value in words.items()}


# --- The recording -----------------------------------------------------------------------------


def recording_bytes() -> bytes:
    """espeak-ng says SPOKEN; a quiet pure tone of TONE_HZ runs under it. A WAV file."""
    with tempfile.TemporaryDirectory() as folder:
        speech = Path(folder) / "speech.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-gb", "-s", "130", "-w", str(speech), SPOKEN],
            check=True,
            timeout=60,
        )
        with wave.open(str(speech)) as source:
            rate, width = source.getframerate(), source.getsampwidth()
            assert width == 2 and source.getnchannels() == 1
            samples = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    seconds = np.arange(len(samples)) / rate
    tone = 0.06 * 32767 * np.sin(2 * np.pi * TONE_HZ * seconds)
    mixed = np.clip(samples.astype(np.float64) * 0.9 + tone, -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(rate)
        target.writeframes(mixed.tobytes())
    return out.getvalue()


def has_tone(path: Path, hz: float = TONE_HZ) -> bool:
    """Whether the file decodes to sound with a steady peak at `hz` (a pure tone stands far
    above speech in that one frequency bin). Files that are not sound are not."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return False
            resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
            chunks = [
                frame.to_ndarray().reshape(-1)
                for packet_frame in container.decode(audio=0)
                for frame in resampler.resample(packet_frame)
            ]
    except (av.error.FFmpegError, ValueError, OSError):
        return False
    if not chunks:
        return False
    signal = np.concatenate(chunks)
    if len(signal) < 1600:
        return False
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    freqs = np.fft.rfftfreq(len(signal), 1 / 16000)
    near = np.abs(freqs - hz) < 5
    band = (freqs > 300) & (freqs < 7000) & ~(np.abs(freqs - hz) < 50)
    return bool(spectrum[near].max() > 30 * np.median(spectrum[band]))


# --- The flow ---------------------------------------------------------------------------------


@dataclass
class Canary:
    story_id: int
    sha256: str
    erasure_id: int
    segment_ids: list[int]
    clip_id: int
    theme_id: int
    theme_name: str  # its automatic name when the action was linked to it
    workshop_id: int
    action_id: int
    files_before: list[str]  # relative to their storage root, every one of the story's files
    url: str  # the story's page

    def as_dict(self):
        return asdict(self)


def _client_upload(project, reporter):
    """The reporter sends the story through the capture form, as from a phone."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse
    from django.utils import timezone

    from stories.consent import SCRIPT_VERSION
    from stories.models import StoryPage

    client = Client()
    client.force_login(reporter)
    response = client.post(
        reverse("stories:capture", args=[project.slug]),
        {
            "title": f"{TITLE_TOKEN} waiting room",
            "storyteller_new": PSEUDONYM,
            "storyteller_role": "service_user",
            "language": "en",
            "recorded_on": timezone.localdate().isoformat(),
            "summary": f"Housing after prison, and the {PHRASE}.",
            "tags": f"housing, {TITLE_TOKEN.lower()}",
            "visibility": "team",
            "story_type": "upload",
            "media_file": SimpleUploadedFile(UPLOAD_NAME, recording_bytes(), "audio/wav"),
            "consent_evidence": SimpleUploadedFile(EVIDENCE_NAME, EVIDENCE, "application/pdf"),
            **{f"consent_{scope}": "on" for scope in CONSENT},
            "consent_method": "written",
            "script_version": SCRIPT_VERSION,
        },
    )
    assert response.status_code == 302, response.content[-3000:]
    return StoryPage.objects.get(title__startswith=TITLE_TOKEN)


CONSENT = ("record", "transcribe", "analyse", "quote", "voice", "publish")


def _story_files(story_id: int) -> list[str]:
    from stories.models import Consent, StoryMedia
    from transcription.models import Clip

    names = [m.file.name for m in StoryMedia.objects.filter(story_id=story_id)]
    names += [c.evidence.name for c in Consent.objects.filter(story_id=story_id) if c.evidence]
    names += [c.file.name for c in Clip.objects.filter(story_id=story_id) if c.file]
    return sorted(names)


def run_flow() -> Canary:
    """Everything a story goes through, with the real engines, ending with consent withdrawn
    (the erasure is queued, not run). Needs committed transactions (a transactional test, or
    a subprocess): the steps' on_commit work runs as it would on a server."""
    from django.conf import settings

    from actions.models import Action
    from stories import services as stories
    from stories.models import ErasureRequest, StoryMedia
    from tests import factories
    from tests.themes.helpers import real_project
    from themes import services as themes
    from themes.models import ThemeAssignment
    from transcription import clip_services, redaction_services, review_services
    from transcription.models import Redaction, RedactionStatus, Segment
    from transcription.services import job_enqueue, job_run
    from workshops import services as workshops
    from workshops.models import Proposal

    assert settings.WHISPER_MODEL == "tiny.en"
    project = factories.project()
    reporter = factories.user_with_role("reporter", project, username="rita")
    facilitator = factories.user_with_role("facilitator", project, username="fay")
    steward = factories.steward(username="stella")
    real_project(project, reporter, steward)  # three other storytellers, so themes form

    story = _client_upload(project, reporter)
    recording = StoryMedia.objects.get(story=story, role=StoryMedia.Role.RECORDING)
    assert recording.original_name == UPLOAD_NAME
    stories.story_approve(story=story, user=steward)
    job_run(job_id=job_enqueue(story=story).pk)  # the real Whisper (tiny.en), as a worker does
    segments = list(Segment.objects.filter(story=story, transcript__is_current=True))
    assert "hostel" in " ".join(s.text for s in segments).lower(), [s.text for s in segments]

    # The reporter corrects the transcript, then puts the real name on the story's name list
    # and hides every suggestion; the playable copy is made again with the name silenced.
    first = segments[0]
    review_services.segment_edit(
        segment=first,
        text=_with_real_name(first.text) + PLANTED,
        user=reporter,
        version=first.version,
    )
    for segment in segments[1:]:
        segment.refresh_from_db()
        review_services.segment_edit(
            segment=segment, text=segment.text + PLANTED, user=reporter, version=segment.version
        )
    redaction_services.name_list_add(user=reporter, term=REAL_NAME, story=story)
    suggested = Redaction.objects.filter(story=story, status=RedactionStatus.SUGGESTED)
    assert suggested.exists()
    for redaction in suggested:
        redaction_services.redaction_decide(redaction=redaction, user=reporter, accept=True)
    clip_services.story_playable_rerender(story_id=story.pk)

    clip = clip_services.clip_create(
        user=facilitator, story=story, first_segment=segments[0], last_segment=segments[-1]
    )
    clip = clip_services.clip_render(clip_id=clip.pk)
    assert clip.status == "done" and clip.file, clip.error

    run = themes.theme_run_start(project=project, user=facilitator, enqueue=False)
    run = themes.theme_run_execute(run_id=run.pk)  # the real BERTopic
    assert run.status == "done", run.error
    # The story's theme whose automatic name holds the phrase (its lines may fall in more
    # than one theme; which comes first in the table is not fixed).
    story_themes = [
        a.theme
        for a in ThemeAssignment.objects.filter(theme__run=run, story=story)
        .select_related("theme")
        .order_by("theme__key", "pk")
    ]
    theme = next(
        (t for t in story_themes if PHRASE.split()[0] in t.auto_label.lower()), story_themes[0]
    )

    workshop = workshops.workshop_create(
        project=project, user=facilitator, title="Managers' workshop", draft=True
    )
    version = workshop.get_latest_revision_as_object()
    version.body = [
        *version.body.raw_data,
        _block(
            "theme",
            {
                "theme": theme.pk,
                "quotes": [first.pk],
                "show_chart": False,
                "minutes": 10,
                "notes": "",
            },
        ),
        _block("quote", {"quote": first.pk, "notes": ""}),
        _block("clip", {"clip": clip.pk, "minutes": 3, "notes": ""}),
        _block(
            "proposed_change",
            {
                "title": "A housing contact on release",
                "description": "One person to call.",
                "themes": [theme.pk],
                "notes": "",
            },
        ),
    ]
    version.save_revision(user=facilitator)
    workshops.proposals_sync_from_pack(workshop=workshop, user=facilitator)
    exported = workshops.pack_export(workshop=workshop, fmt="html")
    assert PHRASE in exported.content.decode().lower()
    proposal = Proposal.objects.get(workshop=workshop, from_pack=True)
    assert first.pk in set(proposal.quotes.values_list("pk", flat=True))
    workshops.proposal_decide(proposal=proposal, user=facilitator, decision="accepted")
    action = Action.objects.get(proposal=proposal)  # made once the decision committed

    run_worker()  # the search index is brought up to date by the worker's tasks
    files = _story_files(story.pk)
    stories.consent_withdraw(story=story, user=reporter, keep=set())
    return Canary(
        story_id=story.pk,
        sha256=recording.sha256,
        erasure_id=ErasureRequest.objects.get(story_id=story.pk).pk,
        segment_ids=[s.pk for s in segments],
        clip_id=clip.pk,
        theme_id=theme.pk,
        theme_name=theme.auto_label,
        workshop_id=workshop.pk,
        action_id=action.pk,
        files_before=files,
        url=story.get_url(),
    )


def run_worker() -> None:
    """What a worker on the default queue does with the tasks waiting there (search index
    updates, the erasure, notifications), in this process."""
    from django.core.management import call_command

    call_command("db_worker", "--batch", "--no-startup-delay", "--queue-name", "default")


def _with_real_name(text: str) -> str:
    """The reporter writes the name Whisper misheard (or missed) as the storyteller said it."""
    named, found = re.subn(r"(?i)\bmy name is [^.,]+", f"My name is {REAL_NAME}", text, count=1)
    return named if found else f"My name is {REAL_NAME}. {text}"


def _block(kind: str, value) -> dict:
    return {"type": kind, "value": value, "id": str(uuid.uuid4())}


# --- The scan ---------------------------------------------------------------------------------


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    return str(value)


def scan_database(found: dict[str, str]) -> dict[str, list[str]]:
    """Every row of every table (the search index's tables among them), each value as text,
    binary values decoded as latin-1. Returns {needle name: ["table.column", ...]}."""
    from django.db import connection

    hits: dict[str, set[str]] = {name: set() for name in found}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    text = _as_text(value).lower()
                    for name, needle in found.items():
                        if needle in text:
                            hits[name].add(f"{table}.{column}")
    return {name: sorted(where) for name, where in hits.items()}


def scan_files(found: dict[str, str], folders, *, sha256: str) -> dict[str, list[str]]:
    """Every file under `folders`: its bytes (latin-1, lower case), its SHA-256, and whether
    it sounds the tone."""
    hits: dict[str, list[str]] = {name: [] for name in found}
    hits["same bytes as the recording"] = []
    hits["sounds the tone"] = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            text = data.decode("latin-1").lower()
            for name, needle in found.items():
                if needle in text or needle in str(path).lower():
                    hits[name].append(str(path))
            if hashlib.sha256(data).hexdigest() == sha256:
                hits["same bytes as the recording"].append(str(path))
            if has_tone(path):
                hits["sounds the tone"].append(str(path))
    return hits


def scan(sha256: str, folders) -> dict[str, dict[str, list[str]]]:
    found = needles(sha256)
    return {"database": scan_database(found), "files": scan_files(found, folders, sha256=sha256)}


def nonempty(hits: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
    return {
        where: {name: places for name, places in found.items() if places}
        for where, found in hits.items()
        if any(found.values())
    }


def state(made: dict) -> dict:
    """The erasure request as it now stands, and what is left of the story's things."""
    from stories.erasure import erasure_steps
    from stories.models import ErasureRequest, StoryPage, private_storage
    from themes.models import ThemeRun

    request = ErasureRequest.objects.get(pk=made["erasure_id"])
    return {
        "status": request.status,
        "attempts": request.attempts,
        "error": request.error,
        "ledger": request.ledger,
        "story_left": StoryPage.objects.filter(pk=made["story_id"]).exists(),
        "queued_theme_runs": ThemeRun.objects.filter(status="queued").count(),
        "steps": [name for name, _ in erasure_steps()],
        "files_left": [name for name in made["files_before"] if private_storage().exists(name)],
    }
