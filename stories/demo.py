"""The demo programme for `make run`: a fictional probation project, its people, and a dozen
short fictional stories voiced by espeak-ng so that there is real audio to play and transcribe.

Every story is made up. Each is tagged "fictional" and its summary says so.
"""

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from cms.models import ProjectPage
from cms.roles import ROLE_GROUPS, Role
from cms.services import project_add_member
from stories import services
from stories.importing import project_create
from stories.models import CONSENT_SCOPES, ConsentMethod, StorytellerRole, private_storage

DEMO_PASSWORD = "storyloom-demo"
DEMO_SLUG = "probation-voices-demo"
DEMO_TITLE = "Probation voices (demo)"
DEMO_ORGANISATION = "Riverside Community Rehabilitation Company (fictional)"
DEMO_VOCABULARY = "\n".join(
    [
        "OGRS",
        "Enabling Fund",
        "unpaid work",
        "peer mentor",
        "the hub",
        "Universal Credit",
        "breach",
        "case manager",
        "Riverside",
    ]
)
DEMO_USERS = [
    ("steward", None, "data steward and admin"),
    ("reporter", Role.REPORTER, "community reporter"),
    ("reporter2", Role.REPORTER, "community reporter"),
    ("facilitator", Role.FACILITATOR, "facilitator"),
    ("manager", Role.MANAGER, "manager"),
]
ESPEAK_TIMEOUT_S = 30


class DemoProblem(Exception):
    """The demo cannot be built; the message says why in plain words."""


@dataclass(frozen=True)
class DemoStory:
    title: str
    pseudonym: str
    role: str
    voice: str
    summary: str
    text: str
    location: str
    tags: list[str]
    days_ago: int
    approve: bool = True
    scopes: frozenset[str] = field(default_factory=lambda: frozenset(CONSENT_SCOPES))
    reporter: str = "reporter"


SU, STAFF, VOLUNTEER, FAMILY = (
    StorytellerRole.SERVICE_USER,
    StorytellerRole.STAFF,
    StorytellerRole.VOLUNTEER,
    StorytellerRole.FAMILY,
)

