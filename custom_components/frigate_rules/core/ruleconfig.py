"""Turn a rule mapping (subentry data, form input, an inline rule) into a valid `Rule`.

One validator serves the config subentry flow, the `simulate` service's inline rule
and the loading of stored subentries, so a rule can never be valid in one place and
invalid in another. Errors name the form field and a translation key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from .model import Action, Aggregation, OnUnavailable, Rule, SubLabelMode, ZoneMatch

RULE_DEFAULTS: dict[str, Any] = {
    "labels": ["person"],
    "zones": [],
    "zone_match": ZoneMatch.ANY.value,
    "within_seconds": 10,
    "min_confidence_pct": 80,
    "aggregation": Aggregation.MAX.value,
    "percentile": 90,
    "on_unavailable": OnUnavailable.TREAT_AS_NO_MATCH.value,
    "include_stationary": False,
    "alarm_entity": None,
    "alarm_states": [],
    "cooldown_seconds": 300,
    "action": Action.NOTIFY.value,
    "sub_label_mode": SubLabelMode.ANY.value,
    "known_sub_labels": [],
    "recognition_wait_seconds": 0,
    "min_dwell_seconds": 0,
}
"""Defaults of the optional fields (DESIGN 4.2, 4.8); `name` and `cameras` have none."""

# Inclusive (low, high) of each numeric field.
RANGES: dict[str, tuple[float, float]] = {
    "within_seconds": (1, 3600),
    "min_confidence_pct": (0, 100),
    "percentile": (1, 100),
    "cooldown_seconds": (0, 86400),
    "recognition_wait_seconds": (0, 30),
    "min_dwell_seconds": (0, 3600),
}

# States an `alarm_control_panel` entity can have. Kept here (core/ cannot import
# Home Assistant) so that a typo such as `armed-away` is refused instead of making a
# rule that can never pass its alarm gate.
ALARM_STATES = (
    "disarmed",
    "armed_home",
    "armed_away",
    "armed_night",
    "armed_vacation",
    "armed_custom_bypass",
    "pending",
    "arming",
    "disarming",
    "triggered",
)

ALARM_DOMAIN = "alarm_control_panel"
_Parser = Callable[[str, object], object]
_ALARM_ENTITY = re.compile(r"alarm_control_panel\.[a-z0-9_]+")


class InvalidRule(ValueError):
    """A rule mapping that cannot become a `Rule`.

    `field` is the form field to flag (or "base") and `error` its translation key;
    `errors` holds every problem found, field -> key, for forms that show them all.
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        self.field, self.error = next(iter(self.errors.items()))
        super().__init__(f"{self.field}: {self.error}")


