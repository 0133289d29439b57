"""strings.json is complete, consistent with the code, and shipped as en.json."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).parent.parent / "custom_components" / "frigate_rules"
STRINGS = json.loads((PACKAGE / "strings.json").read_text())


def _steps(section: dict[str, Any]) -> dict[str, Any]:
    return dict(section.get("step", {}))


def _all_step_sections() -> list[tuple[str, dict[str, Any]]]:
    found = [("config", STRINGS["config"]), ("options", STRINGS["options"])]
    found += [
        (f"config_subentries.{name}", section)
        for name, section in STRINGS.get("config_subentries", {}).items()
    ]
    return found


def test_english_translation_is_strings_json() -> None:
    assert json.loads((PACKAGE / "translations" / "en.json").read_text()) == STRINGS


def test_every_field_has_a_description() -> None:
    missing = []
    for where, section in _all_step_sections():
        for step_id, step in _steps(section).items():
            parts = [(step_id, step)] + [
                (f"{step_id}.{name}", sub) for name, sub in step.get("sections", {}).items()
            ]
            for part_id, part in parts:
                data = set(part.get("data", {}))
                described = set(part.get("data_description", {}))
                missing += [f"{where}.{part_id}.{key}" for key in sorted(data - described)]
    assert missing == []


def test_errors_and_aborts_used_in_code_are_translated() -> None:
    known: set[str] = set()
    for _, section in _all_step_sections():
        known |= set(section.get("error", {})) | set(section.get("abort", {}))
    code = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    used = set(re.findall(r'errors\[[^\]]+\] = "([a-z_]+)"', code))
    used |= set(re.findall(r'async_abort\(reason="([a-z_]+)"\)', code))
    used |= set(re.findall(r'_FieldError\("([a-z_]+)"\)', code))
    assert used, "the scan found nothing; the patterns are out of date"
    assert used - known == set()


def test_exception_keys_used_in_code_are_translated() -> None:
    code = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    used = set(re.findall(r'translation_domain=DOMAIN,\s*translation_key="([a-z_]+)"', code))
    assert used
    assert used - set(STRINGS["exceptions"]) == set()


def test_entity_translation_keys_exist() -> None:
    code = "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))
    keys = set(re.findall(r'translation_key\s*=\s*"([a-z_]+)"', code))
    entity_keys = {key for platform in STRINGS["entity"].values() for key in platform}
    other_keys = set(STRINGS["exceptions"]) | set(STRINGS.get("selector", {}))
    assert keys - entity_keys - other_keys == set()


def test_selector_translation_keys_exist() -> None:
    code = "\n".join(p.read_text() for p in PACKAGE.glob("*.py"))
    used = set(re.findall(r'choice\(_values\(\w+\), "([a-z_]+)"\)', code))
    used |= set(re.findall(r'names\(.*translation_key="([a-z_]+)"', code))
    assert {"aggregation", "alarm_states"} <= used
    assert used - set(STRINGS["selector"]) == set()


def test_icons_cover_entity_translation_keys() -> None:
    icons = json.loads((PACKAGE / "icons.json").read_text())
    for platform, entries in icons["entity"].items():
        assert set(entries) <= set(STRINGS["entity"][platform])


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
