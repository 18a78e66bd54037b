"""Custom check-in rules: pretix's JSON-logic dialect.

A rule is a JSON object whose single key is an operator and whose value is the list of its arguments, nested
freely: ``{"and": [{"inList": [{"var": "product"}, {"objectList": [{"lookup": ["product", "3", "Day pass"]}]}]},
{"<": [{"var": "entries_today"}, 1]}]}``.

Operators: the JSON-logic core (``var``, ``==``, ``===``, ``!=``, ``!==``, ``!``, ``!!``, ``and``, ``or``, ``if``,
``<``, ``<=``, ``>``, ``>=`` (also with three arguments: between), ``in``, ``+``, ``-``, ``*``, ``/``, ``%``,
``min``, ``max``, ``cat``) and the check-in additions:

* ``lookup: [kind, id, label]`` names one product, variation or gate (the id as a string; the label is only for
  people), ``objectList: [lookup, …]`` a set of them and ``inList: [value, objectList]`` tests membership;
* ``buildTime: [kind, value?]`` builds a moment: ``custom`` (an ISO date-time), ``customtime`` (``HH:MM`` today in
  the event's time zone), ``date_from``, ``date_to`` and ``date_admission`` (of the event, or of the ticket's
  date in a series);
* ``isBefore: [a, b, minutes?]`` / ``isAfter: [a, b, minutes?]`` compare moments with a tolerance in minutes;
* ``entries_since`` / ``entries_before`` / ``entries_days_since`` / ``entries_days_before: [moment]`` count the
  ticket's entries (or distinct days with an entry) on this list after or before a moment.

Variables (``{"var": name}``): ``product``, ``variation``, ``gate``, ``now``, ``now_isoweekday`` (1 = Monday),
``entries_number``, ``entries_today``, ``entries_days``, ``minutes_since_last_entry`` and
``minutes_since_first_entry`` (``-1`` before the first entry). "Today" and days are counted in the event's time
zone; entries are the successful entry scans of this ticket on this list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from boxoffice.kernel.i18n import gettext


def localize_moment(moment: datetime, zone: tzinfo) -> datetime:
    """A moment without an offset is meant in the event's time zone."""
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


class RuleError(ValueError):
    """The rule cannot be evaluated: unknown operator, wrong arguments. The message is meant for the organizer."""


@dataclass
class RuleContext:
    """What a rule can look at for one scan."""

    now: datetime
    zone: tzinfo
    product: int
    variation: int | None
    gate: int | None
    # Moments of the ticket's successful entries on the list, oldest first.
    entries: Sequence[datetime]
    date_from: datetime
    date_to: datetime | None
    date_admission: datetime | None
    cache: dict[str, Any] = field(default_factory=dict)
    # The language of explanations (``None``: the current request's).
    locale: str | None = None

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def _to_moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    raise RuleError("A time comparison needs moments (buildTime or the variable now).")


def _minutes(args: Sequence[Any]) -> timedelta:
    if len(args) < 3 or args[2] in (None, ""):
        return timedelta(0)
    try:
        return timedelta(minutes=float(args[2]))
    except (TypeError, ValueError):
        raise RuleError("The tolerance of a time comparison must be a number of minutes.") from None


