"""Print-ready packs: HTML and PDF, participant pack and facilitator guide, consent checked
again at export time."""

import shutil
import subprocess
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from stories.services import consent_withdraw
from tests.themes.helpers import HOUSING, FakeEngine, analysed_story
from tests.workshops.conftest import (
    DEE_HOUSING,
    add_blocks,
    clip_block,
    make_clip,
    quote_block,
    redact,
)
from themes import services as theme_services
from themes.models import Theme
from transcription.models import Segment
from workshops import services
from workshops.models import WorkshopPage

JFK = (
    "And so my fellow Americans, ask not what your country can do for you, ask what you can "
    "do for your country."
)


def pdf_text(path) -> str:
    if not shutil.which("pdftotext"):
        raise RuntimeError("pdftotext is needed: apt-get install poppler-utils")
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def pdf_pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(next(x for x in info.stdout.splitlines() if x.startswith("Pages:")).split()[1])


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def jfk_segment(fixtures_dir, project, reporter, steward):
    """Real words from the shared fixtures, with the storyteller's name-like word redacted."""
    text = (fixtures_dir / "audio" / "jfk.txt").read_text().strip()
    story = analysed_story(
        project, reporter, steward, [text], title="Inauguration", teller="Jay", role="partner"
    )
    segment = Segment.objects.get(story=story, transcript__is_current=True)
    redact(segment, "Americans")
    return segment


@pytest.mark.slow
def test_the_pdf_has_themes_and_quotes_but_no_redacted_or_withdrawn_words(
    workshop, facilitator, reporter, stories, jfk_segment, tmp_path
):
    add_blocks(workshop, facilitator, quote_block(jfk_segment))
    consent_withdraw(story=stories["Dee"], user=reporter, keep={"record", "transcribe", "analyse"})
    out = tmp_path / "pack.pdf"
    call_command(
        "export_pack",
        str(workshop.pk),
        "--format",
        "pdf",
        "-o",
        str(out),
        stdout=StringIO(),
        stderr=StringIO(),
    )

    assert out.read_bytes().startswith(b"%PDF")
    assert pdf_pages(out) >= 6  # cover, contents, a page per theme
    text = _flat(pdf_text(out))
    for label in ("housing, auto", "work, auto", "drink, auto", "family, auto"):
        assert label in text
    assert _flat(HOUSING[0]) in text and _flat(HOUSING[1]) in text
    assert "ask not what your country can do for you" in text
    assert "my fellow [name]" in text and "Americans" not in text
    assert "slept in the hostel" not in text  # Dee withdrew consent to be quoted
    assert "This pack was made again" in text
    assert "Page 3 of" in text and "Contents" in text
    assert "Notes for the facilitator" not in text

    guide = services.pack_export(workshop=workshop, fmt="pdf", variant="facilitator")
    guide_file = tmp_path / "guide.pdf"
    guide_file.write_bytes(guide.content)
    guide_text = _flat(pdf_text(guide_file))
    assert guide.content.startswith(b"%PDF") and pdf_pages(guide_file) >= 6
    assert "Timings" in guide_text and "minutes" in guide_text
    assert "Record the votes in the outcomes after the workshop." in guide_text
    assert "A storyteller no longer agrees to be quoted in workshops." in guide_text
    assert "Americans" not in guide_text and "slept in the hostel" not in guide_text


def test_html_has_contents_page_numbers_and_a_qr_code_for_each_playable_clip(
    workshop, facilitator, stories
):
    played = make_clip(stories["Bob"], text="The employer said the wages were fine.", title="Wages")
    quiet = make_clip(stories["Cat"], text="The drink was how I coped.", playable=False)
    add_blocks(workshop, facilitator, clip_block(played), clip_block(quiet))

    html = services.pack_export(workshop=workshop, fmt="html").content.decode()

    assert '<nav class="contents"' in html and "target-counter(attr(href), page)" in html
    assert 'counter(page) " of " counter(pages)' in html
    assert html.count('alt="QR code: a link to play this clip"') == 1
    assert 'src="data:image/svg+xml;base64,' in html  # QR code and charts are inside
    assert f"/admin/workshops/{workshop.pk}/clip/{played.pk}/" in html
    assert "Words only: the storyteller agreed to be quoted" in html
    assert "The drink was how I coped." in html
    assert 'lang="en-GB"' in html and "DejaVu Sans" in html
    assert "http" not in html.split("<body", 1)[0].replace("http-equiv", "")  # nothing fetched


