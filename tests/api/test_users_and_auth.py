from __future__ import annotations

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_token_is_issued_for_good_credentials_and_authenticates(api, people):
    r = api().post("/api/v1/auth/token/", {"username": "kunshan_supervisor", "password": PASSWORD}, format="json")
    assert r.status_code == 200
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    me = client.get("/api/v1/users/me/").json()
    assert me == {
        "id": people.kunshan_supervisor.pk, "username": "kunshan_supervisor",
        "full_name": people.kunshan_supervisor.full_name, "role": "supervisor", "org_unit": "kunshan",
    }


def test_wrong_credentials_get_a_clear_400_in_the_clients_language(api, people):
    body = {"username": "kunshan_supervisor", "password": "nope"}
    r = api().post("/api/v1/auth/token/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400
    assert "unable to log in with provided credentials" in str(r.json()).lower()
    r = api().post("/api/v1/auth/token/", body, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "无法使用提供的认证信息登录" in str(r.json())


def test_users_can_be_filtered_to_find_verifiers(api, people):
    r = api(people.city_supervisor).get("/api/v1/users/?role=verifier&org_unit=kunshan")
    assert {u["username"] for u in r.json()["results"]} == {"kunshan_verifier", "kunshan_verifier2", "office_verifier"}
    r = api(people.city_supervisor).get("/api/v1/users/?username=changshu_v")
    assert [u["username"] for u in r.json()["results"]] == ["changshu_verifier"]
