"""Form selectors shared by the options flow and the rule flow."""

from __future__ import annotations

from homeassistant.helpers import selector


def number_box(unit: str | None = None) -> selector.NumberSelector:
    """A whole-number box without min/max.

    Ranges are checked by the flow step (or the core validator), so that a bad value
    gets a translated field error instead of a generic schema error.
    """
    config = selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=1)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)