def _build_time(context: RuleContext, args: Sequence[Any]) -> datetime | None:
    if not args:
        raise RuleError("buildTime needs a kind.")
    kind = args[0]
    if kind == "custom":
        if len(args) < 2 or not isinstance(args[1], str):
            raise RuleError("buildTime custom needs an ISO date-time.")
        try:
            moment = datetime.fromisoformat(args[1].replace("Z", "+00:00"))
        except ValueError:
            raise RuleError(f"buildTime: {args[1]!r} is not an ISO date-time.") from None
        return localize_moment(moment, context.zone)
    if kind == "customtime":
        if len(args) < 2 or not isinstance(args[1], str):
            raise RuleError("buildTime customtime needs a time HH:MM.")
        try:
            clock_time = time.fromisoformat(args[1])
        except ValueError:
            raise RuleError(f"buildTime: {args[1]!r} is not a time HH:MM.") from None
        today = context.local_day(context.now)
        return datetime.combine(today, clock_time.replace(tzinfo=None), tzinfo=context.zone)
    if kind == "date_from":
        return context.date_from
    if kind == "date_to":
        return context.date_to
    if kind == "date_admission":
        return context.date_admission or context.date_from
    raise RuleError(f"buildTime: unknown kind {kind!r}.")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise RuleError(f"{value!r} is not a number.") from None
    if value is None:
        return 0.0
    raise RuleError(f"{value!r} is not a number.")


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) or isinstance(b, datetime):
        return a == b
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(a) == bool(b)
    if isinstance(a, int | float) or isinstance(b, int | float):
        try:
            return _number(a) == _number(b)
        except RuleError:
            return False
    return str(a) == str(b)


def _compare(a: Any, b: Any, operator: str) -> bool:
    left: Any
    right: Any
    if (isinstance(a, datetime) and isinstance(b, datetime)) or (isinstance(a, str) and isinstance(b, str)):
        left, right = a, b
    else:
        left, right = _number(a), _number(b)
    if operator == "<":
        return left < right
    if operator == "<=":
        return left <= right
    if operator == ">":
        return left > right
    return left >= right


def _truthy(value: Any) -> bool:
    if isinstance(value, list | dict | str):
        return len(value) > 0
    return bool(value)


