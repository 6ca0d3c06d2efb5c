"""A facilitator builds a pack from the draft, then records the workshop's outcomes, and the
accepted proposal becomes an action."""

import re

import pytest

from actions.models import Action
from tests import factories
from tests.themes.helpers import DRINK, HOUSING, WORK, FakeEngine, analysed_story
from themes import services as theme_services
from workshops.models import Proposal, WorkshopPage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def desk(browser, live_server):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=live_server.url, locale="en-GB"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def test_a_facilitator_drafts_a_pack_and_records_outcomes_that_create_an_action(
    desk, project, screenshot
):
    reporter = factories.user_with_role("reporter", project, username="rita")
    facilitator = factories.user_with_role("facilitator", project, username="fay")
    steward = factories.steward(username="stella")
    for teller, role, lines in [
        ("Ann", "service_user", [HOUSING[0], WORK[0]]),
        ("Bob", "staff", [HOUSING[1], WORK[1]]),
        ("Cat", "volunteer", [HOUSING[2], DRINK[0]]),
    ]:
        analysed_story(project, reporter, steward, lines, teller=teller, role=role)
    run = theme_services.theme_run_start(project=project, user=facilitator, enqueue=False)
    theme_services.theme_run_execute(run_id=run.pk, engine=FakeEngine())

    desk.goto("/admin/login/")
    desk.get_by_label("Username").fill("fay")
    desk.get_by_label("Password").fill(factories.PASSWORD)
    desk.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    desk.goto("/admin/workshops/")
    desk.get_by_role("link", name="New workshop in Probation voices").click()
    desk.get_by_label("Name of the workshop").fill("Managers' workshop")
    desk.get_by_label("Managers", exact=True).check()
    assert desk.get_by_label(re.compile("Draft the pack")).is_checked()
    desk.get_by_role("button", name="Create the workshop").click()

    # The page editor, with the drafted pack in it: save it as a draft.
    desk.wait_for_url(re.compile(r"/admin/pages/\d+/edit/$"))
    desk.get_by_text("housing, auto (Probation voices)").first.wait_for()
    screenshot(desk, "editor")
    # Swap the last theme for another through the theme chooser (it lists this project's).
    desk.locator('button[aria-describedby$="-value-theme-title"]').last.click()
    desk.get_by_role("button", name="Choose another theme").click()
    modal = desk.locator(".modal-dialog")
    modal.get_by_role("link", name="work, auto (Probation voices)").click()
    modal.wait_for(state="hidden")
    desk.get_by_role("button", name="Save draft").click()
    desk.get_by_text(re.compile("has been updated|saved")).first.wait_for()
    workshop = WorkshopPage.objects.get(title="Managers' workshop")
    pack = workshop.get_latest_revision_as_object().body
    assert [b.value["theme"].auto_label for b in pack if b.block_type == "theme"] == [
        "housing, auto",
        "work, auto",
        "work, auto",
    ]

    desk.get_by_role("link", name="Read and print the pack").click()
    desk.get_by_role("heading", name="housing, auto", exact=True).wait_for()
    assert desk.get_by_text(HOUSING[0]).first.is_visible()
    assert desk.get_by_role("link", name="PDF").first.is_visible()
    screenshot(desk, "pack")

    desk.get_by_role("link", name=re.compile("^Outcomes")).first.click()
    desk.get_by_label("The proposed change").fill("A named housing contact")
    desk.get_by_label("housing, auto", exact=True).check()
    desk.get_by_role("button", name="Add the proposal").click()
    desk.get_by_text("The proposal is added.").wait_for()

    proposal = Proposal.objects.get(title="A named housing contact")
    desk.get_by_label("Managers", exact=True).fill("5")
    desk.locator(f"#proposal-{proposal.pk}-for").fill("9")
    desk.locator(f"#proposal-{proposal.pk}-against").fill("1")
    desk.locator(f"#proposal-{proposal.pk}-decision").select_option("accepted")
    desk.get_by_role("button", name="Save the outcomes").click()
    desk.get_by_text("The outcomes are saved.").wait_for()
    assert desk.get_by_text("it has been passed on as an action").is_visible()
    screenshot(desk, "outcomes")

    assert proposal.workshop_id == workshop.pk
    proposal.refresh_from_db()
    assert proposal.decision == "accepted" and proposal.votes_for == 9
    assert [t.auto_label for t in proposal.themes.all()] == ["housing, auto"]
    action = Action.objects.get(proposal=proposal)
    assert action.title == "A named housing contact"
