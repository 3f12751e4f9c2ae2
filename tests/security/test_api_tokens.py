"""API tokens expire (sliding), are revoked on password change, "log out everywhere" and
deactivation, and their owner lists and revokes them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, Role
from accounts.services import user_upsert
from accounts.tokens import api_token_issue
from audit.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
ME = "/api/v1/users/me/"


def _token(api, user) -> str:
    r = api().post(TOKEN_URL, {"username": user.username, "password": PASSWORD}, format="json")
    assert r.status_code == 200, r.content
    return r.json()["token"]


def _with(api, key: str):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_token_endpoint_issues_a_working_token_stored_only_as_a_digest(api, people):
    key = _token(api, people.kunshan_supervisor)
    assert _with(api, key).get(ME).json()["username"] == "kunshan_supervisor"
    row = ApiToken.objects.get(user=people.kunshan_supervisor)
    assert key not in (row.digest, row.prefix) and row.prefix == key[:8]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_ISSUED, actor_id=people.kunshan_supervisor.pk)


def test_a_token_unused_for_longer_than_the_lifetime_is_refused(api, people, settings):
    settings.HUOYAN_API_TOKEN_TTL_HOURS = 8
    key = _token(api, people.kunshan_supervisor)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    r = _with(api, key).get(ME)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    assert not ApiToken.objects.exists()


def test_using_a_token_moves_its_expiry_on(api, people, settings):
    settings.HUOYAN_API_TOKEN_TTL_HOURS = 8
    key = _token(api, people.kunshan_supervisor)
    soon = timezone.now() + timedelta(minutes=5)
    ApiToken.objects.update(expires_at=soon, last_used_at=timezone.now() - timedelta(hours=2))
    assert _with(api, key).get(ME).status_code == 200
    row = ApiToken.objects.get()
    assert row.expires_at > soon + timedelta(hours=7)


def test_the_lifetime_is_a_setting(api, people, settings):
    settings.HUOYAN_API_TOKEN_TTL_HOURS = 1
    _token(api, people.kunshan_supervisor)
    row = ApiToken.objects.get()
    assert row.expires_at - row.created_at < timedelta(hours=1, minutes=1)


def test_changing_the_password_revokes_every_token(api, people):
    user = people.kunshan_supervisor
    keys = [_token(api, user), _token(api, user)]
    user.set_password("a-new-and-long-passphrase-7")
    user.save()
    for key in keys:
        assert _with(api, key).get(ME).status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_the_password_change_page_revokes_tokens_and_applies_the_rules(api, people):
    user = people.kunshan_supervisor
    key = _token(api, user)
    client = Client()
    client.force_login(user)
    weak = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and weak.context["form"].errors["new_password2"]
    assert _with(api, key).get(ME).status_code == 200
    ok = client.post(reverse("password_change"), {
        "old_password": PASSWORD, "new_password1": "lantern-orchid-42", "new_password2": "lantern-orchid-42"})
    assert ok.status_code == 302
    assert _with(api, key).get(ME).status_code == 401


def test_deactivating_a_user_in_the_admin_revokes_their_tokens(api, people):
    user = people.kunshan_supervisor
    key = _token(api, user)
    admin = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    page = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("password", "groups",
                                                                              "user_permissions")}
    data.update({"is_active": "", "last_login_0": "", "last_login_1": "",
                 "date_joined_0": timezone.localtime(user.date_joined).strftime("%Y-%m-%d"),
                 "date_joined_1": timezone.localtime(user.date_joined).strftime("%H:%M:%S"),
                 "org_unit": user.org_unit_id})
    r = client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    user.refresh_from_db()
    assert not user.is_active
    assert not ApiToken.objects.filter(user=user).exists()
    assert _with(api, key).get(ME).status_code == 401


def test_an_inactive_users_token_is_refused_even_if_left_behind(api, people):
    user = people.kunshan_supervisor
    key = _token(api, user)
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert _with(api, key).get(ME).status_code == 401


def test_the_owner_lists_and_revokes_their_own_tokens_only(api, people):
    mine = people.kunshan_supervisor
    first, second = _token(api, mine), _token(api, mine)
    theirs = _token(api, people.changshu_supervisor)
    listed = _with(api, first).get("/api/v1/auth/tokens/").json()
    assert listed["count"] == 2
    assert {row["prefix"] for row in listed["results"]} == {first[:8], second[:8]}
    assert [row["current"] for row in listed["results"] if row["prefix"] == first[:8]] == [True]
    their_id = ApiToken.objects.get(user=people.changshu_supervisor).pk
    assert _with(api, first).delete(f"/api/v1/auth/tokens/{their_id}/").status_code == 404
    assert _with(api, theirs).get(ME).status_code == 200
    second_id = ApiToken.objects.get(user=mine, prefix=second[:8]).pk
    assert _with(api, first).delete(f"/api/v1/auth/tokens/{second_id}/").status_code == 204
    assert _with(api, second).get(ME).status_code == 401
    assert _with(api, first).get(ME).status_code == 200


def test_logout_everywhere_ends_other_sessions_and_revokes_all_tokens(api, people):
    user = people.kunshan_supervisor
    key = _token(api, user)
    other, here, stranger = Client(), Client(), Client()
    other.force_login(user)
    here.force_login(user)
    stranger.force_login(people.changshu_supervisor)
    r = here.post(reverse("accounts:security"), {"confirm": "on"})
    assert r.status_code == 302
    assert here.get(reverse("accounts:security")).status_code == 200
    assert other.get(reverse("accounts:security")).status_code == 302  # back to the login page
    assert stranger.get(reverse("accounts:security")).status_code == 200
    assert _with(api, key).get(ME).status_code == 401
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGOUT_EVERYWHERE)
    assert event.data == {"sessions": 1, "tokens": 1}


def test_logout_everywhere_needs_the_confirmation(people):
    client = Client()
    client.force_login(people.kunshan_supervisor)
    r = client.post(reverse("accounts:security"), {})
    assert r.status_code == 200 and r.context["form"].errors["confirm"]


def test_logout_everywhere_through_the_api(api, people):
    user = people.kunshan_supervisor
    key, other = _token(api, user), _token(api, user)
    r = _with(api, key).post("/api/v1/auth/logout-everywhere/")
    assert r.status_code == 200 and r.json()["tokens"] == 2
    assert _with(api, other).get(ME).status_code == 401


def test_the_security_page_lists_tokens_and_revokes_one(api, people):
    user = people.kunshan_verifier
    key = _token(api, user)
    client = Client()
    client.force_login(user)
    page = client.get(reverse("accounts:security"))
    assert key[:8] in page.content.decode() and key not in page.content.decode()
    token_id = ApiToken.objects.get(user=user).pk
    assert client.post(reverse("accounts:security"), {"action": "revoke", "token": token_id}).status_code == 302
    assert _with(api, key).get(ME).status_code == 401
    # Someone else's token id is not revocable from here.
    theirs, _key = api_token_issue(user=people.changshu_verifier)
    client.post(reverse("accounts:security"), {"action": "revoke", "token": theirs.pk})
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("weak", ["12345678", "password", "11111111", "1234567890", "password123",
                                  "short-pw1", "kunshan_supervisor1"])
def test_weak_passwords_are_refused(people, weak):
    with pytest.raises(ValidationError):
        validate_password(weak, user=people.kunshan_supervisor)


def test_the_demo_password_passes_the_rules_and_the_seed_sets_it(org):
    validate_password("huoyan-demo")
    user = user_upsert(username="demo_user", password="huoyan-demo", role=Role.VERIFIER, org_unit=org.kunshan)
    assert user.check_password("huoyan-demo")