class Evaluator:
    """Evaluates one rule against a :class:`RuleContext`."""

    def __init__(self, context: RuleContext) -> None:
        self.context = context
        self.lazy: dict[str, Callable[[list[Any]], Any]] = {
            "and": self._and,
            "or": self._or,
            "if": self._if,
        }
        self.eager: dict[str, Callable[[list[Any]], Any]] = {
            "var": self._var,
            "==": lambda a: _loose_equal(*self._pair(a)),
            "===": lambda a: self._strict(*self._pair(a)),
            "!=": lambda a: not _loose_equal(*self._pair(a)),
            "!==": lambda a: not self._strict(*self._pair(a)),
            "!": lambda a: not _truthy(a[0] if a else None),
            "!!": lambda a: _truthy(a[0] if a else None),
            "<": lambda a: self._chain(a, "<"),
            "<=": lambda a: self._chain(a, "<="),
            ">": lambda a: _compare(*self._pair(a), ">"),
            ">=": lambda a: _compare(*self._pair(a), ">="),
            "in": self._in,
            "inList": self._in_list,
            "objectList": lambda a: [entry for entry in a if entry is not None],
            "lookup": self._lookup,
            "+": lambda a: sum(_number(v) for v in a),
            "-": lambda a: -_number(a[0]) if len(a) == 1 else _number(a[0]) - _number(a[1]),
            "*": self._product,
            "/": lambda a: self._divide(*self._pair(a)),
            "%": lambda a: self._modulo(*self._pair(a)),
            "min": lambda a: min(_number(v) for v in a) if a else None,
            "max": lambda a: max(_number(v) for v in a) if a else None,
            "cat": lambda a: "".join("" if v is None else str(v) for v in a),
            "buildTime": lambda a: _build_time(self.context, a),
            "isBefore": self._is_before,
            "isAfter": self._is_after,
            "entries_since": lambda a: self._entries(a, since=True, days=False),
            "entries_before": lambda a: self._entries(a, since=False, days=False),
            "entries_days_since": lambda a: self._entries(a, since=True, days=True),
            "entries_days_before": lambda a: self._entries(a, since=False, days=True),
        }

    # --- walking ---------------------------------------------------------------------------------------------------

    def evaluate(self, rule: Any) -> Any:
        if isinstance(rule, list):
            return [self.evaluate(entry) for entry in rule]
        if not isinstance(rule, dict):
            return rule
        if len(rule) != 1:
            raise RuleError("Every rule object has exactly one operator.")
        operator, raw = next(iter(rule.items()))
        args = raw if isinstance(raw, list) else [raw]
        if operator in self.lazy:
            return self.lazy[operator](args)
        handler = self.eager.get(operator)
        if handler is None:
            raise RuleError(f"Unknown operator {operator!r}.")
        return handler([self.evaluate(arg) for arg in args])

    def _and(self, args: list[Any]) -> Any:
        value: Any = True
        for arg in args:
            value = self.evaluate(arg)
            if not _truthy(value):
                return value
        return value

    def _or(self, args: list[Any]) -> Any:
        value: Any = False
        for arg in args:
            value = self.evaluate(arg)
            if _truthy(value):
                return value
        return value

    def _if(self, args: list[Any]) -> Any:
        index = 0
        while index + 1 < len(args):
            if _truthy(self.evaluate(args[index])):
                return self.evaluate(args[index + 1])
            index += 2
        return self.evaluate(args[index]) if index < len(args) else None

    # --- operators -------------------------------------------------------------------------------------------------

    @staticmethod
    def _pair(args: list[Any]) -> tuple[Any, Any]:
        if len(args) < 2:
            raise RuleError("A comparison needs two values.")
        return args[0], args[1]

    @staticmethod
    def _strict(a: Any, b: Any) -> bool:
        return type(a) is type(b) and a == b

    @staticmethod
    def _chain(args: list[Any], operator: str) -> bool:
        if len(args) == 3:
            return _compare(args[0], args[1], operator) and _compare(args[1], args[2], operator)
        return _compare(*Evaluator._pair(args), operator)

    @staticmethod
    def _in(args: list[Any]) -> bool:
        needle, haystack = Evaluator._pair(args)
        if isinstance(haystack, str):
            return str(needle) in haystack
        if isinstance(haystack, list):
            return any(_loose_equal(needle, entry) for entry in haystack)
        return False

    @staticmethod
    def _in_list(args: list[Any]) -> bool:
        needle, haystack = Evaluator._pair(args)
        if not isinstance(haystack, list):
            raise RuleError("inList needs an objectList.")
        return needle is not None and str(needle) in {str(entry) for entry in haystack}

    @staticmethod
    def _lookup(args: list[Any]) -> str | None:
        if len(args) < 2 or args[0] not in ("product", "variation", "gate"):
            raise RuleError("lookup needs a kind (product, variation or gate) and an id.")
        return None if args[1] is None else str(args[1])

    @staticmethod
    def _product(args: list[Any]) -> float:
        result = 1.0
        for value in args:
            result *= _number(value)
        return result

    @staticmethod
    def _divide(a: Any, b: Any) -> float | None:
        divisor = _number(b)
        return None if divisor == 0 else _number(a) / divisor

    @staticmethod
    def _modulo(a: Any, b: Any) -> float | None:
        divisor = _number(b)
        return None if divisor == 0 else _number(a) % divisor

    def _is_before(self, args: list[Any]) -> bool:
        a, b = self._pair(args)
        if a is None or b is None:
            return False
        return _to_moment(a) < _to_moment(b) + _minutes(args)

    def _is_after(self, args: list[Any]) -> bool:
        a, b = self._pair(args)
        if a is None or b is None:
            return False
        return _to_moment(a) > _to_moment(b) - _minutes(args)

    def _entries(self, args: list[Any], *, since: bool, days: bool) -> int:
        if not args or args[0] is None:
            raise RuleError("Counting entries needs a moment (buildTime).")
        moment = _to_moment(args[0])
        chosen = [entry for entry in self.context.entries if (entry >= moment if since else entry < moment)]
        if days:
            return len({self.context.local_day(entry) for entry in chosen})
        return len(chosen)

    # --- variables -------------------------------------------------------------------------------------------------

    def _var(self, args: list[Any]) -> Any:
        name = args[0] if args else ""
        context = self.context
        entries = context.entries
        if name == "product":
            return str(context.product)
        if name == "variation":
            return None if context.variation is None else str(context.variation)
        if name == "gate":
            return None if context.gate is None else str(context.gate)
        if name == "now":
            return context.now
        if name == "now_isoweekday":
            return context.now.astimezone(context.zone).isoweekday()
        if name == "entries_number":
            return len(entries)
        if name == "entries_today":
            today = context.local_day(context.now)
            return sum(1 for entry in entries if context.local_day(entry) == today)
        if name == "entries_days":
            return len({context.local_day(entry) for entry in entries})
        if name == "minutes_since_last_entry":
            return _minutes_since(context.now, entries[-1]) if entries else -1
        if name == "minutes_since_first_entry":
            return _minutes_since(context.now, entries[0]) if entries else -1
        if len(args) > 1:
            return args[1]
        raise RuleError(f"Unknown variable {name!r}.")