def test_consent_withdrawn_before_export_leaves_the_quote_out_and_marks_the_pack(
    workshop, facilitator, reporter, stories
):
    clip = make_clip(stories["Dee"], text="Seeing my children again.", title="Children")
    add_blocks(workshop, facilitator, clip_block(clip))
    before = services.pack_export(workshop=workshop, fmt="html").content.decode()
    assert DEE_HOUSING in before and "Seeing my children again." in before
    assert "made again" not in before
    assert WorkshopPage.objects.get(pk=workshop.pk).regenerated_at is None

    consent_withdraw(story=stories["Dee"], user=reporter, keep={"record", "transcribe"})
    after = services.pack_export(workshop=workshop, fmt="html", variant="facilitator")
    html = after.content.decode()

    assert DEE_HOUSING not in html and "Seeing my children again." not in html
    # Her quotes under housing and family, and her clip.
    assert "This pack was made again on" in html and "2 quotes and 1 clip were left out" in html
    assert "A storyteller no longer agrees to be quoted in workshops." in html
    stored = WorkshopPage.objects.get(pk=workshop.pk)
    assert stored.regenerated_at == after.pack.generated_at
    assert "without 2 quotes and 1 clip" in stored.regenerated_note


def test_a_theme_gone_or_merged_since_is_explained_not_a_crash(
    project, workshop, facilitator, reporter, stories, themes
):
    # Dee no longer agrees to analysis: the next run finds no "family" theme at all.
    consent_withdraw(story=stories["Dee"], user=reporter, keep={"record", "transcribe"})
    started = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    new_run = theme_services.theme_run_execute(run_id=started.pk, engine=FakeEngine())
    new_work = Theme.objects.get(run=new_run, auto_label="work, auto")
    new_drink = Theme.objects.get(run=new_run, auto_label="drink, auto")
    theme_services.theme_merge(themes=[new_drink], into=new_work, user=facilitator)

    html = services.pack_export(
        workshop=workshop, fmt="html", variant="facilitator"
    ).content.decode()

    assert "The theme “family, auto” is no longer among the project&#x27;s themes" in html
    assert "“drink, auto” was merged into “work, auto”." in html
    assert html.count('class="pack-part pack-part--theme"') == 3  # housing, work, and drink→work


def test_an_empty_pack_is_refused_plainly(project, facilitator, tmp_path):
    empty = services.workshop_create(project=project, user=facilitator, title="Empty")
    with pytest.raises(ValidationError) as refused:
        services.pack_export(workshop=empty, fmt="pdf")
    assert "This pack is empty" in refused.value.messages[0]
    with pytest.raises(CommandError, match="This pack is empty"):
        call_command("export_pack", str(empty.pk), "-o", str(tmp_path / "x.pdf"))
    assert not (tmp_path / "x.pdf").exists()
    with pytest.raises(CommandError, match="There is no workshop with id 999999"):
        call_command("export_pack", "999999", "-o", str(tmp_path / "x.pdf"))


def test_export_pack_command_writes_html(workshop, tmp_path):
    out = tmp_path / "guide.html"
    stdout = StringIO()
    call_command(
        "export_pack",
        str(workshop.pk),
        "--format",
        "html",
        "--variant",
        "facilitator",
        "-o",
        str(out),
        stdout=stdout,
    )
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "Facilitator guide" in html
    assert "Wrote the facilitator guide" in stdout.getvalue()


LONG_WORD = "Ymddiheuriadau" * 20  # 280 letters with nowhere to break
UNICODE = "Zażółć gęślą jaźń — Ŵyn a ŷd — Ελπίδα — Надежда — ça m’a aidé — “quoted”"


@pytest.mark.slow
def test_unicode_very_long_and_very_many_quotes_print_without_breaking(
    project, reporter, steward, facilitator, tmp_path
):
    # One quote longer than a page: one sentence, so it stays one segment.
    long_paragraph = ", ".join(
        f"and then part {n} of a long answer about housing" for n in range(120)
    )
    many = [f"Short answer number {n} about the hub." for n in range(197)]
    story = analysed_story(
        project, reporter, steward, [UNICODE, LONG_WORD, long_paragraph, *many], teller="Uma"
    )
    segments = list(Segment.objects.filter(story=story).order_by("index"))
    assert len(segments) == 200
    workshop = services.workshop_create(project=project, user=facilitator, title="Big pack")
    add_blocks(workshop, facilitator, *[quote_block(s) for s in segments])

    result = services.pack_export(workshop=workshop, fmt="pdf")
    out = tmp_path / "big.pdf"
    out.write_bytes(result.content)
    text = _flat(pdf_text(out))
    assert result.content.startswith(b"%PDF") and pdf_pages(out) > 10
    assert UNICODE in text
    # Broken across lines (with hyphens), not cut off or overflowing the page.
    assert text.replace(" ", "").replace("\u2010", "").count(LONG_WORD) == 1
    assert "and then part 119 of a long answer about housing" in text  # runs over pages
    assert "Short answer number 196 about the hub." in text
    assert not result.pack.left_out
