"""Building blocks for the theme tests: analysed stories made through the real services,
and a stand-in engine for testing the code around the engine (runs, curation, the admin).
The real engine runs in test_runs.py and test_curation.py too."""

import re

import numpy as np

from stories.services import story_approve
from tests import factories
from themes.engines import FitResult, FittedState, NotEnoughMaterial
from themes.engines import Theme as EngineTheme
from transcription import services as transcription

# The stand-in engine's "themes": a passage belongs to the first whose words it uses.
VOCAB = {
    "housing": {"flat", "landlord", "rent", "housing", "hostel", "evicted"},
    "work": {"job", "work", "employer", "interview", "wages", "cv"},
    "drink": {"drink", "alcohol", "drugs", "recovery", "pub", "sober"},
    "family": {"family", "children", "kids", "mum", "partner", "daughter"},
}
NAMES = list(VOCAB)

HOUSING = [
    "When I came out I had no flat and the landlord would not take me.",
    "The hostel was the only place, and the rent for a flat was far too high.",
    "My probation officer helped me find housing after I was evicted.",
]
WORK = [
    "Nobody would give me a job once they saw my record at the interview.",
    "The employer said the wages were fine but the work was gone the next day.",
    "I wrote my cv at the centre and got an interview for a job.",
]
DRINK = [
    "The drink was how I coped, alcohol every night in the pub.",
    "Recovery meetings kept me sober when the drugs were everywhere.",
    "I stayed sober for a year and stopped going to the pub.",
]
FAMILY = [
    "Seeing my children again was the reason I kept going.",
    "My partner and the kids visited every week, and my mum came too.",
]


def analysed_story(
    project,
    reporter,
    steward,
    paragraphs,
    *,
    title="Story",
    teller="Sam",
    role="service_user",
    scopes=None,
    approve=True,
    recorded_on=None,
):
    """A written story, approved by the steward (or not), with its current transcript's
    segments made by the real transcription job (one segment per paragraph)."""
    story = factories.story(
        project,
        reporter,
        title=title,
        text="\n\n".join(paragraphs),
        scopes=scopes,
        storyteller_name=teller,
        storyteller_role=role,
        recorded_on=recorded_on,
    )
    if approve:
        story_approve(story=story, user=steward)
    job = transcription.job_enqueue(story=story)
    transcription.job_run(job_id=job.pk)
    return story


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _name(text: str) -> str | None:
    words = _words(text)
    return next((name for name in NAMES if words & VOCAB[name]), None)


class FakeEngine:
    """Clusters by vocabulary; remembers every document it was given."""

    def __init__(self, *, on_fit=None, error=None):
        self.fitted: list[list[str]] = []
        self.assigned: list[list[str]] = []
        self.on_fit = on_fit
        self.error = error

    def fit(self, documents, *, seed=42, n_themes=None):
        self.fitted.append(list(documents))
        if self.on_fit:
            self.on_fit()
        if self.error:
            raise self.error
        names = [_name(d) for d in documents]
        present = [n for n in NAMES if n in names]
        if len(documents) < 3 or not present:
            raise NotEnoughMaterial("There is not enough to find themes yet.")
        topics = [present.index(n) if n else -1 for n in names]
        k = len(present)
        centroids = np.zeros((k, len(NAMES)), dtype=np.float32)
        for key, name in enumerate(present):
            centroids[key, NAMES.index(name)] = 1.0
        themes = [
            EngineTheme(
                key=key,
                label=f"{name}, auto",
                keywords=[(w, 1.0) for w in sorted(VOCAB[name])],
                top_words=sorted(VOCAB[name]),
                size=topics.count(key),
                representative=[i for i, t in enumerate(topics) if t == key][:3],
                map_position=(float(key), float(key % 2)),
            )
            for key, name in enumerate(present)
        ]
        state = FittedState(
            keys=np.arange(k),
            centroids=centroids,
            min_similarity=0.5,
            temperature=0.05,
            membership_threshold=0.3,
            embedding="fake",
            embedding_version="1",
        )
        return FitResult(
            topics=topics,
            distributions=[[(t, 0.9)] if t >= 0 else [] for t in topics],
            themes=themes,
            state=state,
            engine="fake",
            engine_version="fake/1",
            model="fake",
            model_version="1",
            parameters={"seed": seed},
        )

    def assign(self, documents, fitted):
        self.assigned.append(list(documents))
        out = []
        for document in documents:
            name = _name(document)
            hits = [
                int(key)
                for key, row in zip(fitted.keys, fitted.centroids, strict=True)
                if name and row[NAMES.index(name)] > 0
            ]
            out.append([(hits[0], 0.9)] if hits else [])
        return out


# A small real project for the real engine: four storytellers, thirteen segments.
REAL_STORIES = {
    "Ann": [
        "When I came out of prison I had nowhere to live and slept on a friend's sofa for weeks.",
        "The council housing list was years long and no landlord would rent a flat to someone "
        "with a record.",
        "Living in the hostel was noisy and unsafe, I wanted my own front door.",
        "Getting a deposit together for a room was impossible on benefits.",
    ],
    "Bob": [
        "Nobody would give me a job once they saw the conviction on my application.",
        "I went to twenty interviews and every employer said no after the criminal record check.",
        "The training course at the job centre helped me write a CV and find warehouse work.",
        "Earning my own wages again made me feel like a normal person.",
    ],
    "Cat": [
        "My kids were the reason I kept going, I wanted to be a proper dad to them.",
        "Seeing my daughter every Saturday at the contact centre kept me out of trouble.",
        "My mum stood by me through the whole sentence and visited every week.",
        "Rebuilding trust with my partner and children took a long time after I came home.",
        "My family gave me a reason to stay away from my old friends.",
    ],
}


def real_project(project, reporter, steward):
    roles = {"Ann": "service_user", "Bob": "staff", "Cat": "service_user"}
    return [
        analysed_story(
            project,
            reporter,
            steward,
            lines,
            title=f"{name}'s story",
            teller=name,
            role=roles[name],
        )
        for name, lines in REAL_STORIES.items()
    ]