def _minutes_since(now: datetime, moment: datetime) -> int:
    return int((now - moment).total_seconds() // 60)


def evaluate(rule: Any, context: RuleContext) -> bool:
    """Whether the scan passes ``rule`` (an empty rule always passes)."""
    if not rule:
        return True
    return _truthy(Evaluator(context).evaluate(rule))


def uses_entries(rule: Any) -> bool:
    """Whether evaluating ``rule`` needs the ticket's earlier entries (so the redeem path loads them only then)."""
    if isinstance(rule, list):
        return any(uses_entries(entry) for entry in rule)
    if not isinstance(rule, dict):
        return False
    for operator, args in rule.items():
        if operator.startswith("entries_"):
            return True
        if operator == "var":
            name = args[0] if isinstance(args, list) and args else args
            if isinstance(name, str) and (name.startswith("entries_") or name.startswith("minutes_since")):
                return True
        if uses_entries(args):
            return True
    return False


KNOWN_OPERATORS = frozenset(
    {
        "var",
        "==",
        "===",
        "!=",
        "!==",
        "!",
        "!!",
        "and",
        "or",
        "if",
        "<",
        "<=",
        ">",
        ">=",
        "in",
        "inList",
        "objectList",
        "lookup",
        "+",
        "-",
        "*",
        "/",
        "%",
        "min",
        "max",
        "cat",
        "buildTime",
        "isBefore",
        "isAfter",
        "entries_since",
        "entries_before",
        "entries_days_since",
        "entries_days_before",
    }
)
MAX_DEPTH = 32


def check_rule(rule: Any, depth: int = 0) -> None:
    """Refuse a rule the evaluator would not understand (unknown operators, malformed objects), when it is saved
    rather than at the gate."""
    if depth > MAX_DEPTH:
        raise RuleError("The rule is nested too deeply.")
    if isinstance(rule, list):
        for entry in rule:
            check_rule(entry, depth + 1)
        return
    if not isinstance(rule, dict) or not rule:
        return
    if len(rule) != 1:
        raise RuleError("Every rule object has exactly one operator.")
    operator, args = next(iter(rule.items()))
    if operator not in KNOWN_OPERATORS:
        raise RuleError(f"Unknown operator {operator!r}.")
    time_kinds = ("custom", "customtime", "date_from", "date_to", "date_admission")
    if operator == "buildTime" and isinstance(args, list) and args and args[0] not in time_kinds:
        raise RuleError(f"buildTime: unknown kind {args[0]!r}.")
    check_rule(args, depth + 1)


# --- explanations ------------------------------------------------------------------------------------------------


def explain(rule: Any, context: RuleContext) -> str:
    """Why ``rule`` refused the scan, in words for door staff (in ``context.locale``): the parts that failed."""
    parts = _failing_parts(rule, context)
    return ", ".join(dict.fromkeys(parts)) or gettext("Custom rule not fulfilled", context.locale)


def _failing_parts(rule: Any, context: RuleContext) -> list[str]:
    if not isinstance(rule, dict) or len(rule) != 1:
        return []
    operator, raw = next(iter(rule.items()))
    args = raw if isinstance(raw, list) else [raw]
    evaluator = Evaluator(context)
    if operator == "and":
        failing: list[str] = []
        for arg in args:
            if not _truthy(evaluator.evaluate(arg)):
                failing += _failing_parts(arg, context) or [_describe(arg, context)]
        return failing
    if operator == "or":
        alternatives = [_describe(arg, context) for arg in args]
        return [_joined("or", alternatives, context)] if alternatives else []
    return [_describe(rule, context)]


# Sentence templates and words of explanations; they are msgids of the kernel catalog (kernel/locale).
COMPARISON_TEMPLATES = {
    "<": "Below {value} {subject}",
    "<=": "At most {value} {subject}",
    ">": "Above {value} {subject}",
    ">=": "At least {value} {subject}",
    "==": "Exactly {value} {subject}",
    "!=": "Not {value} {subject}",
}
VARIABLE_WORDS = {
    "entries_number": "entries",
    "entries_today": "entries today",
    "entries_days": "days with an entry",
    "minutes_since_last_entry": "minutes since the last entry",
    "minutes_since_first_entry": "minutes since the first entry",
    "now_isoweekday": "day of the week",
    "product": "product",
    "variation": "variation",
    "gate": "gate",
    "entries_since": "entries since",
    "entries_before": "entries before",
    "entries_days_since": "days with an entry since",
    "entries_days_before": "days with an entry before",
}


def _joined(operator: str, parts: list[str], context: RuleContext) -> str:
    return gettext(" and " if operator == "and" else " or ", context.locale).join(parts)


def _describe(rule: Any, context: RuleContext) -> str:
    locale = context.locale
    if not isinstance(rule, dict) or len(rule) != 1:
        return gettext("Custom rule", locale)
    operator, raw = next(iter(rule.items()))
    args = raw if isinstance(raw, list) else [raw]
    if operator in ("isBefore", "isAfter") and len(args) >= 2:
        try:
            moment = Evaluator(context).evaluate(args[1])
        except RuleError:
            moment = None
        if isinstance(moment, datetime):
            moment += _minutes(args) if operator == "isBefore" else -_minutes(args)
            shown = moment.astimezone(context.zone).strftime("%Y-%m-%d %H:%M")
            template = "Only before {moment}" if operator == "isBefore" else "Only after {moment}"
            return gettext(template, locale).format(moment=shown)
    if operator == "inList" and args:
        subject = _variable_name(args[0])
        word = gettext(subject, locale) if subject else gettext("value", locale)
        return gettext("{subject} not allowed", locale).format(subject=word[:1].upper() + word[1:])
    if operator in COMPARISON_TEMPLATES and len(args) >= 2:
        subject = _variable_name(args[0]) or _entries_subject(args[0])
        if subject:
            shown = args[1] if not isinstance(args[1], float) else int(args[1])
            return gettext(COMPARISON_TEMPLATES[operator], locale).format(value=shown, subject=gettext(subject, locale))
    if operator == "!":
        return gettext("Not: {rule}", locale).format(rule=_describe(args[0] if args else None, context))
    if operator in ("and", "or"):
        return _joined(operator, [_describe(arg, context) for arg in args], context)
    return gettext("Custom rule", locale)


def _variable_name(value: Any) -> str | None:
    if isinstance(value, dict) and "var" in value:
        name = value["var"][0] if isinstance(value["var"], list) and value["var"] else value["var"]
        return VARIABLE_WORDS.get(str(name), str(name))
    return None


def _entries_subject(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        operator = next(iter(value))
        if operator.startswith("entries_"):
            return VARIABLE_WORDS.get(operator, operator.replace("_", " "))
    return None
