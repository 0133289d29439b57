"""The few Home Assistant APIs that differ between 2025.4 (our minimum) and today.

Each shim prefers the current API and falls back to the old one only where the current
one does not exist yet, so that nothing deprecated is called on a current Home
Assistant (HA logs "Detected that custom integration ... calls ..." otherwise, and
those calls break in 2027.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

if TYPE_CHECKING:
    # HA 2026.10 validates with probatio and type-checks against it.
    import probatio as vol
else:
    # At run time `voluptuous` is whatever this HA provides: HA 2026.10 aliases the
    # name to probatio, HA 2025.4 has voluptuous itself. Both run the same schemas.
    import voluptuous as vol

__all__ = [
    "VIA_DEVICE_ID_SUPPORTED",
    "device_config_entry_ids",
    "find_device",
    "link_to_parent",
    "vol",
]

# HA 2026.x: a device links to its parent by registry id; `via_device` (identifiers)
# is deprecated.
VIA_DEVICE_ID_SUPPORTED = "via_device_id" in DeviceInfo.__annotations__


def link_to_parent(
    info: DeviceInfo, parent_id: str, parent_identifier: tuple[str, str]
) -> DeviceInfo:
    """`info` linked to its parent device, in the form this HA version expects."""
    if VIA_DEVICE_ID_SUPPORTED:
        info["via_device_id"] = parent_id
    else:  # pragma: no cover - HA before via_device_id (run on the min venv)
        legacy: dict[str, Any] = info  # type: ignore[assignment]
        legacy["via_device"] = parent_identifier
    return info


def find_device(
    registry: dr.DeviceRegistry, identifier: tuple[str, str], config_entry_id: str
) -> dr.DeviceEntry | None:
    """The device of a config entry with this identifier."""
    by_identifier = getattr(registry, "async_get_device_by_identifier", None)
    if by_identifier is not None:
        device: dr.DeviceEntry | None = by_identifier(identifier, config_entry_id)
        return device
    return registry.async_get_device(identifiers={identifier})  # pragma: no cover - old HA


def device_config_entry_ids(device: object) -> set[str]:
    """The config entries a (child) device belongs to (one, on a current HA)."""
    entry_id = getattr(device, "config_entry_id", None)
    if isinstance(entry_id, str):
        return {entry_id}
    return set(getattr(device, "config_entries", ()))  # pragma: no cover - HA 2025.4
