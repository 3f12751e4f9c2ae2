"""The per-process copy of the source row found by an API key's prefix (alerts/sources.py):
the hash is compared on every request, and revocation or rotation wins within the TTL."""

from __future__ import annotations

import pytest

from alerts import sources
from alerts.models import Alert, SourceSystem
from alerts.sources import source_system_for_key
from tests.conftest import SOURCE_KEY

pytestmark = pytest.mark.django_db
URL = "/api/v1/intake/alerts/"
SAME_PREFIX_WRONG_SECRET = "hy_testfeed_not-the-secret-at-all-000"


@pytest.fixture
def clock(monkeypatch, settings):
    """A clock the test moves by hand; the TTL is 5 s."""
    settings.HUOYAN_API_KEY_CACHE_SECONDS = 5
    now = [1000.0]
    monkeypatch.setattr(sources, "_clock", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def test_a_kept_source_still_compares_the_hash(source, clock, django_assert_num_queries):
    assert source_system_for_key(SOURCE_KEY).pk == source.pk
    with django_assert_num_queries(0):
        # Same prefix, so the kept row answers, and its hash refuses the wrong secret.
        assert source_system_for_key(SAME_PREFIX_WRONG_SECRET) is None
        assert source_system_for_key(SOURCE_KEY).pk == source.pk


def test_a_wrong_key_is_refused_over_http_after_the_right_one_was_kept(api, source, clock):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    assert client.post(URL, {"dedup_key": "a"}, format="json").status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SAME_PREFIX_WRONG_SECRET}")
    assert client.post(URL, {"dedup_key": "b"}, format="json").status_code == 401
    assert list(Alert.objects.values_list("dedup_key", flat=True)) == ["a"]


def test_deactivation_by_another_process_takes_effect_after_the_ttl(source, clock):
    assert source_system_for_key(SOURCE_KEY) is not None
    # An update that sends no signal to this process, as a change saved by another worker.
    SourceSystem.objects.filter(pk=source.pk).update(is_active=False)
    clock(5.01)
    assert source_system_for_key(SOURCE_KEY) is None


def test_rotation_by_another_process_retires_the_old_key_after_the_ttl(source, clock):
    assert source_system_for_key(SOURCE_KEY) is not None
    new_key = "hy_rotated_0123456789abcdefghijklmnop"
    SourceSystem.objects.filter(pk=source.pk).update(key_prefix=sources._prefix(new_key),
                                                     key_hash=sources._hash(new_key))
    clock(5.01)
    assert source_system_for_key(SOURCE_KEY) is None
    assert source_system_for_key(new_key).pk == source.pk


def test_a_key_rotated_in_the_same_prefix_by_another_process_is_refused_after_the_ttl(source, clock):
    assert source_system_for_key(SOURCE_KEY) is not None
    new_key = "hy_testfeed_a-completely-new-secret-0001"
    SourceSystem.objects.filter(pk=source.pk).update(key_hash=sources._hash(new_key))
    clock(5.01)
    assert source_system_for_key(SOURCE_KEY) is None
    assert source_system_for_key(new_key).pk == source.pk


def test_a_change_saved_in_this_process_takes_effect_at_once(source, clock):
    assert source_system_for_key(SOURCE_KEY) is not None
    sources.source_key_assign(source, "hy_rotated_0123456789abcdefghijklmnop")
    assert source_system_for_key(SOURCE_KEY) is None
    source.is_active = False
    source.save()
    assert source_system_for_key("hy_rotated_0123456789abcdefghijklmnop") is None


def test_a_deleted_source_is_forgotten_at_once(source, clock):
    assert source_system_for_key(SOURCE_KEY) is not None
    source.delete()
    assert source_system_for_key(SOURCE_KEY) is None


def test_each_request_gets_its_own_copy_of_the_kept_row(source, clock):
    first = source_system_for_key(SOURCE_KEY)
    first.name = "changed by a careless caller"
    first.org_unit_id = None
    again = source_system_for_key(SOURCE_KEY)
    assert again.name == source.name and again.org_unit_id == source.org_unit_id


def test_a_ttl_of_zero_reads_the_row_every_time(source, settings, django_assert_num_queries):
    settings.HUOYAN_API_KEY_CACHE_SECONDS = 0
    source_system_for_key(SOURCE_KEY)
    with django_assert_num_queries(1):
        assert source_system_for_key(SOURCE_KEY).pk == source.pk


def test_an_unknown_prefix_is_not_kept(org, clock):
    key = "hy_latecomer_0123456789abcdefghijklmnop"
    assert source_system_for_key(key) is None
    # Created a moment later: it works at once, as no "no such key" was kept.
    sources.source_system_create(code="late", name="Late", org_unit=org.city, key=key)
    SourceSystem.objects.filter(code="late").update(is_active=True)  # no signal: not forgotten by one
    assert source_system_for_key(key) is not None
