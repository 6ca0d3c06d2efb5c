"""Whole journeys in a real browser (Debian's Chromium), against the live server with a real
task worker process (`manage.py db_worker`, tiny.en Whisper, BERTopic on potion embeddings):
a reporter on a phone records a story and corrects its transcript, a data steward approves
it, a facilitator finds themes and builds a workshop pack from them, a manager updates the
action that came out of the workshop, and the public "You said, we did" page shows it.

Each step is photographed at 375 px and 1280 px: var/screenshots/journey-*.png."""

import re
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from wagtail.models import WorkflowState

from actions.models import Action, ActionVisibility
from stories.models import StoryPage
from tests import factories
from tests.browser.journeys import pages, stack
from tests.themes.helpers import real_project
from themes.models import ThemeAssignment
from transcription.models import (
    Clip,
    JobStatus,
    Redaction,
    RedactionStatus,
    Segment,
    TranscriptionJob,
)
from workshops.models import Proposal, WorkshopPage

# What the storyteller says into the phone. Whisper cannot spell the officer's name: it
# hears "Eva", so the reporter corrects the line, then hides the name.
SAID = "My probation officer, Aoife, helped me find a flat when the landlord evicted me."
NAME = "Aoife"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def microphone_wav(tmp_path):
    """The phone's microphone hears a storyteller (espeak-ng's voice, made here): Chromium
    plays this 16-bit WAV as its fake microphone (tests/browser/conftest.py)."""
    if not shutil.which("espeak-ng") or not shutil.which("sox"):
        raise RuntimeError("The journeys need espeak-ng and sox: apt-get install espeak-ng sox")
    spoken, wav = tmp_path / "spoken.wav", tmp_path / "microphone.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-gb", "-s", "160", "-w", str(spoken), SAID], check=True, timeout=60
    )
    subprocess.run(
        ["sox", str(spoken), "-r", "48000", "-c", "1", "-b", "16", str(wav), "pad", "0.3", "1"],
        check=True,
        timeout=60,
    )
    return wav


@pytest.fixture
def database_url(live_server, tmp_path):
    with stack.database_for_other_processes(tmp_path, live_server) as url:
        yield url


@pytest.fixture
def world(database_url):
    """The programme, its people, and three stories already approved and transcribed (13
    passages about housing, work and family) whose storytellers agreed to everything."""
    project = factories.project()
    people = SimpleNamespace(
        project=project,
        reporter=factories.user_with_role("reporter", project, username="rita"),
        facilitator=factories.user_with_role("facilitator", project, username="fay"),
        manager=factories.user_with_role("manager", project, username="max"),
        steward=factories.steward(username="stella"),
    )
    other_reporter = factories.user_with_role("reporter", project, username="omar")
    people.background = real_project(project, other_reporter, people.steward)
    return people


