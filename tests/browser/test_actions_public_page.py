"""A manager posts an update to an action, and the public "You said, we did" page shows the
new status (on a phone-sized screen, with no login)."""

import re

import pytest

from actions.models import ActionVisibility
from tests import factories
from tests.actions.conftest import make_action, status, world_fixture  # noqa: F401
from themes import services as theme_services

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(page, username, then):
    page.goto(then)  # the admin asks who you are first, then goes on there
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in|Log in")).click()
    try:
        page.wait_for_url(re.compile(re.escape(then) + "$"))
    except Exception:
        print(page.url, page.content()[-3000:])
        raise


def test_a_manager_updates_an_action_and_the_public_page_shows_it(
    world, browser, live_server, screenshot
):
    theme_services.theme_rename(
        theme=world.themes["housing"], label="Somewhere to live", user=world.facilitator
    )
    action = make_action(
        world,
        title="Housing officer at the hub",
        themes=[world.themes["housing"]],
        status=status("agreed"),
        public_summary="A housing officer comes to the hub every Tuesday.",
        visibility=ActionVisibility.PUBLIC,
    )
    public_url = f"/you-said-we-did/{world.project.slug}/"

    manager = browser.new_context(base_url=live_server.url, locale="en-GB")
    page = manager.new_page()
    page.set_default_timeout(20_000)
    log_in(page, world.manager.username, then=f"/admin/actions/{action.pk}/")
    page.get_by_label("What happened").fill("The housing officer started this week.")
    page.get_by_label("Status", exact=True).select_option(label="Done")
    page.get_by_role("button", name="Save the update").click()
    page.get_by_text("Your update has been saved.").wait_for()
    assert page.get_by_text("The housing officer started this week.").is_visible()
    screenshot(page, "action-page")
    page.goto(f"/admin/actions/dashboard/?project={world.project.pk}")
    assert page.get_by_role("heading", name="Themes with no action (3)").is_visible()
    screenshot(page, "dashboard")
    manager.close()

    public = browser.new_context(
        base_url=live_server.url, viewport={"width": 375, "height": 740}, locale="en-GB"
    )
    visitor = public.new_page()
    visitor.goto(public_url)
    assert visitor.get_by_role("heading", name="You said, we did").is_visible()
    item = visitor.locator(".said-did__action").filter(has_text="A housing officer comes")
    assert item.get_by_text("Done", exact=True).is_visible()
    assert "Somewhere to live" in visitor.content()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 375
    assert visitor.get_by_role("button", name="Print this page").is_visible()
    visitor.emulate_media(media="print")
    assert not visitor.locator(".site-header nav").is_visible()
    screenshot(visitor, "public-page-print")
    public.close()
