"""axe-core on every page a person sees: the front end (home, project, capture form, my
stories, story status, the public "You said, we did" page, login and two-step login) and
every custom admin view (transcript editor, clips, themes, workshops with their pack,
outcomes, clip page and choosers, actions, sensitive access, erasures, names to hide...),
each opened by someone whose role lets them in, with a programme full of real material.
No serious or critical WCAG 2.2 A/AA violation may remain; each page is a subtest, so one
run lists every page that fails.

Wagtail's own page editor (/admin/pages/ID/edit/) is not checked: its markup is Wagtail's
(see README.md in this folder). Every other page is checked whole, admin chrome included.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.accessibility.axe import axe_source, describe, focus_problems, run_axe
from tests.accessibility.world import build_world

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.one_database,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = {"width": 375, "height": 740}
DESK = {"width": 1280, "height": 900}


def new_context(browser, live_server, *, user=None, viewport=DESK, **options):
    """A browser context, logged in as `user` when given (the login form is checked on its
    own). The CSP of exported packs forbids scripts, axe's included: bypassed here only."""
    context = browser.new_context(
        viewport=viewport, base_url=live_server.url, locale="en-GB", bypass_csp=True, **options
    )
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


class Checker:
    """Runs axe (and, where asked, the focus check) on a page, each as a subtest."""

    def __init__(self, subtests):
        self.subtests = subtests
        self.source = axe_source()
        self.checked: list[str] = []

    def check(self, page, label, *, include=None, focus=False):
        self.checked.append(label)
        with self.subtests.test(msg=label):
            violations = run_axe(page, include=include, source=self.source)
            assert not violations, "\n" + describe(label, violations)
        if focus:
            with self.subtests.test(msg=f"{label} (focus visible)"):
                problems = focus_problems(page)
                assert not problems, f"{label}: focus is hard to see on\n" + "\n".join(problems)

    def visit(self, page, url, *, role, status=200, **kwargs):
        response = page.goto(url)
        label = f"{role} {url}"
        with self.subtests.test(msg=f"{label} opens"):
            assert response.status == status, f"{label}: HTTP {response.status} ({page.url})"
        self.check(page, label, **kwargs)


