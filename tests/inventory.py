"""What the integration shows a user, collected from a running Home Assistant.

The translation and packaging tests compare strings.json, icons.json and
services.yaml against this inventory, in both directions: every form field,
section, entity, state, attribute and service field the code shows has its texts,
and every text belongs to something the code shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.frigate_rules.compat import vol
from custom_components.frigate_rules.const import DOMAIN

from .helpers import serialized

# Attributes Home Assistant itself puts on states; not ours to translate.
HA_ATTRIBUTES = {
    "friendly_name",
    "device_class",
    "state_class",
    "unit_of_measurement",
    "options",
    "icon",
    "attribution",
}


@dataclass(frozen=True)
class Form:
    """One flow step's form: where its texts live, its fields and sections."""

    strings_path: tuple[str, ...]  # e.g. ("config_subentries", "rule", "step", "user")
    fields: list[dict[str, Any]]

    def top(self) -> set[str]:
        """Names of the fields outside any section."""
        return {f["name"] for f in self.fields if f.get("type") != "expandable"}

    def sections(self) -> dict[str, set[str]]:
        """Section name -> the names of its fields."""
        return {
            f["name"]: {inner["name"] for inner in f["schema"]}
            for f in self.fields
            if f.get("type") == "expandable"
        }

    def selectors(self) -> Iterator[dict[str, Any]]:
        """Every field's selector, sections included."""
        for field in self.fields:
            for inner in field.get("schema", [field]):
                if "selector" in inner:
                    yield inner["selector"]


async def forms(
    hass: HomeAssistant, entry: MockConfigEntry, rule_id: str, sequence_id: str | None = None
) -> list[Form]:
    """Every form of the config flow, the options flow and the subentry flows."""
    found: list[Form] = []
    flows = hass.config_entries
    for source, context in (
        ("user", {"source": SOURCE_USER}),
        ("reconfigure", {"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}),
    ):
        result = await flows.flow.async_init(DOMAIN, context=context)
        found.append(Form(("config", "step", source), serialized(result)))
        flows.flow.async_abort(result["flow_id"])
    result = await entry.start_reauth_flow(hass)
    found.append(Form(("config", "step", result["step_id"]), serialized(result)))
    flows.flow.async_abort(result["flow_id"])
    result = await flows.options.async_init(entry.entry_id)
    found.append(Form(("options", "step", result["step_id"]), serialized(result)))
    flows.options.async_abort(result["flow_id"])
    for source, context in (
        ("user", {"source": SOURCE_USER}),
        ("reconfigure", {"source": SOURCE_RECONFIGURE, "subentry_id": rule_id}),
    ):
        result = await flows.subentries.async_init((entry.entry_id, "rule"), context=context)
        found.append(Form(("config_subentries", "rule", "step", source), serialized(result)))
        flows.subentries.async_abort(result["flow_id"])
    if sequence_id is not None:
        for source, context in (
            ("user", {"source": SOURCE_USER}),
            ("reconfigure", {"source": SOURCE_RECONFIGURE, "subentry_id": sequence_id}),
        ):
            result = await flows.subentries.async_init(
                (entry.entry_id, "sequence"), context=context
            )
            found.append(
                Form(("config_subentries", "sequence", "step", source), serialized(result))
            )
            flows.subentries.async_abort(result["flow_id"])
    return found


@dataclass(frozen=True)
class Entity:
    """One registered entity of the entry and what its state shows."""

    platform: str
    translation_key: str | None
    entity_id: str
    options: list[str] | None
    attributes: set[str]
    disabled: bool


def entities(hass: HomeAssistant, entry: MockConfigEntry) -> list[Entity]:
    """Every entity of the entry, disabled ones included (without a state then)."""
    found = []
    for item in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id):
        state = hass.states.get(item.entity_id)
        attributes = set(state.attributes) - HA_ATTRIBUTES if state is not None else set()
        options = (item.capabilities or {}).get("options")
        found.append(
            Entity(
                platform=item.domain,
                translation_key=item.translation_key,
                entity_id=item.entity_id,
                options=options,
                attributes=attributes,
                disabled=item.disabled_by is not None,
            )
        )
    return found


def schema_fields(schema: Any) -> dict[str, bool]:
    """A voluptuous/probatio mapping schema's keys -> whether each is required."""
    return {str(key): isinstance(key, vol.Required) for key in schema.schema}


def services(hass: HomeAssistant) -> dict[str, dict[str, bool]]:
    """Our registered services -> their fields -> required."""
    return {
        name: schema_fields(service.schema)
        for name, service in hass.services.async_services_for_domain(DOMAIN).items()
    }
