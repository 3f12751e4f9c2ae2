from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt

from audit.models import AuditEvent
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_repeated_failures_lock_the_user_and_ip_until_an_admin_unlocks(api, people, settings):
    client = api()
    url = "/api/v1/auth/token/"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        r = client.post(url, {"username": "kunshan_verifier", "password": "guess"}, format="json")
        assert r.status_code in (400, 403)
    r = client.post(url, {"username": "kunshan_verifier", "password": PASSWORD}, format="json")
    assert r.status_code in (403, 429) and "token" not in r.json()
    assert AuditEvent.objects.filter(action="login_failed", actor="kunshan_verifier").count() >= 5
    # Another user from the same address is not locked out.
    r = client.post(url, {"username": "kunshan_supervisor", "password": PASSWORD}, format="json")
    assert r.status_code == 200
    # The administrator's unlock (what the admin's "access attempts" delete does).
    AccessAttempt.objects.filter(username="kunshan_verifier").delete()
    r = client.post(url, {"username": "kunshan_verifier", "password": PASSWORD}, format="json")
    assert r.status_code == 200


def test_login_starts_a_new_session(client, people):
    client.get("/admin/login/")
    session = client.cookies.get("sessionid")
    before = session.value if session else None
    assert client.login(username="kunshan_verifier", password=PASSWORD)
    assert client.cookies["sessionid"].value != before


def test_sessions_expire_after_inactivity(settings):
    # Sliding expiry by web.middleware.SessionRefreshMiddleware: refreshed well within the age.
    assert "web.middleware.SessionRefreshMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_COOKIE_AGE <= 3600
    assert 0 < settings.SESSION_REFRESH_SECONDS <= settings.SESSION_COOKIE_AGE // 2


def test_pages_carry_a_strict_content_security_policy(client):
    r = client.get("/api/v1/docs/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "<script>" not in r.content.decode().replace(" ", "")
    assert r.headers["X-Frame-Options"] == "DENY"


def test_deploy_check_is_clean_under_production_settings():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**env, "DEBUG": "false", "HUOYAN_HTTPS": "true", "ALLOWED_HOSTS": "huoyan.example.org",
           "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-value-0123456789"}
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
