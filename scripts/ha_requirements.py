"""Print the PyPI requirements of the integrations a real hass of ours loads.

hass runs with `--skip-pip` in the end-to-end tests, the browser tests and the demo, so
every package an integration it loads needs must already be in the venv; a missing one
shows up late and far away (the UI stuck at "Loading data" because `get_services`
fails on `hassil`). This reads the installed Home Assistant's own manifests: the
integrations bootstrap always loads, those our configurations name, and everything
they depend on (dependencies and after_dependencies, transitively). It prints one
requirement a line, as the manifests pin them, for `pip install -r -`.

Usage: python scripts/ha_requirements.py [EXTRA_DOMAIN ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import homeassistant
from homeassistant import bootstrap

# What our configurations load on top of bootstrap's defaults (scripts/devstack.py's
# configuration.yaml for tests and demo, the demo's extras, and the entries we create).
CONFIGURED = (
    "api",
    "auth",
    "config",
    "frontend",
    "http",
    "onboarding",
    "websocket_api",
    "mqtt",
    "manual",
    "alarm_control_panel",
    "recorder",
    "history",
    "logbook",
    "automation",
    "script",
    "scene",
    "person",
    "sun",
    "system_health",
    "my",
    "template",
    "device_automation",
    "blueprint",
    "conversation",
)
# What finishing onboarding's core_config step sets up, as the browser's onboarding does
# (homeassistant/components/onboarding/views.py); without their packages the demo's
# integrations page shows them as failed.
ONBOARDING = ("google_translate", "met", "radio_browser", "shopping_list")
# Our own manifest's dependencies are read from the repository.
OWN_MANIFEST = (
    Path(__file__).resolve().parents[1] / "custom_components" / "frigate_rules" / "manifest.json"
)


def bootstrap_domains() -> set[str]:
    """What hass sets up without being asked (outside recovery mode)."""
    return set(bootstrap.CORE_INTEGRATIONS) | set(bootstrap.DEFAULT_INTEGRATIONS)


def requirements(domains: set[str]) -> list[str]:
    """Requirements of `domains` and of everything they (after-)depend on."""
    components = Path(homeassistant.__file__).parent / "components"
    seen: set[str] = set()
    found: dict[str, str] = {}
    todo = sorted(domains)
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest_path = components / domain / "manifest.json"
        if not manifest_path.exists():
            continue  # not an integration of this HA version
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for requirement in manifest.get("requirements", ()):
            found.setdefault(requirement.split("==")[0].lower(), requirement)
        todo.extend(manifest.get("dependencies", ()))
        todo.extend(manifest.get("after_dependencies", ()))
    return sorted(found.values(), key=str.lower)


def main(argv: list[str]) -> int:
    own = json.loads(OWN_MANIFEST.read_text(encoding="utf-8"))
    domains = (
        bootstrap_domains()
        | set(CONFIGURED)
        | set(ONBOARDING)
        | set(own["dependencies"])
        | set(argv)
    )
    print("\n".join(requirements(domains)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