@pytest.fixture
def worker(world, database_url, tmp_path, settings):
    """`manage.py db_worker` on every queue; tasks go through the database queue (the
    default; a REDIS_URL in the environment would otherwise send them to Redis)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": settings.TASK_QUEUES}
    }
    worker = stack.TaskWorker(database_url=database_url, var=tmp_path / "worker").start()
    try:
        yield worker
    finally:
        worker.stop()
        print("--- task worker log ---\n" + worker.log_tail())


def test_a_story_goes_from_a_phone_to_a_public_you_said_we_did(browser, live_server, world, worker):
    started = time.monotonic()
    journey = SimpleNamespace(
        browser=browser, live_server=live_server, world=world, pictures=pages.Pictures()
    )
    try:
        reporter_records_corrects_and_sends(journey)
        steward_approves(journey)
        facilitator_finds_themes_and_names_them(journey)
        facilitator_cuts_a_clip_and_builds_a_pack(journey)
        facilitator_records_the_outcomes(journey)
        manager_updates_the_action_and_the_public_sees_it(journey)
    except BaseException:
        journey.pictures.failed(browser)
        raise
    print(f"journey took {time.monotonic() - started:.1f} s")


def reporter_records_corrects_and_sends(journey):
    """On a phone: log in, record with consent, watch the transcript come, correct it."""
    browser, live_server, pictures = journey.browser, journey.live_server, journey.pictures
    project = journey.world.project

    # --- 1. The reporter, on a phone: log in, record a story with consent, send it. --------
    phone = pages.new_page(browser, live_server, pages.PHONE)
    pages.log_in(phone, "rita")
    pictures.take(phone, "reporter-home")
    phone.get_by_role("link", name=re.compile("Record a story")).first.click()
    phone.wait_for_url(re.compile(rf"/capture/{project.slug}/$"))
    assert pages.fits(phone)

    phone.get_by_role("button", name="Start recording").click()
    phone.locator("[data-recorder-time]").filter(has_text="0:06").wait_for()
    phone.get_by_role("button", name="Stop").click()
    phone.get_by_role("button", name="Record again").wait_for()
    for scope in (
        "Record my story",
        "Turn the recording into text",
        "Use my story to find common themes",
        "Quote my words (without my name) in workshops",
        "Play my voice or video in workshops",
        "Share my words publicly",
    ):
        phone.get_by_label(scope).check()
    phone.get_by_label("Written (signed form)").check()
    phone.get_by_label("Title of the story").fill("A flat at last")
    phone.get_by_label("A made-up name for the storyteller").fill("Dee")
    pictures.take(phone, "reporter-recorded")
    phone.get_by_role("button", name="Send the story").click()

    # --- 2. The story's page shows the transcription's progress, then the transcript. ----
    phone.wait_for_url(re.compile(r"/stories/\d+/status/$"))
    story = StoryPage.objects.get(title="A flat at last")
    assert phone.get_by_text("Waiting for the data steward").first.is_visible()
    progress = phone.locator("[data-transcription-progress]")
    seen_status = progress.get_attribute("data-status")
    assert seen_status in ("queued", "running", "done")
    if seen_status != "done":  # usually: the worker has only just been told
        assert phone.get_by_text("Turning the recording into text").is_visible()
    pictures.take(phone, "reporter-sent")
    phone.get_by_text("The transcript is ready.").wait_for(timeout=120_000)
    job = TranscriptionJob.objects.get(story=story)
    assert job.status == JobStatus.DONE and job.attempts == 1
    (line,) = Segment.objects.filter(story=story, transcript__is_current=True)
    heard = line.text
    assert "landlord" in heard and NAME not in heard, heard
    assert phone.locator(".transcript__text").first.inner_text() == heard.strip()
    assert pages.fits(phone)
    pictures.take(phone, "reporter-transcript-ready")

    # --- 3. The reporter corrects the words and hides the name, then marks it checked. ---
    phone.get_by_role("link", name="Check and correct the transcript").click()
    phone.wait_for_url(re.compile(rf"/stories/{story.pk}/transcript/"))
    row = phone.locator(f"#line-{line.pk}")
    row.get_by_text("Change the words").click()
    row.get_by_label("The words of line 1").fill(SAID)
    row.get_by_role("button", name="Save").click()
    phone.locator("[data-editor-status]").filter(has_text="Line 1 saved.").wait_for()
    line.refresh_from_db()
    assert line.text == SAID and line.version == 2

    # The editor suggests hiding the name it now sees; the reporter agrees.
    suggestions = phone.locator("[data-editor-redactions]")
    suggestions.get_by_role("button", name=f"Hide “{NAME}” in line 1").click()
    phone.locator(f"#line-{line.pk} mark.line__hidden").wait_for()
    hidden = Redaction.objects.get(story=story, status=RedactionStatus.ACCEPTED)
    assert hidden.original == NAME
    assert phone.locator(f"#line-{line.pk} mark.line__hidden").inner_text() == NAME
    pictures.take(phone, "reporter-corrected", show=phone.locator(f"#line-{line.pk}"))
    phone.get_by_role("button", name="Mark the whole transcript as checked").click()
    phone.get_by_text("Whole transcript checked").wait_for()
    assert pages.fits(phone)
    pictures.take(phone, "reporter-checked", show=phone.locator("[data-editor-checked]"))
    phone.context.close()
    journey.story, journey.line = story, line


def steward_approves(journey):
    """The data steward approves the story (the "Data steward approval" workflow)."""
    browser, live_server, pictures = journey.browser, journey.live_server, journey.pictures
    story = journey.story

    # --- 4. The data steward approves the story. -------------------------------------------
    desk = pages.new_page(browser, live_server, pages.DESK)
    pages.log_in(desk, "stella", then="/admin/")
    assert desk.get_by_role("heading", name="Awaiting your review").is_visible()
    row = desk.locator("tr").filter(has_text="A flat at last")
    pictures.take(desk, "steward-dashboard")
    row.get_by_role("button", name="Actions").click()
    row.get_by_role("button", name="Approve", exact=True).click()
    row.wait_for(state="detached")  # the page is loaded again, with nothing left to review
    assert StoryPage.objects.get(pk=story.pk).live
    state = WorkflowState.objects.get(base_content_type__model="page", object_id=str(story.pk))
    assert state.status == WorkflowState.STATUS_APPROVED
    assert state.workflow.name == "Data steward approval"
    pictures.take(desk, "steward-approved")
    desk.context.close()


def facilitator_finds_themes_and_names_them(journey):
    """At a desk: real BERTopic in the worker; one theme named, another merged into it."""
    browser, live_server, pictures = journey.browser, journey.live_server, journey.pictures
    project, line = journey.world.project, journey.line

    # --- 5. The facilitator finds the themes (BERTopic, in the worker). --------------------
    desk = pages.new_page(browser, live_server, pages.DESK)
    pages.log_in(desk, "fay", then="/admin/themes/")
    desk.get_by_role("link", name=project.title).click()
    desk.get_by_role("button", name="Find themes").click()
    desk.get_by_text("Finding themes. This page shows the progress.").wait_for()
    pictures.take(desk, "facilitator-finding-themes")
    summary = desk.locator(".themes__summary")
    summary.wait_for(timeout=180_000)
    assert re.match(r"\d+ themes from 4 stories \(14 parts\)", summary.inner_text())
    pictures.take(desk, "facilitator-themes")

    # --- 6. ... names the story's theme in her own words and merges another into it. -----
    # The journey's story joined a theme (its words about a flat and a landlord, with the
    # name hidden) along with Ann's story about housing.
    theme = ThemeAssignment.objects.get(segment=line, theme__run__is_current=True).theme
    housing = desk.locator(f"article[aria-labelledby='theme-{theme.pk}']")
    assert housing.get_by_text("My probation officer, [name], helped me").is_visible()
    assert NAME not in desk.content()
    computer_label = housing.locator("h3 a").inner_text()
    housing.get_by_label("Name in your own words").fill("Somewhere to live")
    housing.get_by_role("button", name="Rename").click()
    desk.get_by_text("The theme has its new name.").wait_for()
    assert housing.get_by_role("heading", name="Somewhere to live").is_visible()
    assert housing.get_by_text(f"Computer’s label: {computer_label}").is_visible()
    pictures.take(desk, "facilitator-renamed", show=housing)

    def parts(theme_card):
        return int(theme_card.locator(".theme-card__counts").inner_text().split()[0])

    others = desk.locator("article.theme-card").filter(has_not=housing.locator("h3"))
    about_a_room = others.filter(has_text="Getting a deposit together for a room")
    other = about_a_room if about_a_room.count() == 1 else others.first
    other_label = other.locator("h3 a").inner_text()
    housing_parts, other_parts = parts(housing), parts(other)
    housing.get_by_role("group", name="Merge other themes into this one").get_by_label(
        other_label, exact=True
    ).check()
    housing.get_by_role("button", name="Merge").click()
    desk.get_by_text("The themes are merged.").wait_for()
    assert desk.locator("article.theme-card h3", has_text=other_label).count() == 0
    assert parts(housing) == housing_parts + other_parts
    pictures.take(desk, "facilitator-merged", show=housing)
    journey.desk = desk


def facilitator_cuts_a_clip_and_builds_a_pack(journey):
    """A clip from the story's transcript; a pack drafted from the themes, with the clip."""
    desk, pictures = journey.desk, journey.pictures
    project, story, line = journey.world.project, journey.story, journey.line

    # --- 7. ... opens the story's transcript from the Stories list and cuts a clip. ------
    pages.menu(desk, "Stories").click()
    desk.get_by_role("button", name="More options for 'A flat at last'").click()
    desk.get_by_role("link", name="Transcript").click()
    desk.wait_for_url(re.compile(rf"/stories/{story.pk}/transcript/"))
    assert desk.locator(f"#line-{line.pk} .line__text").inner_text() == SAID.replace(NAME, "[name]")
    desk.locator(f"#line-{line.pk} [data-clip-pick]").check()
    desk.get_by_label("Name of the clip (optional)").fill("Evicted")
    pictures.take(desk, "facilitator-clip", show=desk.locator("[data-clip-form]"))
    desk.get_by_role("button", name="Make a clip").click()
    desk.wait_for_url(re.compile(r"/clips/\d+/$"))
    clip = Clip.objects.get(story=story)
    assert clip.title == "Evicted" and NAME not in clip.text and "[name]" in clip.text
    player = desk.locator("video.clip__player")
    player.wait_for(timeout=60_000)  # the worker made its sound, the page shows it
    assert player.locator("track[kind=captions]").count() == 1
    pictures.take(desk, "facilitator-clip-ready")

    # --- 8. ... drafts a workshop pack from the themes, adds the clip, saves it. ----------
    pages.menu(desk, "Workshops").click()
    desk.get_by_role("link", name=f"New workshop in {project.title}").click()
    desk.get_by_label("Name of the workshop").fill("Housing workshop")
    desk.get_by_label("Managers", exact=True).check()
    assert desk.get_by_label(re.compile("Draft the pack")).is_checked()
    pictures.take(desk, "facilitator-new-workshop")
    desk.get_by_role("button", name="Create the workshop").click()
    desk.wait_for_url(re.compile(r"/admin/pages/\d+/edit/$"))
    desk.get_by_text(f"Somewhere to live ({project.title})").first.wait_for()
    desk.get_by_role("button", name="Insert a block").last.click()
    desk.get_by_role("option", name="Clip").click()
    desk.get_by_role("button", name="Choose a clip").click()
    modal = desk.locator(".modal-dialog")
    modal.get_by_role("link", name=re.compile("Evicted")).click()
    modal.wait_for(state="hidden")
    pictures.take(
        desk,
        "facilitator-pack-editor",
        show=desk.locator("[data-chooser-title]", has_text=re.compile("^Evicted$")),
    )
    desk.get_by_role("button", name="Save draft").click()
    desk.get_by_text(re.compile("has been updated|saved")).first.wait_for()
    workshop = WorkshopPage.objects.get(title="Housing workshop")
    pack = workshop.get_latest_revision_as_object().body
    kinds = [block.block_type for block in pack]
    assert kinds[-1] == "clip" and pack[-1].value["clip"] == clip
    assert "Somewhere to live" in [
        b.value["theme"].display_label for b in pack if b.block_type == "theme"
    ]

    # --- 9. ... reads the pack and exports it as a PDF. -----------------------------------
    desk.get_by_role("link", name="Read and print the pack").click()
    desk.get_by_role("heading", name="Somewhere to live", exact=True).first.wait_for()
    assert desk.get_by_text("My probation officer, [name], helped me").first.is_visible()
    assert NAME not in desk.content()
    pictures.take(desk, "facilitator-pack")
    with desk.expect_download() as download:
        desk.get_by_role("link", name="PDF").first.click()
    assert download.value.suggested_filename == "housing-workshop-participant.pdf"
    pdf = Path(download.value.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    printed = pages.pdf_text(pdf)  # poppler's pdftotext (a Debian package of the project)
    assert "Somewhere to live" in printed and "Housing workshop" in printed
    assert "[name]" in printed and NAME not in printed
    journey.workshop = workshop


def facilitator_records_the_outcomes(journey):
    """The workshop's outcomes: an accepted proposal becomes an action."""
    desk, pictures, workshop = journey.desk, journey.pictures, journey.workshop

    # --- 10. ... records the workshop's outcomes: the proposal accepted becomes an action.
    desk.get_by_role("link", name=re.compile("^Outcomes")).first.click()
    desk.get_by_label("The proposed change").fill("A housing officer at the hub every week")
    desk.get_by_label("Somewhere to live", exact=True).check()
    desk.get_by_role("button", name="Add the proposal").click()
    desk.get_by_text("The proposal is added.").wait_for()
    proposal = Proposal.objects.get(workshop=workshop)
    desk.get_by_label("Managers", exact=True).fill("6")
    desk.locator(f"#proposal-{proposal.pk}-for").fill("5")
    desk.locator(f"#proposal-{proposal.pk}-against").fill("1")
    desk.locator(f"#proposal-{proposal.pk}-decision").select_option("accepted")
    desk.get_by_role("button", name="Save the outcomes").click()
    desk.get_by_text("The outcomes are saved.").wait_for()
    assert desk.get_by_text("it has been passed on as an action").is_visible()
    pictures.take(
        desk, "facilitator-outcomes", show=desk.locator(f"#proposal-{proposal.pk}-decision")
    )
    action = Action.objects.get(proposal=proposal)
    assert action.title == "A housing officer at the hub every week"
    assert [t.display_label for t in action.themes.all()] == ["Somewhere to live"]
    desk.context.close()
    journey.action = action


def manager_updates_the_action_and_the_public_sees_it(journey):
    """The manager takes the action on and posts an update; the public page shows it."""
    browser, live_server, pictures = journey.browser, journey.live_server, journey.pictures
    project, action = journey.world.project, journey.action

    # --- 11. The manager takes the action on, makes it public, and posts an update. -------
    desk = pages.new_page(browser, live_server, pages.DESK)
    pages.log_in(desk, "max", then="/admin/")
    pages.menu(desk, "Actions").click()
    desk.get_by_role("link", name=action.title).click()
    desk.get_by_label("Owner").select_option(label="max")
    desk.get_by_label("Visibility").select_option("public")
    desk.get_by_label("Public summary").fill(
        "A housing officer now comes to the hub every Tuesday."
    )
    pictures.take(desk, "manager-edits-action", show=desk.get_by_label("Public summary"))
    desk.get_by_role("button", name="Save", exact=True).click()
    row = desk.locator("tr").filter(has_text=action.title)
    row.get_by_role("button", name=re.compile("More options")).click()
    row.get_by_role("link", name="Updates and trace").click()
    desk.wait_for_url(re.compile(rf"/admin/actions/{action.pk}/$"))
    desk.get_by_label("What happened").fill("The housing officer started this week.")
    desk.get_by_label("Status", exact=True).select_option(label="Done")
    desk.get_by_role("button", name="Save the update").click()
    desk.get_by_text("Your update has been saved.").wait_for()
    assert desk.get_by_text("The housing officer started this week.").is_visible()
    pictures.take(
        desk,
        "manager-updated-action",
        show=desk.get_by_text("The housing officer started this week."),
    )
    action.refresh_from_db()
    assert action.status.key == "done" and action.visibility == ActionVisibility.PUBLIC
    assert action.owner == journey.world.manager
    desk.context.close()

    # --- 12. Anyone, on a phone, with no login: "You said, we did" shows it. --------------
    visitor = pages.new_page(browser, live_server, pages.PHONE)
    visitor.goto(f"/you-said-we-did/{project.slug}/")
    assert visitor.get_by_role("heading", name="You said, we did").is_visible()
    item = visitor.locator(".said-did__action").filter(has_text="every Tuesday")
    assert item.get_by_text("Done", exact=True).is_visible()
    assert item.get_by_text("Somewhere to live").is_visible()
    assert visitor.get_by_text("Somewhere to live").first.is_visible()
    assert NAME not in visitor.content()
    assert pages.fits(visitor)
    pictures.take(visitor, "public-you-said-we-did")
    visitor.context.close()
