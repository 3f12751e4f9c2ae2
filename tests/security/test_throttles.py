"""Per-request limits on the doors other programs use: token requests, API-key requests and
wrong API keys get a clear 429 once over their rate (rates are settings)."""

from __future__ import annotations

import pytest

from tests.conftest import SOURCE_KEY
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token/"
INTAKE_URL = "/api/v1/intake/alerts/"


@pytest.fixture
def rates(settings):
    def set_rates(**overrides: str) -> None:
        settings.HUOYAN_THROTTLE_RATES = {**settings.HUOYAN_THROTTLE_RATES, **overrides}

    return set_rates


def _alert(key: str) -> dict:
    return {"dedup_key": key, "title": "t", "risk_level": "red", "org_unit": "kunshan"}


def test_token_requests_from_one_address_are_limited(api, people, rates):
    rates(auth_token="3/min")
    body = {"username": "kunshan_supervisor", "password": PASSWORD}
    codes = [api().post(TOKEN_URL, body, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_the_429_says_what_to_do_in_english_and_chinese(api, people, rates):
    rates(auth_token="1/min")
    body = {"username": "kunshan_supervisor", "password": PASSWORD}
    api().post(TOKEN_URL, body, format="json")
    en = api().post(TOKEN_URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 429 and int(en["Retry-After"]) > 0
    assert en.json()["detail"].startswith("Too many requests: wait ")
    zh = api().post(TOKEN_URL, body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert zh.status_code == 429 and zh.json()["detail"].startswith("请求过于频繁")


def test_api_key_requests_are_limited_per_source_system(api, source, rates):
    rates(api_key="2/min")
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    codes = [client.post(INTAKE_URL, _alert(f"k{i}"), format="json").status_code for i in range(3)]
    assert codes[:2] in ([201, 201], [201, 200]) and codes[2] == 429


def test_wrong_api_keys_are_limited_per_address(api, source, rates):
    rates(api_key_failures="3/hour")
    wrong = api()
    wrong.credentials(HTTP_AUTHORIZATION="Api-Key hy_wrong_key_0000000000000000000")
    codes = [wrong.post(INTAKE_URL, _alert("x"), format="json").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right key from that address waits until the window ends: guessing gains nothing.
    right = api()
    right.credentials(HTTP_AUTHORIZATION=f"Api-Key {SOURCE_KEY}")
    assert right.post(INTAKE_URL, _alert("y"), format="json").status_code == 429


def test_people_using_the_api_are_not_counted_as_a_source(api, people, rates):
    rates(api_key="1/min")
    client = api(people.kunshan_supervisor)
    assert all(client.get("/api/v1/alerts/").status_code == 200 for _ in range(3))


def test_a_spoofed_forwarded_for_header_does_not_escape_the_token_limit(api, people, rates):
    rates(auth_token="2/min")
    body = {"username": "kunshan_supervisor", "password": PASSWORD}
    codes = [api().post(TOKEN_URL, body, format="json", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
             for i in range(3)]
    assert codes == [200, 200, 429]
