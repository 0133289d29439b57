"""The "sequence" config subentry flow: "A then B" across cameras (DESIGN 4.9).

Built like the rule form (form.py): the steps on top (cameras, and zones for the
direction of travel), then what counts, the alarm, and a folded "advanced" panel.
Steps 1 and 2 are required, 3 and 4 optional. Cameras and zones Frigate reported are
offered, as in the rule form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.helpers import selector

from .const import SUBENTRY_SEQUENCE
from .core.model import Action, Condition, OnUnavailable, Sequence
from .core.ruleconfig import ALARM_DOMAIN, ALARM_STATES
from .core.sequenceconfig import (
    MAX_STEPS,
    SEQUENCE_DEFAULTS,
    sequence_from_mapping,
    sequence_to_mapping,
)
from .form import Field, Section
from .rule_flow import ConditionSubentryFlow, Offers
from .selectors import choice, names, number_box


def _step_fields(step: int) -> tuple[Field[Offers], ...]:
    return (
        Field(
            f"step_{step}_cameras",
            lambda offered: names(offered.cameras),
            required=step <= 2,
            cleared=[],
        ),
        Field(f"step_{step}_zones", lambda offered: names(offered.zone_options()), cleared=[]),
    )


SEQUENCE_FORM: tuple[Section[Offers], ...] = (
    Section(
        "steps",
        (
            Field("name", lambda _: selector.TextSelector(), required=True),
            *(field for step in range(1, MAX_STEPS + 1) for field in _step_fields(step)),
        ),
    ),
    Section(
        "what",
        (
            Field("labels", lambda offered: names(offered.labels)),
            Field("min_confidence_pct", lambda _: number_box("%")),
            Field("within_seconds", lambda _: number_box("s")),
        ),
    ),
    Section(
        "alarm",
        (
            Field(
                "alarm_entity",
                lambda _: selector.EntitySelector(
                    selector.EntitySelectorConfig(domain=ALARM_DOMAIN)
                ),
                cleared=None,
            ),
            Field(
                "alarm_states",
                lambda _: names(list(ALARM_STATES), translation_key="alarm_states"),
                cleared=[],
            ),
            Field("action", lambda _: choice([a.value for a in Action], "action")),
        ),
    ),
    Section(
        "advanced",
        (
            Field("include_stationary", lambda _: selector.BooleanSelector()),
            Field(
                "on_unavailable",
                lambda _: choice([o.value for o in OnUnavailable], "on_unavailable"),
            ),
            Field("cooldown_seconds", lambda _: number_box("s")),
        ),
        collapsed=True,
    ),
)


class SequenceSubentryFlow(ConditionSubentryFlow):
    """The sequence form (`SEQUENCE_FORM`)."""

    subentry_type = SUBENTRY_SEQUENCE
    form = SEQUENCE_FORM

    def defaults(self) -> dict[str, Any]:
        """A new sequence: no camera chosen for the user."""
        return {**SEQUENCE_DEFAULTS, "step_1_cameras": [], "step_2_cameras": []}

    def parse(self, condition_id: str, values: Mapping[str, Any]) -> Condition:
        """A `Sequence` (DESIGN 4.9)."""
        return sequence_from_mapping(condition_id, values)

    def to_mapping(self, condition: Condition) -> dict[str, Any]:
        """The sequence's fields as stored."""
        assert isinstance(condition, Sequence)
        return sequence_to_mapping(condition)
