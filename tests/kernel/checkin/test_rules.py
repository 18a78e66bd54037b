"""The check-in rule language: operators, variables, time windows, entry counts, checking and explanations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from boxoffice.kernel.checkin.rules import RuleContext, RuleError, check_rule, evaluate, explain, uses_entries

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)  # 14:00 in Berlin, a Thursday


def context(**changes: Any) -> RuleContext:
    values: dict[str, Any] = {
        "now": NOW,
        "zone": BERLIN,
        "product": 3,
        "variation": None,
        "gate": None,
        "entries": [],
        "date_from": datetime(2031, 5, 1, 16, 0, tzinfo=UTC),
        "date_to": datetime(2031, 5, 1, 22, 0, tzinfo=UTC),
        "date_admission": datetime(2031, 5, 1, 15, 0, tzinfo=UTC),
    }
    values.update(changes)
    return RuleContext(**values)


def product_in(*ids: str) -> dict[str, Any]:
    return {"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", i, f"P{i}"]} for i in ids]}]}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({}, True),
        (product_in("3", "4"), True),
        (product_in("4"), False),
        ({"!": [product_in("4")]}, True),
        ({"==": [{"var": "product"}, "3"]}, True),
        ({"===": [{"var": "product"}, 3]}, False),
        ({"!=": [1, 2]}, True),
        ({"<": [{"var": "entries_number"}, 1]}, True),
        ({"<=": [1, 2, 3]}, True),
        ({"<": [1, 3, 2]}, False),
        ({">=": [{"var": "now_isoweekday"}, 4]}, True),
        ({"and": [True, {"or": [False, 1]}]}, True),
        ({"if": [False, False, True]}, True),
        ({"in": ["b", ["a", "b"]]}, True),
        ({"==": [{"+": [1, 2]}, 3]}, True),
        ({"==": [{"*": [2, 3]}, {"-": [8, 2]}]}, True),
        ({"==": [{"%": [7, 4]}, 3]}, True),
        ({"==": [{"cat": ["a", 1]}, "a1"]}, True),
        ({"==": [{"max": [1, 5]}, {"min": [5, 9]}]}, True),
    ],
)
def test_operators(rule: dict[str, Any], expected: bool) -> None:
    assert evaluate(rule, context()) is expected


def test_time_windows_with_tolerance() -> None:
    before_admission = {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}]}
    assert not evaluate(before_admission, context())
    # 12:00 UTC is three hours before admission at 15:00 UTC: a tolerance of a bit more lets in, less does not.
    early = {"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 181]}
    assert evaluate(early, context())
    assert not evaluate({"isAfter": [{"var": "now"}, {"buildTime": ["date_admission"]}, 179]}, context())
    assert evaluate({"isBefore": [{"var": "now"}, {"buildTime": ["date_to"]}]}, context())
    assert evaluate({"isBefore": [{"var": "now"}, {"buildTime": ["custom", "2031-05-01T13:00:00Z"]}]}, context())
    # customtime is a time of day in the event's zone: 14:30 Berlin is 12:30 UTC, after "now".
    assert evaluate({"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "14:30"]}]}, context())
    assert not evaluate({"isBefore": [{"var": "now"}, {"buildTime": ["customtime", "13:30"]}]}, context())


def test_entry_counts_by_day_in_the_event_zone() -> None:
    yesterday = NOW - timedelta(days=1)
    # 23:30 UTC on April 30 is already May 1 in Berlin: it counts as today.
    late_last_night = datetime(2031, 4, 30, 23, 30, tzinfo=UTC)
    entries = [yesterday, late_last_night]
    ctx = context(entries=entries)
    assert evaluate({"==": [{"var": "entries_number"}, 2]}, ctx)
    assert evaluate({"==": [{"var": "entries_today"}, 1]}, ctx)
    assert evaluate({"==": [{"var": "entries_days"}, 2]}, ctx)
    assert evaluate({"==": [{"var": "minutes_since_last_entry"}, 750]}, ctx)
    assert evaluate({"==": [{"var": "minutes_since_first_entry"}, 1440]}, ctx)
    assert evaluate({"==": [{"var": "minutes_since_last_entry"}, -1]}, context())
    since = {"entries_since": [{"buildTime": ["custom", "2031-04-30T20:00:00Z"]}]}
    assert evaluate({"==": [since, 1]}, ctx)
    assert evaluate({"==": [{"entries_before": [{"buildTime": ["custom", "2031-04-30T20:00:00Z"]}]}, 1]}, ctx)
    assert evaluate({"==": [{"entries_days_since": [{"buildTime": ["custom", "2031-04-01T00:00:00Z"]}]}, 2]}, ctx)
    assert uses_entries({"and": [True, {"<": [{"var": "entries_today"}, 1]}]})
    assert not uses_entries(product_in("3"))


def test_check_rule_refuses_what_cannot_be_evaluated() -> None:
    check_rule({"and": [product_in("1"), {"buildTime": ["date_from"]}]})
    for rule in ({"frobnicate": []}, {"a": 1, "b": 2}, {"buildTime": ["tomorrow"]}):
        with pytest.raises(RuleError):
            check_rule(rule)
    with pytest.raises(RuleError):
        evaluate({"var": "weather"}, context())


def test_explanations_name_the_failing_parts() -> None:
    rule = {
        "and": [
            product_in("3"),
            {"<": [{"var": "entries_today"}, 1]},
            {"isAfter": [{"var": "now"}, {"buildTime": ["custom", "2031-05-02T08:00:00Z"]}]},
        ]
    }
    text = explain(rule, context(entries=[NOW - timedelta(hours=1)]))
    assert "Below 1 entries today" in text
    assert "Only after 2031-05-02 10:00" in text
    assert "Product" not in text
    assert explain(product_in("9"), context()) == "Product not allowed"
