"""The package as HACS and hassfest see it, checked against what the code really does.

Manifest, hacs.json, services.yaml against the registered schemas, icons for every
entity and service, the quality scale's claims, and the brand images.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from packaging.requirements import Requirement
from packaging.version import Version
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.frigate_rules.services import RESET_COOLDOWN_SCHEMA, SIMULATE_SCHEMA

from .conftest import make_entry, rule_subentry, setup_entry
from .inventory import Entity, entities, services

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "frigate_rules"
MANIFEST: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text())
STRINGS: dict[str, Any] = json.loads((PACKAGE / "strings.json").read_text())
ICONS: dict[str, Any] = json.loads((PACKAGE / "icons.json").read_text())
SERVICES_YAML: dict[str, Any] = yaml.safe_load((PACKAGE / "services.yaml").read_text())
QUALITY: dict[str, Any] = yaml.safe_load((PACKAGE / "quality_scale.yaml").read_text())["rules"]
README = (ROOT / "README.md").read_text()


def test_manifest_is_what_hassfest_and_hacs_expect() -> None:
    assert list(MANIFEST)[:2] == ["domain", "name"]
    assert list(MANIFEST)[2:] == sorted(list(MANIFEST)[2:]), "keys after name sorted"
    assert MANIFEST["domain"] == "frigate_rules"
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["dependencies"] == ["mqtt"]
    assert MANIFEST["iot_class"] == "local_push"
    assert MANIFEST["integration_type"] == "service"
    assert MANIFEST["loggers"] == ["custom_components.frigate_rules"]
    assert MANIFEST["codeowners"]
    assert all(re.fullmatch(r"@[\w-]+(/[\w-]+)?", owner) for owner in MANIFEST["codeowners"])
    repository = MANIFEST["documentation"]
    assert re.fullmatch(r"https://github\.com/[\w-]+/[\w-]+", repository)
    assert MANIFEST["issue_tracker"] == f"{repository}/issues"


def test_manifest_version_is_the_projects_and_in_the_changelog() -> None:
    version = Version(MANIFEST["version"])  # raises on anything HACS could not compare
    assert str(version) == MANIFEST["version"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == MANIFEST["version"]
    assert f"\n## {MANIFEST['version']}\n" in (ROOT / "CHANGELOG.md").read_text()


def test_requirements_are_valid_and_met_by_what_we_test_with() -> None:
    assert MANIFEST["requirements"] == ["paho-mqtt>=2.0.0"]
    for line in MANIFEST["requirements"]:
        requirement = Requirement(line)
        assert str(requirement) == line, "written as pip normalizes it"
        installed = importlib.metadata.version(requirement.name)
        assert requirement.specifier.contains(installed), f"{line} vs installed {installed}"


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text())
    allowed = {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "render_readme",
        "hacs",
        "persistent_directory",
    }
    assert set(hacs) <= allowed
    assert hacs == {"name": MANIFEST["name"], "homeassistant": "2025.4.0", "render_readme": True}
    # The declared minimum is the one the min venv tests.
    assert "Home Assistant 2025.4" in (ROOT / "requirements_test_min.txt").read_text()


@pytest.fixture
async def loaded(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> tuple[list[Entity], dict[str, dict[str, bool]]]:
    """Entities and registered services of a loaded entry with one rule."""
    entry = await setup_entry(hass, make_entry(rules=[rule_subentry(subentry_id="rule1")]))
    return entities(hass, entry), services(hass)


async def test_services_yaml_matches_the_registered_schemas(loaded: Any) -> None:
    _, registered = loaded
    assert set(SERVICES_YAML) == set(registered)
    for name, fields in registered.items():
        described = SERVICES_YAML[name]["fields"]
        assert set(described) == set(fields), name
        for field, required in fields.items():
            assert described[field].get("required", False) is required, f"{name}.{field}"
            assert "selector" in described[field], f"{name}.{field} has no selector"
    # Every example is accepted by the service's schema.
    schemas = {"simulate": SIMULATE_SCHEMA, "reset_cooldown": RESET_COOLDOWN_SCHEMA}
    for name, service in SERVICES_YAML.items():
        required = {
            field: yaml.safe_load(str(spec["example"]))
            for field, spec in service["fields"].items()
            if spec.get("required")
        }
        for field, spec in service["fields"].items():
            if "example" in spec:
                schemas[name]({**required, field: yaml.safe_load(str(spec["example"]))})


async def test_every_entity_and_service_has_an_icon(loaded: Any) -> None:
    shown, registered = loaded
    assert set(ICONS["services"]) == set(registered)
    assert all(icon["service"].startswith("mdi:") for icon in ICONS["services"].values())
    used: dict[str, set[str]] = {}
    for entity in shown:
        assert entity.translation_key is not None
        used.setdefault(entity.platform, set()).add(entity.translation_key)
    assert {platform: set(keys) for platform, keys in ICONS["entity"].items()} == used
    for platform, keys in ICONS["entity"].items():
        for key, icon in keys.items():
            assert icon["default"].startswith("mdi:"), f"{platform}.{key}"
            states = set(STRINGS["entity"][platform][key].get("state", {"on", "off"}))
            assert set(icon.get("state", {})) <= states, f"{platform}.{key}"


# hassfest's quality scale rules (script/hassfest/quality_scale.py ALL_RULES).
QUALITY_RULES = {
    "bronze": "action-setup appropriate-polling brands common-modules config-flow "
    "config-flow-test-coverage dependency-transparency docs-actions docs-conditions "
    "docs-high-level-description docs-installation-instructions docs-removal-instructions "
    "docs-triggers entity-event-setup entity-unique-id has-entity-name runtime-data "
    "test-before-configure test-before-setup unique-config-entry",
    "silver": "action-exceptions config-entry-unloading docs-configuration-parameters "
    "docs-installation-parameters entity-unavailable integration-owner log-when-unavailable "
    "parallel-updates reauthentication-flow test-coverage",
    "gold": "devices diagnostics discovery discovery-update-info docs-data-update docs-examples "
    "docs-known-limitations docs-supported-devices docs-supported-functions "
    "docs-troubleshooting docs-use-cases dynamic-devices entity-category "
    "entity-device-class entity-disabled-by-default entity-translations "
    "exception-translations icon-translations reconfiguration-flow repair-issues stale-devices",
    "platinum": "async-dependency inject-websession strict-typing",
}


def status(rule: str) -> str:
    value = QUALITY[rule]
    return str(value["status"] if isinstance(value, dict) else value)


def test_quality_scale_has_every_rule_with_a_valid_status() -> None:
    every = {rule for tier in QUALITY_RULES.values() for rule in tier.split()}
    assert set(QUALITY) == every
    for rule, value in QUALITY.items():
        assert status(rule) in ("done", "todo", "exempt"), rule
        if status(rule) == "exempt":
            assert isinstance(value, dict), f"{rule}: exempt needs a comment"
            assert value["comment"].strip(), f"{rule}: why exempt"


async def test_quality_scale_claims_hold(loaded: Any) -> None:
    shown, _ = loaded
    disabled = [entity.entity_id for entity in shown if entity.disabled]
    assert (status("entity-disabled-by-default") == "done") == bool(disabled)
    test_script = (ROOT / "scripts" / "test").read_text()
    assert status("strict-typing") == "done"
    assert "mypy --strict" in test_script
    assert status("test-coverage") == "done"
    assert "--cov-fail-under=95" in test_script
    assert status("async-dependency") == "done"
    assert "no thread" in QUALITY["async-dependency"]["comment"]
    assert status("inject-websession") == "done"
    assert "async_get_clientsession(hass)" in (PACKAGE / "__init__.py").read_text()
    assert status("reconfiguration-flow") == "done"
    assert "async_step_reconfigure" in (PACKAGE / "config_flow.py").read_text()
    assert status("diagnostics") == "done"
    assert (PACKAGE / "diagnostics.py").exists()
    assert status("integration-owner") == "done"
    assert MANIFEST["codeowners"]
    assert status("brands") == "done"
    assert {p.name for p in (PACKAGE / "brand").glob("*.png")} >= {"icon.png", "logo.png"}


# Each documentation rule and the README heading that meets it.
DOCS = {
    "docs-actions": "## Services",
    "docs-high-level-description": "## What it does",
    "docs-installation-instructions": "## Installation",
    "docs-removal-instructions": "## Removal",
    "docs-triggers": "### Device triggers",
    "docs-configuration-parameters": "## Options",
    "docs-installation-parameters": "## Installation",
    "docs-data-update": "## How data flows",
    "docs-examples": "## Automation examples",
    "docs-known-limitations": "## Known limitations",
    "docs-supported-devices": "## Requirements",
    "docs-supported-functions": "## Entities",
    "docs-troubleshooting": "## Troubleshooting",
    "docs-use-cases": "## What it does",
}


@pytest.mark.parametrize(("rule", "heading"), DOCS.items())
def test_documentation_rules_point_at_readme_sections(rule: str, heading: str) -> None:
    assert status(rule) == "done"
    assert re.search(rf"^{re.escape(heading)}\b", README, re.MULTILINE), heading


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_brand_images_have_the_sizes_home_assistant_asks_for() -> None:
    brand = PACKAGE / "brand"
    for variant in ("", "dark_"):
        assert _png_size(brand / f"{variant}icon.png") == (256, 256)
        assert _png_size(brand / f"{variant}icon@2x.png") == (512, 512)
        width, height = _png_size(brand / f"{variant}logo.png")
        assert height == 128
        assert width > height, "a landscape logo"
        assert _png_size(brand / f"{variant}logo@2x.png") == (width * 2, 256)
