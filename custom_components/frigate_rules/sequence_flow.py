"""The "sequence" config subentry flow: "A then B" across cameras (DESIGN 4.9).

Built like the rule form (form.py): the steps on top (cameras, and zones for the
direction of travel), then what counts, the alarm, and a folded "advanced" panel.
Steps 1 and 2 are required, 3 and 4 optional. Cameras and zones Frigate reported are
offered, as in the rule form.
"""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers import selector

from .const import SUBENTRY_SEQUENCE
from .core.model import Action, OnUnavailable
from .core.ruleconfig import ALARM_DOMAIN, ALARM_STATES, InvalidRule
from .core.sequenceconfig import (
    MAX_STEPS,
    SEQUENCE_DEFAULTS,
    sequence_from_mapping,
    sequence_to_mapping,
)
from .form import Field, Section, flatten, form_schema, place_errors
from .rule_flow import Offers, name_taken, offers
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


class SequenceSubentryFlow(ConfigSubentryFlow):
    """Create or edit one sequence; the entry is never reloaded for it."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a sequence."""
        return await self._async_form("user", user_input, None)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a sequence in place: same subentry, same entity id."""
        return await self._async_form("reconfigure", user_input, self._reconfigure_subentry_id)

    async def _async_form(
        self, step_id: str, user_input: dict[str, Any] | None, sequence_id: str | None
    ) -> SubentryFlowResult:
        entry = self._get_entry()
        if sequence_id is not None:
            values: dict[str, Any] = {**entry.subentries[sequence_id].data}
        else:
            values = {**SEQUENCE_DEFAULTS, "step_1_cameras": [], "step_2_cameras": []}
        errors: dict[str, str] = {}
        expand: set[str] = set()
        if user_input is not None:
            values = flatten(SEQUENCE_FORM, user_input, values)
            try:
                sequence = sequence_from_mapping(sequence_id or "new", values)
            except InvalidRule as err:
                errors, expand = place_errors(SEQUENCE_FORM, err.errors)
            else:
                if name_taken(entry, sequence.name, sequence_id, SUBENTRY_SEQUENCE):
                    errors, expand = place_errors(SEQUENCE_FORM, {"name": "name_taken"})
                else:
                    data = sequence_to_mapping(sequence)
                    if sequence_id is None:
                        return self.async_create_entry(title=sequence.name, data=data)
                    return self.async_update_and_abort(
                        entry, entry.subentries[sequence_id], title=sequence.name, data=data
                    )
        schema = form_schema(SEQUENCE_FORM, offers(entry, values), values, expand)
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)
