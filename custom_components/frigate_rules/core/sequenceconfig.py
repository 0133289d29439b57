"""Turn a sequence mapping (subentry data, form input, an inline sequence) into a `Sequence`.

The sequence counterpart of `ruleconfig` (DESIGN 4.9), one validator for the flow,
`simulate` and stored subentries. It reuses the rule fields' parsers and translation
keys, so a field shared with rules is valid for both or for neither; the steps are
flat form fields (`step_<n>_cameras`, `step_<n>_zones`), stored as they come.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Action, OnUnavailable, Sequence, SequenceStep
from .ruleconfig import (
    InvalidRule,
    _alarm_entity,
    _alarm_states,
    _bool,
    _check_combinations,
    _choice,
    _FieldError,
    _name,
    _names,
    _number,
    _Parser,
)

MAX_STEPS = 4
REQUIRED_STEPS = 2
STEP_FIELDS = tuple(
    f"step_{n}_{part}" for n in range(1, MAX_STEPS + 1) for part in ("cameras", "zones")
)

SEQUENCE_DEFAULTS: dict[str, Any] = {
    **{f"step_{n}_cameras": [] for n in range(REQUIRED_STEPS + 1, MAX_STEPS + 1)},
    **{f"step_{n}_zones": [] for n in range(1, MAX_STEPS + 1)},
    "labels": ["person"],
    "within_seconds": 30,
    "min_confidence_pct": 80,
    "on_unavailable": OnUnavailable.TREAT_AS_NO_MATCH.value,
    "include_stationary": False,
    "alarm_entity": None,
    "alarm_states": [],
    "cooldown_seconds": 300,
    "action": Action.NOTIFY.value,
}
"""Defaults of the optional fields; `name` and steps 1-2's cameras have none."""

SEQUENCE_RANGES: dict[str, tuple[float, float]] = {
    "within_seconds": (1, 600),
    "min_confidence_pct": (0, 100),
    "cooldown_seconds": (0, 86400),
}
"""Inclusive ranges; each lies within the rule field's, whose parser checks first."""


class InvalidSequence(InvalidRule):
    """A sequence mapping that cannot become a `Sequence` (errors as `InvalidRule`'s)."""


def sequence_from_mapping(sequence_id: str, data: Mapping[str, Any]) -> Sequence:
    """Validate and normalize `data` (DESIGN 4.9 fields) into a `Sequence`.

    Missing or None optional fields take `SEQUENCE_DEFAULTS`; unknown keys are
    ignored. A step is used when it has cameras or zones: steps 1 and 2 always are,
    and a used step without cameras, or a step 4 without a step 3, flags that step's
    cameras with `no_cameras`; a step at the same cameras and zones as the one before
    it flags its cameras with `same_as_previous_step`. Raises `InvalidSequence`
    carrying every field error.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        raw = data.get(key)
        if raw is None and key in SEQUENCE_DEFAULTS:
            raw = SEQUENCE_DEFAULTS[key]
        try:
            values[key] = parse(key, raw)
        except _FieldError as err:
            errors[key] = err.error
    steps = _steps(values, errors)
    _check_combinations(values, errors)
    if errors:
        raise InvalidSequence({key: errors[key] for key in _PARSERS if key in errors})
    fields = {key: value for key, value in values.items() if key not in STEP_FIELDS}
    return Sequence(sequence_id=sequence_id, steps=steps, **fields)


def sequence_to_mapping(sequence: Sequence) -> dict[str, Any]:
    """Return the JSON-friendly mapping that `sequence_from_mapping` turns back into it.

    Every step field is present (unused steps as empty lists), so the reconfigure
    form clears what a shorter sequence no longer has; the id is the subentry's.
    """
    mapping: dict[str, Any] = {"name": sequence.name}
    for n in range(1, MAX_STEPS + 1):
        step = sequence.steps[n - 1] if n <= len(sequence.steps) else SequenceStep(())
        mapping[f"step_{n}_cameras"] = list(step.cameras)
        mapping[f"step_{n}_zones"] = list(step.zones)
    return mapping | {
        "labels": list(sequence.labels),
        "within_seconds": sequence.within_seconds,
        "min_confidence_pct": sequence.min_confidence_pct,
        "on_unavailable": sequence.on_unavailable.value,
        "include_stationary": sequence.include_stationary,
        "alarm_entity": sequence.alarm_entity,
        "alarm_states": list(sequence.alarm_states),
        "cooldown_seconds": sequence.cooldown_seconds,
        "action": sequence.action.value,
    }


def _steps(values: dict[str, Any], errors: dict[str, str]) -> tuple[SequenceStep, ...]:
    """The used steps, in order; add the errors of missing or incomplete ones."""
    steps: list[SequenceStep] = []
    gap = None
    for n in range(1, MAX_STEPS + 1):
        cameras_key, zones_key = f"step_{n}_cameras", f"step_{n}_zones"
        if cameras_key in errors or zones_key in errors:
            continue
        cameras, zones = values[cameras_key], values[zones_key]
        if not cameras and not zones and n > REQUIRED_STEPS:
            gap = gap or cameras_key
            continue
        if not cameras:
            errors[cameras_key] = "no_cameras"
        elif gap is not None:
            errors[gap] = "no_cameras"
        elif steps and _same_place(steps[-1], cameras, zones):
            # One sighting there would serve both steps: no movement, a mistyped form.
            errors[cameras_key] = "same_as_previous_step"
        else:
            steps.append(SequenceStep(cameras, zones))
    return tuple(steps)


def _same_place(previous: SequenceStep, cameras: tuple[str, ...], zones: tuple[str, ...]) -> bool:
    return set(previous.cameras) == set(cameras) and set(previous.zones) == set(zones)


def _ranged(key: str, raw: object) -> float:
    """A rule number (same coercion and keys), within the sequence's narrower range."""
    value = _number(key, raw)
    low, high = SEQUENCE_RANGES[key]
    if not low <= value <= high:
        raise _FieldError("out_of_range")
    return value


_PARSERS: dict[str, _Parser] = {
    "name": _name,
    # Empty here is fine: `_steps` says which steps need cameras.
    **dict.fromkeys(STEP_FIELDS, _names),
    "labels": _names,
    "within_seconds": _ranged,
    "min_confidence_pct": _ranged,
    "on_unavailable": _choice(OnUnavailable),
    "include_stationary": _bool,
    "alarm_entity": _alarm_entity,
    "alarm_states": _alarm_states,
    "cooldown_seconds": _ranged,
    "action": _choice(Action),
}
