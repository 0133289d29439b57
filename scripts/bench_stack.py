"""Mosquitto + one real hass for the end-to-end bench, built on the e2e harness.

The dev stack (scripts/devstack) starts, onboards and drives hass the way the e2e
tests do; this module adds what only the bench needs: a websocket that stamps every
event on arrival, the hass process's CPU time, and switching the compared paths on
and off inside one running hass (YAML reloads, config entry disable/enable).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_config import RuleSpec, configuration_yaml, write_yaml

from scripts.devstack import (
    HassClient,
    HassProcess,
    Mosquitto,
    WsClient,
    free_port,
    onboard,
    wait_until_up,
    write_config,
)

START_TIMEOUT = 180.0
USER = ("Bench", "bench", "bench-frigate-rules")
NEEDED = frozenset(
    {
        "http",
        "api",
        "auth",
        "config",
        "onboarding",
        "websocket_api",
        "frontend",
        "mqtt",
        "automation",
        "template",
        "frigate_rules",
    }
)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class StampedWs(WsClient):
    """A websocket client that records `time.perf_counter()` when each event arrives.

    The stamp is taken as the reader task hands the message over, in the bench
    process, on the same clock as the publish stamp.
    """

    stamped: dict[int, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    by_type: dict[str, int] = field(default_factory=dict)

    def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("type") == "event":
            stamp = time.perf_counter()
            self.stamped.setdefault(item["id"], []).append((stamp, item["event"]))
            self.arrived.set()
        super()._dispatch(item)

    async def subscribe(self, event_type: str) -> int:
        """Subscribe to one event type once; its events collect in `stamped[id]`.

        Once: a second subscription would make hass serialize each event twice.
        """
        if event_type not in self.by_type:
            sub = await self.subscribe_events(event_type)
            self.stamped.setdefault(sub, [])
            self.by_type[event_type] = sub
        return self.by_type[event_type]

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Until `condition()` holds (re-checked on every event), or False at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), remaining)
        return True


def cpu_seconds(pid: int) -> float:
    """CPU seconds (utime + stime) of a process (all its threads), from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


@dataclass
class BenchStack:
    """A running broker and hass, onboarded, with an MQTT entry and a frigate_rules entry."""

    workdir: Path
    broker: Mosquitto = field(init=False)
    hass: HassProcess = field(init=False)
    client: HassClient = field(init=False)
    ws: StampedWs = field(init=False)
    entry_id: str = ""

    @property
    def pid(self) -> int:
        """The hass process (HA runs in the launcher's process, no fork)."""
        assert self.hass.process is not None
        return self.hass.process.pid

    async def start(self) -> None:
        """Broker, hass, onboarding, MQTT entry, frigate_rules entry, websocket."""
        self.broker = Mosquitto(workdir=self.workdir / "mosquitto", log_subscriptions=True)
        self.broker.start()
        self.hass = HassProcess(config_dir=self.workdir / "hass", port=free_port())
        write_config(self.hass.config_dir, self.hass.port)  # links the integration
        (self.hass.config_dir / "configuration.yaml").write_text(configuration_yaml(self.hass.port))
        # The YAML with MQTT triggers is only loaded (by reload) once the MQTT entry
        # exists: loaded before it, it would not attach (DESIGN 2).
        write_yaml(self.hass.config_dir, [], [])
        self.hass.start()
        await wait_until_up(self.hass, START_TIMEOUT)
        self.client = HassClient(self.hass.base_url, broker=self.broker)
        await self.client.__aenter__()
        await onboard(self.client, *USER)
        await self.client.wait_until_running(START_TIMEOUT)
        await self.client.create_mqtt_entry(self.broker.host, self.broker.port)
        self.entry_id = await self.client.create_frigate_rules_entry("frigate")
        failures = self.hass.setup_failures(NEEDED)
        if failures:
            raise RuntimeError("integrations failed to set up:\n" + "\n".join(failures))
        self.ws = StampedWs(self.client)
        await self.ws.connect()

    async def stop(self) -> None:
        """Close the clients, stop hass and the broker (whatever got started)."""
        if hasattr(self, "ws"):
            await self.ws.close()
        if hasattr(self, "client"):
            await self.client.close()
        if hasattr(self, "hass"):
            self.hass.stop()
        if hasattr(self, "broker"):
            self.broker.stop()

    def diagnostics(self) -> str:
        """The logs of hass and mosquitto, for a broken run."""
        parts = []
        if hasattr(self, "hass"):
            parts.append(self.hass.diagnostics(120))
        if hasattr(self, "broker"):
            parts.append("--- mosquitto log ---\n" + self.broker.log()[-3000:])
        return "\n".join(parts)

    # -- switching the compared paths ------------------------------------------------

    async def set_yaml(
        self, templates: list[dict[str, Any]], automations: list[dict[str, Any]]
    ) -> None:
        """Replace the bench's template entities and automations and reload both."""
        write_yaml(self.hass.config_dir, templates, automations)
        await self.client.rest_post("/api/services/template/reload")
        await self.client.rest_post("/api/services/automation/reload")

    async def add_rules(self, rules: tuple[RuleSpec, ...]) -> None:
        """Add each rule through the subentry flow, as the UI does."""
        for rule in rules:
            await self.client.create_subentry(self.entry_id, "rule", [rule.subentry_input()])

    async def delete_rules(self) -> None:
        """Delete every rule of the entry."""
        items = await self.ws.command("config_entries/subentries/list", entry_id=self.entry_id)
        for item in items:
            await self.ws.command(
                "config_entries/subentries/delete",
                entry_id=self.entry_id,
                subentry_id=item["subentry_id"],
            )

    async def set_publishing(self, enabled: bool, qos: int = 1) -> None:
        """Set the entry's own MQTT publisher (on/off, QoS) through its options flow."""
        result = await self.client.run_flow(
            "/api/config/config_entries/options/flow",
            {"handler": self.entry_id},
            [
                {
                    "retention_seconds": 600,
                    "max_observations": 50000,
                    "availability_grace_seconds": 180,
                    "publisher": {
                        "publish_enabled": enabled,
                        "base_topic": "frigate_rules",
                        "message_expiry_seconds": 300,
                        "qos": str(qos),
                        "birth_payload": "online",
                        "will_payload": "offline",
                    },
                    "broker": {},
                }
            ],
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"options flow did not finish: {result}")

    async def set_entry_enabled(self, enabled: bool) -> None:
        """Disable (unload: no subscriptions at all) or enable the frigate_rules entry."""
        await self.ws.command(
            "config_entries/disable",
            entry_id=self.entry_id,
            disabled_by=None if enabled else "user",
        )

    async def settle(self, idle_share: float = 0.05, timeout: float = 10.0) -> float:  # noqa: ASYNC109
        """Until hass uses < `idle_share` of a core over 0.5 s; the share last seen."""
        deadline = time.monotonic() + timeout
        while True:
            cpu0, wall0 = cpu_seconds(self.pid), time.monotonic()
            await asyncio.sleep(0.5)
            share = (cpu_seconds(self.pid) - cpu0) / (time.monotonic() - wall0)
            if share < idle_share or time.monotonic() > deadline:
                return share