DEMO_STORIES = [
    DemoStory(
        title="Forty minutes in the waiting room",
        pseudonym="Dee",
        role=SU,
        voice="en-gb+f3",
        location="Riverside",
        tags=["waiting room", "appointments"],
        days_ago=60,
        summary="Long waits in a busy waiting room, next to people from the past.",
        text=(
            "Every time I come in, I sit in that waiting room for forty minutes. Same plastic "
            "chairs, same telly with no sound. People I used to know from the old days are "
            "sat right there, and that's the last thing I need when I'm trying to stay clean. "
            "I get that they're busy. I do. But if they could text me when they're running "
            "late, or let me wait somewhere quieter, I'd walk in calm instead of wound up. By "
            "the time I see my officer I've already had enough, and it shows."
        ),
    ),
    DemoStory(
        title="My third probation officer this year",
        pseudonym="Marcus",
        role=SU,
        voice="en-gb-scotland",
        location="Riverside",
        tags=["changing officers", "being known"],
        days_ago=57,
        summary="Changing probation officers means telling the whole story again.",
        text=(
            "I've had three probation officers this year. Three. Every time it changes I have "
            "to tell the whole story again, from the start. My kids, my drinking, what "
            "happened with my brother. It's like opening it all back up. And the new one "
            "doesn't know I've been doing well. They just see the file. My last officer knew "
            "my daughter's name, she remembered her birthday. That meant something. Just write "
            "down the good stuff too, and give us a proper handover, so I'm not starting at zero."
        ),
    ),
    DemoStory(
        title="Tuesday mornings and my new job",
        pseudonym="Jay",
        role=SU,
        voice="en-gb-x-rp",
        location="Northgate",
        tags=["appointments", "work"],
        days_ago=52,
        approve=False,
        summary="Appointments clash with a new job on a building site.",
        text=(
            "I got a job on a building site in March. First proper job in years. Problem is, "
            "my appointments are always on a Tuesday morning, and the site starts at half "
            "seven. I asked if I could come after work, and the answer was no, the office "
            "shuts at five. So either I miss work or I get breached. My boss has been good "
            "about it, but how many times can I ask? The thing they want me to do, get a job, "
            "is the thing that gets me in trouble. An evening slot once a month would change "
            "everything."
        ),
    ),
    DemoStory(
        title="Bus fare or the gas meter",
        pseudonym="Kerry",
        role=SU,
        voice="en-gb+f4",
        location="Eastfield",
        tags=["travel costs", "money"],
        days_ago=49,
        reporter="reporter2",
        summary="The cost of two buses each way, and a missed appointment.",
        text=(
            "People don't realise what it costs just to get here. Two buses each way, that's "
            "nearly nine pounds, and I'm on Universal Credit. Some weeks it's bus fare or the "
            "gas meter. I did ask about travel money and got told to fill in a form, and then "
            "nobody got back to me. When I missed one appointment because I had no money for "
            "the bus, it went down as a failure to attend. I wasn't hiding. I was skint. If I "
            "could see someone at the hub near me, or get the fare up front, I'd never miss one."
        ),
    ),
    DemoStory(
        title="She asked me what I wanted",
        pseudonym="Tom",
        role=SU,
        voice="en-gb-x-gbclan",
        location="Riverside",
        tags=["treated as a person", "Enabling Fund"],
        days_ago=45,
        summary="Being asked what he wanted, and a cookery course paid by the Enabling Fund.",
        text=(
            "The best thing that happened on my order was when my officer asked me what I "
            "actually wanted. Not what I'd done, what I wanted. Nobody had asked me that in "
            "years. I said I wanted to get back into cooking, because I used to work in a "
            "kitchen. She found a course, and the Enabling Fund paid for my knives and my "
            "whites. It was about eighty quid. That's nothing to them, but it was everything "
            "to me. I've been on the course six weeks now and I haven't missed a day."
        ),
    ),
    DemoStory(
        title="Making a brew at the hub",
        pseudonym="Lee",
        role=VOLUNTEER,
        voice="en-gb",
        location="Riverside hub",
        tags=["peer mentors", "reading and writing"],
        days_ago=41,
        reporter="reporter2",
        summary="A peer mentor on the small things that help people walk through the door.",
        text=(
            "I'm a peer mentor at the hub. Four years ago I was sat where these lads are "
            "sitting, so I know what it feels like to walk through that door. Mostly what I do "
            "is small stuff. I say hello, I make a brew, I help people read the letters they "
            "get. A lot of people can't read the forms and they're too ashamed to say. When I "
            "tell them I've been through it, you can see their shoulders drop. Staff can't do "
            "that bit, not because they don't care, but because they haven't lived it."
        ),
    ),
    DemoStory(
        title="Two hours in the van",
        pseudonym="Sian",
        role=SU,
        voice="en-gb-x-gbcwmd",
        location="Eastfield",
        tags=["unpaid work", "work"],
        days_ago=38,
        summary="Wasted hours on unpaid work, and a community garden that felt worthwhile.",
        text=(
            "I've got a hundred and twenty hours of unpaid work. I don't mind doing it, "
            "honestly. What gets me is turning up at eight in the morning and then sitting in "
            "the van for two hours because the supervisor's waiting on a key. I've lost a "
            "day's pay from my cleaning job to be there. When we did the community garden it "
            "was different. We could see what we'd made, and people from the estate came out "
            "and said thanks. That felt like paying something back."
        ),
    ),
    DemoStory(
        title="Sort the roof first",
        pseudonym="Ray",
        role=SU,
        voice="en-gb-scotland",
        location="Northgate",
        tags=["housing", "drugs and alcohol"],
        days_ago=33,
        approve=False,
        summary="Coming out of prison with nowhere to live, and a hostel full of drugs.",
        text=(
            "When I came out I had a bag, a discharge grant, and nowhere to go. The council "
            "said I wasn't a priority. I spent the first two weeks sofa surfing, then a hostel "
            "where people were using on every floor. How are you meant to stay off it in a "
            "place like that? My officer tried, she really did, but there's just no housing. "
            "Everything else on my plan, the courses, the job search, it all falls apart when "
            "you don't know where you're sleeping. Sort the roof first. Everything else comes "
            "after."
        ),
    ),
    DemoStory(
        title="More typing than talking",
        pseudonym="Priya",
        role=STAFF,
        voice="en-gb-x-rp+f2",
        location="Riverside",
        tags=["caseloads", "staff"],
        days_ago=29,
        summary="A probation officer on caseloads, paperwork and time with people.",
        text=(
            "I'm a probation officer. I've got over fifty people on my caseload, and most days "
            "I spend more time typing than talking to anyone. I came into this job to help "
            "people change their lives, and I believe in working with people's strengths, but "
            "a twenty minute appointment doesn't leave room for much beyond checking in. The "
            "risk assessments matter, the OGRS scores matter, but they're not the whole "
            "person. When I do get an hour with someone, that's when things really shift. I'd "
            "love more of those hours."
        ),
    ),
    DemoStory(
        title="Safe to say something",
        pseudonym="Ash",
        role=SU,
        voice="en-gb",
        location="Riverside",
        tags=["mental health", "being known"],
        days_ago=24,
        scopes=frozenset({"record", "transcribe", "analyse"}),
        summary="Anxiety, fear of being judged, and an officer who noticed.",
        text=(
            "My anxiety is really bad. Some days I can't leave the flat, let alone sit in an "
            "office full of strangers. For a long time I just said I was fine, because I "
            "thought if I told them, it would count against me. Then I got a new officer who "
            "noticed. She let me come in at quiet times and she helped me get a referral to "
            "the mental health team. It took five months to get seen, which is too long, but "
            "at least someone was on my side. I wish I'd felt safe to say something sooner."
        ),
    ),
    DemoStory(
        title="Nobody tells the family anything",
        pseudonym="Maureen",
        role=FAMILY,
        voice="en-gb+f3",
        location="Eastfield",
        tags=["family", "mental health"],
        days_ago=17,
        approve=False,
        reporter="reporter2",
        scopes=frozenset({"record", "transcribe", "analyse", "quote"}),
        summary="A mother who drives her son to appointments and wants to know how to help.",
        text=(
            "My son's on probation, and I'm the one who drives him to his appointments. Nobody "
            "ever tells the family anything. I don't need to know his business, but I'd like "
            "to know how to help. When he was struggling last winter, I could see it coming "
            "and didn't know who to call. His officer was lovely when we finally met, but that "
            "was after eight months. Families could be part of it. We're the ones there at "
            "night when things go wrong. Even a leaflet with a phone number would have helped."
        ),
    ),
    DemoStory(
        title="The letter that got me the job",
        pseudonym="Dev",
        role=SU,
        voice="en-gb-x-gbcwmd",
        location="Northgate",
        tags=["work", "getting a job with a record"],
        days_ago=10,
        summary="Applying for jobs with a conviction, and a disclosure letter that helped.",
        text=(
            "I've applied for about forty jobs since my sentence. The minute I tick the box "
            "about convictions, that's it, no reply. One place did give me an interview, and I "
            "was honest, and the manager said he respected that. I got the job. I've been "
            "there eight months now, I'm a team leader on the night shift. The employment "
            "worker at the hub helped me write a disclosure letter, so I could explain it in "
            "my own words instead of a tick box. That letter changed how I talk about myself "
            "too."
        ),
    ),
]


