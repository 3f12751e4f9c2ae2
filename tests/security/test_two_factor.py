"""Optional TOTP two-factor login for leaders and administrators (accounts/two_factor.py)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiToken, Role
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
ENROL_URL = "/accounts/two-factor/"


@pytest.fixture(autouse=True)
def _no_otp_throttle(settings) -> None:
    # django-otp slows down retries after a wrong code (1 s, 2 s, …); the tests try a wrong code
    # and then the right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def code(device: TOTPDevice) -> str:
    """The current code of `device`, as the user's app shows it.

    A TOTP device refuses a code of a time step it has already accepted (replay protection), so
    the device's memory of the last step is cleared first: each call stands for a later login.
    """
    device.refresh_from_db()
    device.last_t = -1
    device.save(update_fields=["last_t"])
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def enrol(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def test_a_leader_enrols_with_a_code_from_the_shown_secret(client, people):
    leader = people.kunshan_leader
    client.force_login(leader)
    r = client.get(ENROL_URL)
    assert r.status_code == 200
    page = r.content.decode()
    assert 'src="data:image/svg+xml' in page  # the QR code, no inline script needed
    assert "<script>" not in page.replace(" ", "")
    device = TOTPDevice.objects.get(user=leader, confirmed=False)
    assert r.context["secret"] in page
    # Reloading keeps the same pending device, so the scanned QR stays valid.
    client.get(ENROL_URL)
    assert TOTPDevice.objects.filter(user=leader).count() == 1

    wrong = f"{(int(code(device)) + 1) % 1_000_000:06d}"
    r = client.post(ENROL_URL, {"otp_token": wrong})
    assert r.status_code == 200 and "not valid" in r.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    r = client.post(ENROL_URL, {"otp_token": code(device)})
    assert r.status_code == 302
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert AuditEvent.objects.filter(action="2fa_enrol", actor_id=leader.pk).count() == 1
    assert "Two-factor login is on" in client.get(ENROL_URL).content.decode()


@pytest.mark.parametrize("role", [Role.VERIFIER, Role.SUPERVISOR])
def test_other_roles_cannot_open_the_enrolment_page(client, people, role):
    user = people.kunshan_verifier if role == Role.VERIFIER else people.kunshan_supervisor
    client.force_login(user)
    assert client.get(ENROL_URL).status_code == 403
    assert client.post(ENROL_URL, {"otp_token": "123456"}).status_code == 403
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_an_admin_may_enrol(client, people):
    admin = UserFactory(username="city_admin", role=Role.ADMIN, org_unit=people.city_leader.org_unit)
    client.force_login(admin)
    assert client.get(ENROL_URL).status_code == 200


def test_the_enrolment_page_needs_a_login(client, people):
    r = client.get(ENROL_URL)
    assert r.status_code == 302 and r.url.startswith(LOGIN_URL)


def test_login_asks_for_the_code_once_enrolled(client, people):
    leader = people.kunshan_leader
    device = enrol(leader)
    creds = {"username": leader.username, "password": PASSWORD}

    r = client.post(LOGIN_URL, creds)
    assert r.status_code == 200
    assert "enter the 6-digit code" in r.content.decode()
    assert "_auth_user_id" not in client.session

    r = client.post(LOGIN_URL, {**creds, "otp_token": "000000" if code(device) != "000000" else "111111"})
    assert r.status_code == 200 and "not valid" in r.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="2fa_failed", actor="kunshan_leader").count() == 2
    # Each refused code counts as a failed login for the lockout.
    assert AccessAttempt.objects.get(username="kunshan_leader").failures_since_start == 2

    r = client.post(LOGIN_URL, {**creds, "otp_token": code(device)})
    assert r.status_code == 302
    assert client.session["_auth_user_id"] == str(leader.pk)
    assert client.session["otp_device_id"] == device.persistent_id


def test_a_wrong_password_with_a_right_code_is_still_refused(client, people):
    device = enrol(people.kunshan_leader)
    r = client.post(LOGIN_URL, {"username": "kunshan_leader", "password": "guess",
                                "otp_token": code(device)})
    assert r.status_code == 200 and "_auth_user_id" not in client.session


def test_users_without_a_device_log_in_as_before(client, people):
    r = client.post(LOGIN_URL, {"username": "kunshan_leader", "password": PASSWORD})
    assert r.status_code == 302 and client.session["_auth_user_id"] == str(people.kunshan_leader.pk)
    r = client.post(LOGIN_URL, {"username": "kunshan_verifier", "password": PASSWORD})
    assert r.status_code == 302


def test_the_api_token_needs_otp_token_once_enrolled(api, people):
    device = enrol(people.kunshan_leader)
    client = api()
    creds = {"username": "kunshan_leader", "password": PASSWORD}

    r = client.post(TOKEN_URL, creds, format="json")
    assert r.status_code == 400 and "otp_token" in r.json() and "token" not in r.json()

    r = client.post(TOKEN_URL, {**creds, "otp_token": "abc"}, format="json")
    assert r.status_code == 400 and "otp_token" in r.json()
    assert AuditEvent.objects.filter(action="2fa_failed", actor="kunshan_leader").count() == 2

    r = client.post(TOKEN_URL, {**creds, "otp_token": code(device)}, format="json")
    assert r.status_code == 200 and set(r.json()) == {"token"}


def test_the_api_token_is_unchanged_for_users_without_a_device(api, people):
    r = api().post(TOKEN_URL, {"username": "kunshan_leader", "password": PASSWORD}, format="json")
    assert r.status_code == 200 and set(r.json()) == {"token"}


def test_wrong_codes_lock_the_account_like_wrong_passwords(api, people, settings):
    device = enrol(people.kunshan_leader)
    client = api()
    creds = {"username": "kunshan_leader", "password": PASSWORD}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert client.post(TOKEN_URL, {**creds, "otp_token": "x"}, format="json").status_code in (400, 403)
    r = client.post(TOKEN_URL, {**creds, "otp_token": code(device)}, format="json")
    assert r.status_code in (403, 429) and "token" not in r.json()


def test_disabling_needs_the_password_and_a_code(client, people):
    leader = people.kunshan_leader
    device = enrol(leader)
    client.post(LOGIN_URL, {"username": leader.username, "password": PASSWORD, "otp_token": code(device)})

    r = client.post(ENROL_URL, {"password": "guess", "otp_token": code(device)})
    assert r.status_code == 200 and "not right" in r.content.decode()
    r = client.post(ENROL_URL, {"password": PASSWORD, "otp_token": "x"})
    assert r.status_code == 200
    assert TOTPDevice.objects.filter(user=leader, confirmed=True).exists()

    r = client.post(ENROL_URL, {"password": PASSWORD, "otp_token": code(device)})
    assert r.status_code == 302
    assert not TOTPDevice.objects.filter(user=leader).exists()
    assert AuditEvent.objects.filter(action="2fa_disable", actor_id=leader.pk).count() == 1

    client.logout()
    r = client.post(LOGIN_URL, {"username": leader.username, "password": PASSWORD})
    assert r.status_code == 302


def test_staff_with_a_device_must_pass_the_code_for_the_admin(client, people):
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    device = enrol(admin)
    client.force_login(admin)  # a session opened without the code
    r = client.get("/admin/", follow=True)
    # The admin sends people to the one login page, which asks for the code.
    assert r.redirect_chain[-1][0].startswith(LOGIN_URL) and r.status_code == 200

    client.logout()
    r = client.post(LOGIN_URL, {"username": "root", "password": PASSWORD, "otp_token": code(device),
                                "next": "/admin/"})
    assert r.status_code == 302 and r.url == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_staff_without_a_device_use_the_admin_as_before(client, people):
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200
    r = client.get("/admin/login/")
    assert r.status_code == 302 and r.url == "/admin/"


def test_turning_two_factor_on_revokes_the_api_token_issued_without_it(api, client, people):
    leader = people.kunshan_leader
    old = api().post(TOKEN_URL, {"username": leader.username, "password": PASSWORD}, format="json").json()["token"]
    client.force_login(leader)
    client.get(ENROL_URL)
    device = TOTPDevice.objects.get(user=leader, confirmed=False)
    client.post(ENROL_URL, {"otp_token": code(device)})
    device.refresh_from_db()
    assert device.confirmed
    assert not ApiToken.objects.filter(user=leader).exists()
    stale = api()
    stale.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert stale.get("/api/v1/users/me/").status_code == 401
