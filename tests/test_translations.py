"""Every text the integration shows is in strings.json, in German too, and nothing extra.

strings.json is compared, in both directions, with what a running Home Assistant
shows (tests/inventory.py): flow forms and their sections, selector options, errors
and aborts, entities with their states and attributes, services, exceptions and the
device trigger. translations/en.json is strings.json; translations/de.json has every
key of it, translated, with the same placeholders. The values follow hassfest's rules.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules import device_trigger
from custom_components.frigate_rules.core.model import Aggregation, Reason

from .conftest import make_entry, rule_device, rule_subentry, setup_entry
from .inventory import Entity, Form, entities, forms, schema_fields, services

PACKAGE = Path(__file__).parent.parent / "custom_components" / "frigate_rules"
STRINGS: dict[str, Any] = json.loads((PACKAGE / "strings.json").read_text())
GERMAN: dict[str, Any] = json.loads((PACKAGE / "translations" / "de.json").read_text())
CODE = "\n".join(p.read_text() for p in sorted(PACKAGE.rglob("*.py")))
# German words that are the English ones.
SAME_IN_GERMAN = {
    "Aggregation",
    "Alarm",
    "Host",
    "Label",
    "Maximum",
    "MQTT",
    "Name",
    "Optional.",
    "Port",
}


def leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The path of every string in a translation tree."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key)


def at(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


# -- the files ----------------------------------------------------------------------------


def test_english_translation_is_strings_json() -> None:
    assert json.loads((PACKAGE / "translations" / "en.json").read_text()) == STRINGS


def test_german_has_every_key_and_nothing_else() -> None:
    english, german = set(leaves(STRINGS)), set(leaves(GERMAN))
    assert sorted(english - german) == [], "missing in de.json"
    assert sorted(german - english) == [], "in de.json only"


def test_german_is_translated_with_the_same_placeholders() -> None:
    untranslated, placeholders = [], []
    for path in leaves(STRINGS):
        english, german = at(STRINGS, path), at(GERMAN, path)
        if german == english and english not in SAME_IN_GERMAN:
            untranslated.append(".".join(path))
        if _placeholders(german) != _placeholders(english):
            placeholders.append(".".join(path))
    assert untranslated == []
    assert placeholders == []


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# hassfest's translation_value_validator (script/hassfest/translations.py).
_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


@pytest.mark.parametrize(("name", "tree"), [("strings.json", STRINGS), ("de.json", GERMAN)])
def test_values_pass_hassfests_rules(name: str, tree: dict[str, Any]) -> None:
    bad = []
    for path in leaves(tree):
        value = at(tree, path)
        if (
            not value
            or value != value.strip()
            or re.search(r"<[a-z].*?>", value, re.IGNORECASE)  # cv.string_with_no_html
            or re.search(r"'\{\w+\}'", value)
            or _URL.search(value)
            or not all(p.isidentifier() for p in _placeholders(value))
        ):
            bad.append(".".join(path))
    assert bad == []


def test_descriptions_describe_fields_that_exist() -> None:
    """hassfest: data_description keys are data keys; every field is described."""
    problems = []
    for where, step in _steps():
        parts = [(where, step)] + [
            (f"{where}.sections.{name}", part) for name, part in step.get("sections", {}).items()
        ]
        for part_id, part in parts:
            data, described = set(part.get("data", {})), set(part.get("data_description", {}))
            problems += [f"{part_id}: {key} not in data" for key in described - data]
            problems += [f"{part_id}: {key} undescribed" for key in data - described]
        problems += [
            f"{where}.sections.{name}: no name"
            for name, part in step.get("sections", {}).items()
            if "name" not in part
        ]
    assert problems == []
    rule = STRINGS["config_subentries"]["rule"]
    assert {"entry_type", "initiate_flow"} <= set(rule)
    assert {"user", "reconfigure"} <= set(rule["initiate_flow"])


def _steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for flow in ("config", "options"):
        for step_id, step in STRINGS[flow]["step"].items():
            yield f"{flow}.step.{step_id}", step
    for kind, flow in STRINGS["config_subentries"].items():
        for step_id, step in flow["step"].items():
            yield f"config_subentries.{kind}.step.{step_id}", step


# -- what a running Home Assistant shows --------------------------------------------------


@pytest.fixture
async def surface(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> tuple[list[Form], list[Entity], dict[str, dict[str, bool]], str]:
    """Forms, entities, services and the rule's device of a loaded entry with a rule."""
    sequence = {
        "data": {"name": "Drive then door", "step_1_cameras": ["a"], "step_2_cameras": ["b"]},
        "subentry_type": "sequence",
        "title": "Drive then door",
        "unique_id": None,
        "subentry_id": "seq1",
    }
    entry = await setup_entry(
        hass, make_entry(rules=[rule_subentry(subentry_id="rule1"), sequence])
    )
    device = rule_device(hass, entry, "rule1")
    assert device is not None
    shown = await forms(hass, entry, "rule1", "seq1")
    return shown, entities(hass, entry), services(hass), device.id


