"""The core must not depend on Home Assistant (DESIGN 3)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).parent.parent / "custom_components" / "frigate_rules" / "core"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_core_has_modules() -> None:
    assert {p.name for p in CORE.glob("*.py")} >= {
        "model.py",
        "frigate.py",
        "buffer.py",
        "rules.py",
        "topics.py",
    }


def test_core_never_imports_homeassistant() -> None:
    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m.split(".")[0] == "homeassistant")
        for path in CORE.glob("*.py")
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_detector_sees_homeassistant_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import homeassistant.core\nfrom homeassistant import const\n")
    assert _imported_modules(sample) == {"homeassistant.core", "homeassistant"}