def otp_code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_no_page_has_serious_or_critical_accessibility_problems(
    browser, live_server, subtests, settings
):
    world = build_world()
    checker = Checker(subtests)
    slug, project_id = world.project.slug, world.project.pk
    story, clip, workshop = world.recorded, world.clip, world.workshop

    # --- Someone not logged in, on a phone: the public page and the login --------------------
    otto = factories.user("otto")
    device = TOTPDevice.objects.create(user=otto, name="default", confirmed=True)
    backup = StaticDevice.objects.create(user=otto, name="backup")
    backup.token_set.create(token="abcd2345")
    context, page = new_context(browser, live_server, viewport=PHONE)
    checker.visit(page, "/", role="visitor", focus=True)
    checker.visit(page, f"/you-said-we-did/{slug}/", role="visitor", focus=True)
    checker.visit(page, "/admin/login/", role="visitor", focus=True)
    page.get_by_label("Username").fill("otto")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").first.wait_for()
    checker.check(page, "visitor: login with a wrong password")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("six-digit code").wait_for()
    checker.check(page, "visitor: two-step login, the code")
    page.get_by_role("textbox").first.fill("000000" if otp_code(device) != "000000" else "111111")
    page.get_by_role("button", name=re.compile("Log in|Next|Continue")).click()
    page.get_by_role("alert").first.wait_for()
    checker.check(page, "visitor: two-step login, a wrong code")
    page.get_by_role("button", name=re.compile("backup code")).click()
    page.get_by_text("backup codes you printed").wait_for()
    checker.check(page, "visitor: two-step login, a backup code")
    page.get_by_role("textbox").first.fill("abcd2345")
    page.get_by_role("button", name=re.compile("Log in|Next|Continue")).click()
    page.wait_for_url(re.compile(r"/admin/$|/$"))
    for url in ["/account/two_factor/", "/account/two_factor/backup/tokens/"]:
        checker.visit(page, url, role="otto (two-step login on)")
    context.close()

    # After five wrong passwords the name waits: the page that says so.
    settings.AXES_ENABLED = True
    context, page = new_context(browser, live_server, viewport=PHONE)
    page.goto("/admin/login/")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    page.get_by_role("heading", name="Please wait before you try again").wait_for()
    checker.check(page, "visitor: locked out after wrong passwords")
    settings.AXES_ENABLED = False
    context.close()

    # --- The reporter, on a phone ----------------------------------------------------------
    context, page = new_context(browser, live_server, user=world.reporter, viewport=PHONE)
    reporter_pages = [
        "/",
        world.project.url,
        f"/capture/{slug}/",
        f"/my-stories/{slug}/",
        f"/stories/{story.pk}/status/",
        f"/stories/{world.waiting.pk}/status/",
        story.url,
        f"/stories/{story.pk}/transcript/",
        f"/stories/{story.pk}/transcript/lines/{world.segment.pk}/changes/",
        f"/clips/{clip.pk}/",
        f"/projects/{slug}/clips/",
        "/admin/",
        f"/admin/themes/{project_id}/",
        f"/admin/actions/story/{story.pk}/",
        workshop.url,
        "/admin/name_list/new/",
        "/account/two_factor/",
        "/account/two_factor/setup/",
    ]
    # Tabbed through too: the front end, and the admin-styled pages reporters work in.
    tabbed = {"/", world.project.url, f"/capture/{slug}/", f"/my-stories/{slug}/"}
    tabbed |= {f"/stories/{story.pk}/status/", f"/stories/{story.pk}/transcript/"}
    tabbed |= {f"/clips/{clip.pk}/", workshop.url}
    for url in reporter_pages:
        checker.visit(page, url, role="reporter", focus=url in tabbed)
    # The capture form's consent script in easy words, opened.
    page.goto(f"/capture/{slug}/")
    page.get_by_text("Read it in easy words").click()
    checker.check(page, "reporter: capture form, easy words open")
    # Two-step login set-up: the step with the QR code.
    page.goto("/account/two_factor/setup/")
    page.get_by_role("button", name=re.compile("Next|Continue|Start")).click()
    page.locator("img").first.wait_for()
    checker.check(page, "reporter: two-step login set-up, the QR code")
    context.close()

    # Without the form's script (as on a browser that does not run it) the server answers:
    # the form with its errors, and a refused upload.
    context, page = new_context(browser, live_server, user=world.reporter, viewport=PHONE)
    page.route("**/stories/capture.js", lambda route: route.abort())
    # The browser's own checks pass; the server's (who told it, and the story) do not.
    page.goto(f"/capture/{slug}/")
    page.get_by_label("Title of the story").fill("The waiting room")
    page.get_by_label("Written (signed form)").check()
    page.get_by_label(re.compile("Record my story")).check()
    page.get_by_role("button", name="Send the story").click()
    page.get_by_role("heading", name="There is a problem").wait_for()
    checker.check(page, "reporter (no form script): capture form with errors")
    settings.STORYLOOM_MAX_UPLOAD_BYTES = 1024
    page.get_by_label("Upload a text file (.txt)").check()
    page.get_by_label("Text file", exact=True).set_input_files(
        {"name": "long.txt", "mimeType": "text/plain", "buffer": b"word " * 230_000}
    )
    page.get_by_role("button", name="Send the story").click()
    page.get_by_role("heading", name="The story was not sent").wait_for()
    checker.check(page, "reporter (no form script): upload refused")
    context.close()

    # --- The facilitator, at a desk ---------------------------------------------------------
    context, page = new_context(browser, live_server, user=world.facilitator)
    for url in [
        "/admin/themes/",
        f"/admin/themes/{project_id}/",
        f"/admin/themes/{project_id}/theme/{world.themes['housing'].pk}/",
        "/admin/workshops/",
        f"/admin/workshops/new/{project_id}/",
        f"/admin/workshops/{workshop.pk}/",
        f"/admin/workshops/{workshop.pk}/draft/",
        f"/admin/workshops/{workshop.pk}/outcomes/",
        f"/admin/workshops/{workshop.pk}/clip/{clip.pk}/",
        f"/admin/workshops/{workshop.pk}/export/participant.html",
        f"/admin/workshops/{workshop.pk}/export/facilitator.html",
        f"/stories/{story.pk}/transcript/",
    ]:
        checker.visit(page, url, role="facilitator")
    # The pack's choosers (our views, in Wagtail's modal), opened from the pack editor.
    page.goto(f"/admin/pages/{workshop.pk}/edit/")
    for kind in ["theme", "quote", "clip"]:
        chooser = page.locator(f'[data-chooser-url$="/choose/{kind}/"]').first
        chooser.locator("[data-chooser-action-choose]").evaluate("button => button.click()")
        modal = page.locator(".modal-dialog")
        modal.get_by_role("table").wait_for()
        checker.check(page, f"facilitator: the {kind} chooser", include=".modal-dialog")
        page.keyboard.press("Escape")
        modal.wait_for(state="hidden")
    context.close()

    # --- The manager ------------------------------------------------------------------------
    context, page = new_context(browser, live_server, user=world.manager)
    for url in [
        "/admin/",
        "/admin/actions/dashboard/",
        f"/admin/actions/{world.action.pk}/",
        "/admin/snippets/actions/action/",
        f"/admin/snippets/actions/action/edit/{world.public_action.pk}/",
    ]:
        checker.visit(page, url, role="manager")
    context.close()

    # --- The data steward -------------------------------------------------------------------
    context, page = new_context(browser, live_server, user=world.steward)
    for url in [
        "/admin/",
        "/admin/stories/",
        "/admin/storytellers/",
        f"/admin/storytellers/edit/{story.storyteller_id}/",
        "/admin/consent/",
        f"/admin/consent/inspect/{story.current_consent.pk}/",
        "/admin/erasures/",
        f"/admin/erasures/inspect/{world.erasure.pk}/",
        "/admin/transcription_jobs/",
        f"/admin/transcription_jobs/{world.failed_job.pk}/retry/",
        "/admin/name_list/",
        "/admin/reports/sensitive-access/",
        "/admin/action_statuses/",
        f"/stories/{story.pk}/transcript/",
    ]:
        checker.visit(page, url, role="data steward")
    context.close()

    assert len(checker.checked) >= 60
