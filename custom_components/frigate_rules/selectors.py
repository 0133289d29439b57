"""Form selectors shared by the options flow and the rule flow."""

from __future__ import annotations

from collections.abc import Sequence

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


def names(
    options: Sequence[str] | Sequence[selector.SelectOptionDict],
    *,
    translation_key: str | None = None,
) -> selector.SelectSelector:
    """A multiple choice; without a translation key, names not offered can be typed in.

    Options given as value/label pairs keep their order; plain names are sorted.
    """
    config = selector.SelectSelectorConfig(
        options=options,
        multiple=True,
        custom_value=translation_key is None,
        mode=selector.SelectSelectorMode.DROPDOWN,
        sort=translation_key is None and all(isinstance(o, str) for o in options),
    )
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)


def choice(
    options: Sequence[str],
    translation_key: str,
    mode: selector.SelectSelectorMode = selector.SelectSelectorMode.DROPDOWN,
) -> selector.SelectSelector:
    """One of `options`, each labelled by `selector.<translation_key>.options.<option>`."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(options=options, translation_key=translation_key, mode=mode)
    )
