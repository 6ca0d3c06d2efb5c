"""Password reset is rate-limited (five an hour for one address from one place, five an
hour for one account) and answers every request the same way, so that nobody learns from
it whether an account exists."""

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from cms import password_reset

URL = "/admin/password_reset/"


@pytest.fixture
def stella(steward):
    steward.email = "stella@example.org"
    steward.save()
    return steward


def _ask(client, address, ip="192.0.2.10"):
    response = client.post(URL, {"email": address}, REMOTE_ADDR=ip)
    return response.status_code, response["Location"]


def test_the_form_is_wagtails_reset_page_with_the_limit(client, db):
    assert reverse("wagtailadmin_password_reset") == URL
    assert "email" in client.get(URL).content.decode()


@time_machine.travel("2026-11-26 09:00:00+00:00", tick=False)
def test_after_five_tries_in_an_hour_no_more_mail_and_the_same_answer(client, stella):
    known = [_ask(client, "stella@example.org") for _ in range(7)]
    unknown = [_ask(client, "nobody@example.org") for _ in range(7)]

    # Every answer, for a known or unknown address, within or past the limit, is the same.
    assert set(known) == set(unknown) == {(302, reverse("wagtailadmin_password_reset_done"))}
    assert len(mail.outbox) == 5
    assert all(message.to == ["stella@example.org"] for message in mail.outbox)


@time_machine.travel("2026-11-26 09:00:00+00:00", tick=False)
def test_one_account_gets_at_most_five_mails_an_hour_from_anywhere(client, stella, reporter):
    reporter.email = "rita@example.org"
    reporter.save()

    for n in range(8):
        _ask(client, "stella@example.org", ip=f"198.51.100.{n}")
    _ask(client, "rita@example.org")

    assert [m.to[0] for m in mail.outbox].count("stella@example.org") == 5
    assert [m.to[0] for m in mail.outbox].count("rita@example.org") == 1  # others unaffected


def test_the_limit_lifts_after_the_hour(client, stella):
    with time_machine.travel("2026-11-26 09:00:00+00:00", tick=False):
        for _ in range(6):
            _ask(client, "stella@example.org")
    assert len(mail.outbox) == 5

    with time_machine.travel("2026-11-26 10:00:30+00:00", tick=False):
        _ask(client, "stella@example.org")
    assert len(mail.outbox) == 6


def test_a_counter_that_cannot_be_reached_lets_the_reset_through(client, stella, monkeypatch):
    class Broken:
        def add(self, *args, **kwargs):
            raise ConnectionError("down")

    monkeypatch.setattr(password_reset, "caches", {"uploads": Broken()})

    for _ in range(6):
        _ask(client, "stella@example.org")

    assert len(mail.outbox) == 6
