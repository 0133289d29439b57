"""Where hass listens: `http:` in configuration.yaml, or HA's own HTTP settings store.

Since 2026.10 Home Assistant keeps its HTTP settings in `.storage/http`. It moves an
`http:` YAML block there once, as a *pending* configuration that someone must confirm
in the UI within five minutes; unconfirmed, HA goes back to port 8123 and restarts
(the demo then dies, a long test run loses its hass). Nobody clicks "Confirm" in a dev
stack, so on such a Home Assistant we write the store ourselves, with our host and
port as the confirmed (stable) configuration and the YAML migration marked done, and
leave `http:` out of the YAML (HA would raise a repair issue about YAML it ignores).
The store is built with the installed HA's own schema and version numbers, so its
format follows the HA version of this venv (hass runs from the same one).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType


def _store_module() -> ModuleType | None:
    """HA's HTTP settings store module, None on a Home Assistant without one."""
    try:
        from homeassistant.components.http import config
    except ImportError:
        return None
    return config if hasattr(config, "KEY_YAML_MIGRATION_DONE") else None


def http_settings(config_dir: Path, host: str, port: int) -> str:
    """Make hass listen on host:port; the YAML to add to configuration.yaml for it.

    Writes `<config_dir>/.storage/http` (and returns "") where HA has that store,
    replacing whatever an earlier run left there; returns an `http:` block otherwise.
    """
    store = _store_module()
    if store is None:
        return f"http:\n  server_host: {host}\n  server_port: {port}\n"
    stable = {
        **store.HTTP_STORAGE_SCHEMA({"server_host": [host], "server_port": port}),
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    document = {
        "version": store.STORAGE_VERSION,
        "minor_version": store.STORAGE_MINOR_VERSION,
        "key": store.STORAGE_KEY,
        "data": {
            store.KEY_STABLE: stable,
            store.KEY_PENDING: None,
            store.KEY_YAML_MIGRATION_DONE: True,
        },
    }
    path = config_dir / ".storage" / store.STORAGE_KEY
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2))
    return ""
