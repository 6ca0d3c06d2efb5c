"""Logging in: one login page for everyone, a second step for those who set up an
authenticator app, lock-out after repeated failures, and nothing that tells a stranger
whether an account exists."""

import re

from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories

LOGIN = "/admin/login/"


def _password_step(client, username, password, next_url="/admin/"):
    return client.post(
        f"{LOGIN}?next={next_url}",
        {"login_view-current_step": "auth", "auth-username": username, "auth-password": password},
    )


def _token_step(client, code, next_url="/admin/"):
    return client.post(
        f"{LOGIN}?next={next_url}",
        {"login_view-current_step": "token", "token-otp_token": code},
    )


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _errors(response) -> list[str]:
    return re.findall(r'<p class="error" role="alert">(.*?)</p>', response.content.decode())


def test_the_login_page_has_labelled_fields_and_a_plain_button(client, db):
    page = client.get(LOGIN).content.decode()

    assert '<label for="id_auth-username">Username</label>' in page
    assert '<label for="id_auth-password">Password</label>' in page
    assert ">Log in</button>" in page and "Forgotten your password?" in page


def test_a_password_is_enough_for_someone_without_an_authenticator(client, steward):
    response = _password_step(client, steward.username, factories.PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_someone_with_an_authenticator_must_give_its_code(client, steward):
    device = TOTPDevice.objects.create(user=steward, name="default", confirmed=True)

    response = _password_step(client, steward.username, factories.PASSWORD)
    assert response.status_code == 200
    assert "six-digit code" in response.content.decode()
    assert client.get("/admin/").status_code == 302  # not logged in yet

    wrong = _token_step(client, "000000" if _code(device) != "000000" else "111111")
    assert wrong.status_code == 200 and _errors(wrong)
    device.refresh_from_db()
    device.throttle_reset()  # django-otp makes each try after a wrong code wait longer

    response = _token_step(client, _code(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_wrong_password_says_the_same_whether_or_not_the_account_exists(client, steward):
    known = _errors(_password_step(client, steward.username, "not-the-password"))
    unknown = _errors(_password_step(client, "nobody-by-this-name", "not-the-password"))

    assert known and known == unknown


def test_repeated_failures_lock_the_name_out_for_a_while(client, steward, settings):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _password_step(client, steward.username, "guess").status_code == 200
    assert _password_step(client, steward.username, "guess").status_code == 429

    locked = _password_step(client, steward.username, factories.PASSWORD)
    assert locked.status_code == 429
    assert "Please wait before you try again" in locked.content.decode()
    assert client.get("/admin/").status_code == 302  # the right password did not get in

    for _ in range(settings.AXES_FAILURE_LIMIT):
        _password_step(client, "nobody-by-this-name", "guess")
    stranger = _password_step(client, "nobody-by-this-name", "guess")
    assert stranger.status_code == 429  # the same answer: no hint that the account exists

    other = factories.user("olive")
    assert _password_step(client, other.username, factories.PASSWORD).status_code == 302


def test_password_reset_does_not_say_whether_an_address_is_known(client, steward):
    steward.email = "stella@example.org"
    steward.save()
    url = reverse("wagtailadmin_password_reset")

    known = client.post(url, {"email": "stella@example.org"})
    unknown = client.post(url, {"email": "nobody@example.org"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["stella@example.org"]


def test_anyone_logged_in_can_set_up_two_step_login(client, reporter):
    client.force_login(reporter)

    page = client.get(reverse("two_factor:setup"))

    assert page.status_code == 200
    assert client.get(reverse("two_factor:setup")).status_code == 200
    client.logout()
    assert client.get(reverse("two_factor:setup")).status_code == 302


def test_the_admin_account_page_leads_to_two_step_login(client, steward):
    client.force_login(steward)

    account = client.get(reverse("wagtailadmin_account")).content.decode()
    assert reverse("two_factor:profile") in account and "Two-step login" in account
    assert client.get(reverse("two_factor:profile")).status_code == 200
