"""Asking routes as each viewer: logged-in clients without per-request log-ins, every request
in a savepoint that is rolled back (a POST that deletes, a log-out, leave the world as it
was), and what a response comes to in the table's words."""

from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlsplit

import django.test.client as test_client
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse

# The six viewers of the matrix, in the order of the table's columns.
VIEWERS = ("anon", "rep_a", "rep_b", "fac_a", "mgr_a", "steward")
# Project B's people, for the object-level checks.
OUTSIDERS = ("rep_b", "fac_b", "mgr_b")

REDIRECTS = {301, 302, 303, 307, 308}


def viewer_users(world) -> dict:
    return {
        "anon": None,
        "rep_a": world.a.reporter,
        "rep_b": world.b.reporter,
        "fac_a": world.a.facilitator,
        "mgr_a": world.a.manager,
        "steward": world.steward,
        "fac_b": world.b.facilitator,
        "mgr_b": world.b.manager,
    }


def foreign_markers(viewer: str, world) -> tuple[str, ...]:
    """Words the viewer must never be shown: the other project's (both, for the public)."""
    if viewer == "steward":
        return ()
    if viewer == "anon":
        return (world.a.marker, world.b.marker)
    return (world.b.marker,) if viewer.endswith("_a") else (world.a.marker,)


def _no_template_copies(*args, **kwargs):
    return None


class QuickClient(Client):
    """The test client without the copy of every template context it keeps for assertions
    (a third of the time of an admin page); the matrix reads only status, headers and body.
    Every request carries the viewer's session, even after a page that logged them out."""

    session_key: str | None = None

    def request(self, **request):
        self.cookies.clear()
        if self.session_key:
            self.cookies[settings.SESSION_COOKIE_NAME] = self.session_key
        with mock.patch.object(test_client, "store_rendered_templates", _no_template_copies):
            return super().request(**request)


def make_session(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_for(session_key: str | None) -> QuickClient:
    client = QuickClient(raise_request_exception=False)
    client.session_key = session_key
    return client


@contextmanager
def undone():
    """Whatever happens inside is rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def ask(client, method: str, url: str, data=None, **headers):
    with undone():
        if method == "POST":
            return client.post(url, data=data or {}, headers=headers)
        return client.generic(method, url, headers=headers)


def login_paths() -> set[str]:
    return {
        reverse(settings.LOGIN_URL),
        reverse("wagtailadmin_login"),
        reverse("two_factor:login"),
    }


def outcome(response, logins: set[str]) -> str:
    """'login' (a redirect to a login page), 'denied' (Wagtail's "you do not have
    permission" redirect to the admin's home), 'redirect' (any other), else the status."""
    if response.status_code in REDIRECTS:
        where = urlsplit(response["Location"]).path
        if where in logins:
            return "login"
        if where == reverse("wagtailadmin_home"):
            return "denied"
        return "redirect"
    return str(response.status_code)


def body_text(response) -> str:
    if response.streaming:
        return ""
    return response.content.decode("utf-8", "replace").lower()