class _FieldError(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def rule_from_mapping(rule_id: str, data: Mapping[str, Any]) -> Rule:
    """Validate and normalize `data` (DESIGN 4.2 fields) into a `Rule`.

    Missing or None optional fields take `RULE_DEFAULTS`; unknown keys are ignored so
    that data written by a newer version still loads. Raises `InvalidRule` carrying
    every field error found.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        raw = data.get(key)
        if raw is None and key in RULE_DEFAULTS:
            if key == "percentile" and _is_percentile(data.get("aggregation")):
                errors[key] = "percentile_required"
                continue
            raw = RULE_DEFAULTS[key]
        try:
            values[key] = parse(key, raw)
        except _FieldError as err:
            errors[key] = err.error
    _check_combinations(values, errors)
    if errors:
        raise InvalidRule(errors)
    return Rule(rule_id=rule_id, **values)


def rule_to_mapping(rule: Rule) -> dict[str, Any]:
    """Return the JSON-friendly mapping that `rule_from_mapping` turns back into `rule`.

    Used for diagnostics and to pre-fill the reconfigure form; `rule_id` is left out
    because it is the subentry id, not part of the data.
    """
    return {
        "name": rule.name,
        "cameras": list(rule.cameras),
        "labels": list(rule.labels),
        "zones": list(rule.zones),
        "zone_match": rule.zone_match.value,
        "within_seconds": rule.within_seconds,
        "min_confidence_pct": rule.min_confidence_pct,
        "aggregation": rule.aggregation.value,
        "percentile": rule.percentile,
        "on_unavailable": rule.on_unavailable.value,
        "include_stationary": rule.include_stationary,
        "alarm_entity": rule.alarm_entity,
        "alarm_states": list(rule.alarm_states),
        "cooldown_seconds": rule.cooldown_seconds,
        "action": rule.action.value,
        "sub_label_mode": rule.sub_label_mode.value,
        "known_sub_labels": list(rule.known_sub_labels),
        "recognition_wait_seconds": rule.recognition_wait_seconds,
        "min_dwell_seconds": rule.min_dwell_seconds,
    }


def _check_combinations(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Add the cross-field errors, judged only on fields that parsed."""
    if "alarm_entity" not in values:
        return
    entity = values["alarm_entity"]
    if entity is not None and values.get("alarm_states") == ():
        errors["alarm_states"] = "alarm_states_required"
    if entity is None and values.get("action") is Action.ALARM_TRIGGER:
        errors["alarm_entity"] = "alarm_entity_required"


def _is_percentile(raw: object) -> bool:
    return isinstance(raw, str) and raw.strip() == Aggregation.PERCENTILE.value


# --- field parsers -----------------------------------------------------------------


def _name(key: str, raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _FieldError("name_required")
    return raw.strip()


_EMPTY_LIST_ERRORS = {"cameras": "no_cameras", "labels": "no_labels"}


def _names(key: str, raw: object) -> tuple[str, ...]:
    """Parse a list of names: stripped, empties dropped, duplicates removed in order."""
    if isinstance(raw, str):
        raw = [raw]
    elif raw is None:
        raw = []
    if not isinstance(raw, list | tuple):
        raise _FieldError("invalid_value")
    names: dict[str, None] = {}
    for item in raw:
        if not isinstance(item, str):
            raise _FieldError("invalid_value")
        if item := item.strip():
            names[item] = None
    if not names and key in _EMPTY_LIST_ERRORS:
        raise _FieldError(_EMPTY_LIST_ERRORS[key])
    return tuple(names)


def _alarm_states(key: str, raw: object) -> tuple[str, ...]:
    states = _names(key, raw)
    if any(state not in ALARM_STATES for state in states):
        raise _FieldError("invalid_choice")
    return states


def _number(key: str, raw: object) -> float:
    if isinstance(raw, bool):
        raise _FieldError("invalid_value")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise _FieldError("invalid_value") from None
    if not isinstance(raw, int | float):
        raise _FieldError("invalid_value")
    value = float(raw)
    low, high = RANGES[key]
    if not math.isfinite(value) or not low <= value <= high:
        raise _FieldError("out_of_range")
    return value


def _integer(key: str, raw: object) -> int:
    value = _number(key, raw)
    if not value.is_integer():
        raise _FieldError("invalid_value")
    return int(value)


def _bool(key: str, raw: object) -> bool:
    if not isinstance(raw, bool):
        raise _FieldError("invalid_value")
    return raw


def _alarm_entity(key: str, raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise _FieldError("invalid_alarm_entity")
    entity_id = raw.strip()
    if not entity_id:
        return None
    if not _ALARM_ENTITY.fullmatch(entity_id):
        raise _FieldError("invalid_alarm_entity")
    return entity_id


def _choice[E: StrEnum](enum: type[E]) -> _Parser:
    def parse(key: str, raw: object) -> E:
        if isinstance(raw, str):
            try:
                return enum(raw.strip())
            except ValueError:
                pass
        raise _FieldError("invalid_choice")

    return parse


_PARSERS: dict[str, _Parser] = {
    "name": _name,
    "cameras": _names,
    "labels": _names,
    "zones": _names,
    "zone_match": _choice(ZoneMatch),
    "within_seconds": _number,
    "min_confidence_pct": _number,
    "aggregation": _choice(Aggregation),
    "percentile": _integer,
    "on_unavailable": _choice(OnUnavailable),
    "include_stationary": _bool,
    "alarm_entity": _alarm_entity,
    "alarm_states": _alarm_states,
    "cooldown_seconds": _number,
    "action": _choice(Action),
    "sub_label_mode": _choice(SubLabelMode),
    "known_sub_labels": _names,
    "recognition_wait_seconds": _number,
    "min_dwell_seconds": _number,
}
