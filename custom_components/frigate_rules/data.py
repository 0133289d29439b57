"""What one loaded entry keeps in `entry.runtime_data`, and the typed entry alias."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import ConfigEntry

from .alerts import AlertManager
from .engine import Engine
from .notifier import Notifier
from .outbound import Outbound


@dataclass
class FrigateRulesData:
    """The live parts of one Frigate instance's entry."""

    engine: Engine
    alerts: AlertManager
    outbound: Outbound
    notifier: Notifier
    # Registry id of the Frigate instance's device, the parent of every rule device.
    entry_device_id: str
    # Entry data and options as set up; a change to these needs a reload, while a
    # change to the subentries (rules) is applied in place.
    setup_config: dict[str, Any] = field(default_factory=dict)


type FrigateRulesConfigEntry = ConfigEntry[FrigateRulesData]
