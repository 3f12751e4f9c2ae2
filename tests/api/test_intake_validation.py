"""Intake's fast validation of the common shape (`intake_items_validated`) gives exactly the
serializer's validated data, and leaves every other input — above all every invalid one — to the
serializer, so refusals and their messages stay the serializer's own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.models import OrgUnit
from api.serializers.alerts import IntakeItemSerializer, intake_items_validated

pytestmark = pytest.mark.django_db
VALID_ID = "11010519491231002X"
FULL = {"dedup_key": "k1", "title": "同一供应商连续中标", "domain": "procurement", "risk_level": "red",
        "org_unit": "kunshan", "subject": {"name": "某公司", "credit_code": "91320583MA1XXXXX0X"},
        "amount": "12345.67", "occurred_at": "2026-11-20T10:00:00+08:00",
        "details": {"wins": 7, "buyer": "某局", "list": [1, None, {"x": "y"}]}, "rule": "PROC-001"}

ORDINARY = [
    {"dedup_key": "k"},
    FULL,
    {"dedup_key": "  padded  ", "title": "  标题 ", "org_unit": " kunshan-office ", "rule": "   "},
    {"dedup_key": "k", "subject": "  张三 "},
    {"dedup_key": "k", "subject": {"name": "  "}},
    {"dedup_key": "k", "subject": {"credit_code": "91320583MA1XXXXX0X", "ignored": 1}},
    {"dedup_key": "k", "amount": None, "occurred_at": None},
    {"dedup_key": "k", "amount": 12, "details": {}},
    {"dedup_key": "k", "amount": "0.5"},
    {"dedup_key": "k", "unknown_field": {"a": 1}},
    {"dedup_key": "x" * 255, "title": "t" * 255, "rule": "r" * 64},
]
LEFT_TO_THE_SERIALIZER = [
    {"dedup_key": 5},
    {"dedup_key": "k", "title": 7},
    {"dedup_key": "k", "subject": {"name": "张三", "id_number": VALID_ID}},
    {"dedup_key": "k", "rule": 12},
]
INVALID = [
    {}, {"dedup_key": ""}, {"dedup_key": "   "}, {"dedup_key": None}, {"dedup_key": True},
    {"dedup_key": "x" * 256}, {"dedup_key": "k", "title": None}, {"dedup_key": "k", "title": ""},
    {"dedup_key": "k", "title": "bad \ud800 text"}, {"dedup_key": "k", "domain": "astrology"},
    {"dedup_key": "k", "risk_level": "RED"}, {"dedup_key": "k", "risk_level": None},
    {"dedup_key": "k", "org_unit": "nowhere"}, {"dedup_key": "k", "org_unit": ""},
    {"dedup_key": "k", "subject": None}, {"dedup_key": "k", "subject": 5},
    {"dedup_key": "k", "subject": {"id_number": "110105194912310021"}},
    {"dedup_key": "k", "subject": {"name": "x" * 256}},
    {"dedup_key": "k", "amount": "abc"}, {"dedup_key": "k", "amount": "1.234"}, {"dedup_key": "k", "amount": -1},
    {"dedup_key": "k", "amount": "NaN"}, {"dedup_key": "k", "occurred_at": "yesterday"},
    {"dedup_key": "k", "occurred_at": "0001-01-01T00:00:00Z"}, {"dedup_key": "k", "details": [1, 2]},
    {"dedup_key": "k", "details": None}, {"dedup_key": "k", "rule": "r" * 65}, {"dedup_key": "k", "rule": None},
    "just text", None, 5, [],
]


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (("unit", v.pk) if isinstance(v, OrgUnit) else v) for k, v in dict(data).items()}


def _by_serializer(item: Any, source) -> IntakeItemSerializer:
    body = IntakeItemSerializer(data=item, context={"source": source})
    body.is_valid()
    return body


@pytest.mark.parametrize("item", ORDINARY)
def test_the_common_shape_gives_the_serializers_own_result(item, source, org):
    [fast] = intake_items_validated([item], {"source": source})
    body = _by_serializer(item, source)
    assert body.errors == {}
    assert _plain(fast) == _plain(body.validated_data)
    assert type(fast.get("amount")) is type(body.validated_data.get("amount"))


@pytest.mark.parametrize("item", LEFT_TO_THE_SERIALIZER)
def test_unusual_but_valid_input_is_left_to_the_serializer(item, source, org):
    assert intake_items_validated([item], {"source": source}) is None
    assert _by_serializer(item, source).errors == {}


@pytest.mark.parametrize("item", INVALID)
def test_every_invalid_item_is_left_to_the_serializer(item, source, org):
    assert intake_items_validated([{"dedup_key": "fine"}, item], {"source": source}) is None
    assert _by_serializer(item, source).errors


def test_a_unit_outside_the_source_is_left_to_the_serializer(source, org):
    source.org_unit = org.kunshan
    assert intake_items_validated([{"dedup_key": "k", "org_unit": "changshu"}], {"source": source}) is None
    [fast] = intake_items_validated([{"dedup_key": "k"}], {"source": source})
    assert fast["org_unit"] == org.kunshan and fast["title"] == f"{source.name}: k"


def test_details_over_the_size_limit_are_left_to_the_serializer(source, org, settings):
    settings.HUOYAN_INTAKE_MAX_DETAILS_CHARS = 50
    assert intake_items_validated([{"dedup_key": "k", "details": {"x": "y" * 60}}], {"source": source}) is None


def test_amounts_keep_two_decimal_places(source, org):
    [fast] = intake_items_validated([{"dedup_key": "k", "amount": "7"}], {"source": source})
    assert fast["amount"] == Decimal("7.00") and str(fast["amount"]) == "7.00"
