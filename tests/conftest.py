"""Shared fixtures: a small org tree (city suzhou, counties kunshan and changshu), one user per
role and unit, a source system with a known key, and API clients logged in as each user.

With HUOYAN_REQUIRE_SERVICES=1 (CI and `make test`) a missing PostgreSQL or Redis fails the run
instead of quietly testing less.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import OrgUnit, Role, User
from alerts.models import SourceSystem
from alerts.sources import clear_source_key_cache, source_system_create
from tests.factories import AlertFactory, OrgUnitFactory, UserFactory
from workflow.calendar import clear_calendar_cache
from workflow.deadlines import clear_policy_cache

SOURCE_KEY = "hy_testfeed_0123456789abcdefghijklmnop"


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("HUOYAN_REQUIRE_SERVICES") != "1":
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        pytest.exit(f"HUOYAN_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL ({engine})", 2)
    import psycopg
    import redis

    db = settings.DATABASES["default"]
    try:
        psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
            dbname="postgres", connect_timeout=5,
        ).close()
    except Exception as exc:  # noqa: BLE001 - any failure means the service is not usable
        pytest.exit(f"PostgreSQL is required but not reachable: {exc}", 2)
    url = os.environ.get("REDIS_URL") or settings.CELERY_BROKER_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.exit(f"Redis is required but not reachable at {url}: {exc}", 2)


def _flush_past_the_audit_trigger() -> None:
    """Transactional tests empty every table between tests with TRUNCATE, which the audit log's
    trigger refuses (audit migration 0005), as it should in production. The test database's
    superuser empties it with triggers off for that one statement (`session_replication_role`
    needs a superuser: the app's role could not do this)."""
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.execute_sql_flush
    if getattr(original, "_huoyan_test_flush", False):
        return

    def execute_sql_flush(self, sql_list):  # noqa: ANN001, ANN202
        with transaction.atomic(using=self.connection.alias):
            with self.connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            original(self, sql_list)

    execute_sql_flush._huoyan_test_flush = True
    execute_sql_flush.original = original
    DatabaseOperations.execute_sql_flush = execute_sql_flush


_flush_past_the_audit_trigger()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # PBKDF2 at full strength costs ~0.2 s a user; tests create many users and test no hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _english_unless_asked(settings) -> None:
    # Assertions read English messages; tests of the Chinese interface ask for zh-hans.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Calendar, deadline policies and source systems found by key prefix are cached per
    # process; a test that edits them must not leak into the next one.
    # Django's cache holds the throttles' counters (api/throttles.py): each test starts at zero.
    clear_calendar_cache()
    clear_policy_cache()
    clear_source_key_cache()
    cache.clear()
    yield
    clear_calendar_cache()
    clear_policy_cache()
    clear_source_key_cache()
    cache.clear()


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class Org:
    city: OrgUnit
    kunshan: OrgUnit
    changshu: OrgUnit
    kunshan_office: OrgUnit


@pytest.fixture
def org(db) -> Org:
    city = OrgUnitFactory(code="suzhou", name="苏州市", level=OrgUnit.Level.CITY)
    kunshan = OrgUnitFactory(code="kunshan", name="昆山市", parent=city)
    changshu = OrgUnitFactory(code="changshu", name="常熟市", parent=city)
    office = OrgUnitFactory(code="kunshan-office", name="昆山一室", parent=kunshan, level=OrgUnit.Level.OFFICE)
    return Org(city, kunshan, changshu, office)


@dataclass
class People:
    city_leader: User
    city_supervisor: User
    kunshan_supervisor: User
    kunshan_verifier: User
    kunshan_verifier2: User
    kunshan_leader: User
    changshu_supervisor: User
    changshu_verifier: User
    changshu_leader: User
    office_verifier: User
    nobody: User  # active, but belongs to no unit


@pytest.fixture
def people(org: Org) -> People:
    def mk(username: str, role: str, unit: OrgUnit | None) -> User:
        return UserFactory(username=username, role=role, org_unit=unit)

    return People(
        city_leader=mk("suzhou_leader", Role.LEADER, org.city),
        city_supervisor=mk("suzhou_supervisor", Role.SUPERVISOR, org.city),
        kunshan_supervisor=mk("kunshan_supervisor", Role.SUPERVISOR, org.kunshan),
        kunshan_verifier=mk("kunshan_verifier", Role.VERIFIER, org.kunshan),
        kunshan_verifier2=mk("kunshan_verifier2", Role.VERIFIER, org.kunshan),
        kunshan_leader=mk("kunshan_leader", Role.LEADER, org.kunshan),
        changshu_supervisor=mk("changshu_supervisor", Role.SUPERVISOR, org.changshu),
        changshu_verifier=mk("changshu_verifier", Role.VERIFIER, org.changshu),
        changshu_leader=mk("changshu_leader", Role.LEADER, org.changshu),
        office_verifier=mk("office_verifier", Role.VERIFIER, org.kunshan_office),
        nobody=mk("nobody", Role.SUPERVISOR, None),
    )


@pytest.fixture
def source(org: Org) -> SourceSystem:
    src, _ = source_system_create(code="demo-feed", name="Demo feed", org_unit=org.city, key=SOURCE_KEY)
    return src


@pytest.fixture
def make_alert(org: Org, source: SourceSystem):
    def make(**kwargs) -> object:
        kwargs.setdefault("org_unit", org.kunshan)
        kwargs.setdefault("source", source)
        return AlertFactory(**kwargs)

    return make


@pytest.fixture
def api():
    """`api(user)` → an APIClient authenticated as `user` (or anonymous with None)."""

    def client_for(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for


# ----- browser tests (pytest-playwright driving Debian's Chromium) -----
CHROMIUM = os.environ.get("HUOYAN_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Debian's Chromium, not a downloaded build; no background networking on a closed machine.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
        ],
    }


# Playwright's sync API runs an event loop in the test thread for the rest of the session (the
# browser is session-scoped), and the test database may be set up or flushed beside it. The ORM
# is only ever used from this thread and the live server's, never from the loop itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_ready(live_server, settings):
    """Use in browser tests: the live server the page talks to."""
    yield live_server