@dataclass
class DemoResult:
    project: ProjectPage | None
    created: bool
    stories: int = 0
    approved: int = 0
    users: list[tuple[str, str, bool]] = field(default_factory=list)  # name, role, created
    notes: list[str] = field(default_factory=list)  # what later demo steps added


def _espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise DemoProblem(
            "espeak-ng is not installed, so the demo stories cannot be voiced. "
            "Please install the Debian package espeak-ng (sudo apt-get install espeak-ng)."
        )
    return found


def demo_render(*, story: DemoStory, folder: Path, espeak: str) -> Path:
    """Speak a story into a WAV file with espeak-ng."""
    out = folder / f"{slug_for(story)}.wav"
    try:
        subprocess.run(
            [espeak, "-v", story.voice, "-s", "150", "-w", str(out), story.text],
            check=True,
            capture_output=True,
            timeout=ESPEAK_TIMEOUT_S,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise DemoProblem(f"espeak-ng could not voice '{story.title}': {error}") from None
    return out


def slug_for(story: DemoStory) -> str:
    return story.title.lower().replace(" ", "-").replace("'", "")


def _demo_user(username: str, *, superuser: bool):
    """A demo login; an existing account keeps its password."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    # No e-mail address: the demo's workflow notifications would only fill the console.
    user = User(
        username=username,
        is_superuser=superuser,
        is_staff=superuser,
    )
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user, True


# Later parts of the flow (workshops, actions) add their own demo material: each app
# registers a step in its AppConfig.ready(); the steps run in order after the stories are
# written, and may enqueue tasks for what must wait for transcripts or themes.
_demo_steps: list[tuple[str, Callable[[DemoResult], None]]] = []


def register_demo_step(name: str, step: Callable[[DemoResult], None]) -> None:
    if name not in [registered for registered, _ in _demo_steps]:
        _demo_steps.append((name, step))


def demo_seed(*, if_empty: bool = False) -> DemoResult:
    """Build the demo programme. With `if_empty`, do nothing when any project exists;
    without it, refuse when the demo project is already there."""
    if if_empty and ProjectPage.objects.exists():
        return DemoResult(project=ProjectPage.objects.filter(slug=DEMO_SLUG).first(), created=False)
    if ProjectPage.objects.filter(slug=DEMO_SLUG).exists():
        raise DemoProblem(
            f"The demo project '{DEMO_SLUG}' is already there. "
            "Delete it first if you want to build it again."
        )
    espeak = _espeak()
    with tempfile.TemporaryDirectory(prefix="storyloom-demo-") as tmp:
        # Voice everything before writing anything, so a voicing failure leaves no trace.
        recordings = [demo_render(story=s, folder=Path(tmp), espeak=espeak) for s in DEMO_STORIES]
        stored: list[str] = []
        try:
            result = _demo_write(recordings=recordings, stored=stored)
        except BaseException:
            for name in stored:
                private_storage().delete(name)
            raise
    for _, step in _demo_steps:
        step(result)
    return result


@transaction.atomic
def _demo_write(*, recordings: list[Path], stored: list[str]) -> DemoResult:
    result = DemoResult(project=None, created=True)
    users = {}
    for username, role, label in DEMO_USERS:
        users[username], created = _demo_user(username, superuser=role is None)
        result.users.append((username, label, created))
    users["steward"].groups.add(Group.objects.get(name=ROLE_GROUPS[Role.STEWARD]))

    steward = users["steward"]
    project = project_create(
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        organisation=DEMO_ORGANISATION,
        user=steward,
        custom_vocabulary=DEMO_VOCABULARY,
        description="<p>A fictional demo programme. Every story here is made up and read "
        "aloud by a computer voice.</p>",
    )
    result.project = project
    for username, role, _ in DEMO_USERS:
        if role is not None:
            project_add_member(project=project, user=users[username], role=role, by_user=steward)

    today = timezone.localdate()
    for story, path in zip(DEMO_STORIES, recordings, strict=True):
        reporter = users[story.reporter]
        teller = services.storyteller_get_or_create(
            project=project, pseudonym=story.pseudonym, user=reporter
        )
        with path.open("rb") as handle:
            page = services.story_create(
                project=project,
                reporter=reporter,
                story=services.StoryInput(
                    title=story.title,
                    storyteller=teller,
                    storyteller_role=story.role,
                    language="en",
                    summary=f"Fictional demo story. {story.summary}",
                    recorded_on=today - timedelta(days=story.days_ago),
                    location=story.location,
                    tags=["fictional", *story.tags],
                ),
                consent=services.ConsentInput(
                    scopes=set(story.scopes),
                    method=ConsentMethod.VERBAL,
                    note="Fictional demo consent.",
                ),
                recording=File(handle, name=path.name),
            )
        stored.extend(m.file.name for m in page.media.all())
        services.story_submit(story=page, user=reporter)
        if story.approve:
            services.story_approve(story=page, user=steward)
            result.approved += 1
        result.stories += 1
    return result