async def test_every_form_field_and_section_has_texts_and_no_others(surface: Any) -> None:
    shown, _, _, _ = surface
    steps = {".".join(form.strings_path): form for form in shown}
    assert set(steps) == {where for where, _ in _steps()}, "a step without texts, or vice versa"
    for where, form in steps.items():
        texts = at(STRINGS, form.strings_path)
        assert set(texts.get("data", {})) == form.top(), where
        sections = {name: set(part["data"]) for name, part in texts.get("sections", {}).items()}
        assert sections == form.sections(), where


async def test_selector_options_have_texts_and_no_others(surface: Any) -> None:
    shown, _, _, _ = surface
    used: dict[str, set[str]] = {}
    for form in shown:
        for selector in form.selectors():
            config = selector.get("select") or {}
            if "translation_key" in config:
                used.setdefault(config["translation_key"], set()).update(config["options"])
    assert {key: set(value["options"]) for key, value in STRINGS["selector"].items()} == used


def test_errors_and_aborts_are_the_ones_the_code_raises() -> None:
    used = set(re.findall(r'errors\[[^\]]+\] = "([a-z_]+)"', CODE))
    used |= set(re.findall(r'async_abort\(reason="([a-z_]+)"\)', CODE))
    used |= set(re.findall(r'_FieldError\("([a-z_]+)"\)', CODE))
    used |= set(re.findall(r'return \{"base": "([a-z_]+)"\}', CODE))
    assert used, "the scan found nothing; the patterns are out of date"
    known: set[str] = set()
    for flow in (STRINGS["config"], STRINGS["options"], *STRINGS["config_subentries"].values()):
        defined = set(flow.get("error", {})) | set(flow.get("abort", {}))
        # HA's own aborts need no code of ours.
        unused = {key for key in defined - {"already_configured"} if f'"{key}"' not in CODE}
        assert unused == set(), f"texts for errors nothing raises: {unused}"
        known |= defined
    assert used - known == set(), "errors without texts"


async def test_entities_states_and_attributes_have_texts_and_no_others(surface: Any) -> None:
    _, shown, _, _ = surface
    used: dict[str, set[str]] = {}
    for entity in shown:
        assert entity.translation_key is not None, f"{entity.entity_id} has no translation key"
        used.setdefault(entity.platform, set()).add(entity.translation_key)
        texts = STRINGS["entity"][entity.platform][entity.translation_key]
        if entity.options is not None:
            assert set(texts["state"]) == set(entity.options), entity.entity_id
        attributes = set(texts.get("state_attributes", {}))
        assert entity.attributes <= attributes, f"{entity.entity_id}: attributes without texts"
        # Some attributes show only in some states (the publisher's, while it publishes):
        # a text is unused when the code has no such attribute at all.
        assert {key for key in attributes if f'"{key}"' not in CODE} == set(), entity.entity_id
    assert {platform: set(keys) for platform, keys in STRINGS["entity"].items()} == used
    rule = STRINGS["entity"]["binary_sensor"]["rule"]["state_attributes"]
    assert set(rule["reason"]["state"]) == {reason.value for reason in Reason}
    assert set(rule["aggregation"]["state"]) == {aggregation.value for aggregation in Aggregation}


async def test_services_and_their_fields_have_texts_and_no_others(surface: Any) -> None:
    _, _, registered, _ = surface
    assert {
        name: set(service.get("fields", {})) for name, service in STRINGS["services"].items()
    } == {name: set(fields) for name, fields in registered.items()}


def test_exceptions_are_the_ones_the_code_raises() -> None:
    used: set[str] = set()
    for line in re.findall(r"translation_key\s*=\s*(.+)", CODE):
        used |= set(re.findall(r'"([a-z_]+)"', line))
    other = {key for platform in STRINGS["entity"].values() for key in platform}
    other |= set(STRINGS["selector"])
    assert used - other == set(STRINGS["exceptions"])


async def test_the_device_trigger_has_its_texts(hass: HomeAssistant, surface: Any) -> None:
    _, _, _, device_id = surface
    triggers = await device_trigger.async_get_triggers(hass, device_id)
    assert {t["type"] for t in triggers} == set(STRINGS["device_automation"]["trigger_type"])
    capabilities = await device_trigger.async_get_trigger_capabilities(hass, triggers[0])
    extra = set(schema_fields(capabilities["extra_fields"]))
    assert extra == set(STRINGS["device_automation"]["extra_fields"])
    assert "{entity_name}" in STRINGS["device_automation"]["trigger_type"]["alert"]
