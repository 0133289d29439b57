"""hass CPU per 1,000 Frigate messages: 10 rules vs their 10 hand-written twins.

Same hass, same burst of fixture `events` messages at a fixed rate, one path at a
time: `frigate_rules` (entry loaded with the 10 rules, no bench YAML) or
`hand-written` (entry disabled, i.e. unloaded, 10 template sensors + 10 automations
loaded), plus an idle `baseline` (neither: nothing in hass subscribes to the topic).
Every phase also has the sentinel automation, which tells when hass has handled the
whole burst (MQTT keeps the order). Phases alternate (H F, F H, ...) to cancel drift.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench_config import (
    CPU_RULES,
    EVENT_ALERT,
    EVENT_HANDWRITTEN,
    EVENT_SENTINEL,
    SENTINEL_AUTOMATION,
    TOPIC_EVENTS,
    TOPIC_SENTINEL,
    handwritten_yaml,
)
from bench_mqtt import BenchClient, event_payload, fixture_burst
from bench_stack import BenchStack, cpu_seconds
from bench_stats import ratio, verdict

BASELINE = "baseline"
HANDWRITTEN = "hand-written"
RULES = "frigate_rules"


@dataclass
class CpuPhase:
    """hass CPU over one burst."""

    name: str
    messages: int
    wall: float
    cpu: float
    alerts: int

    @property
    def per_1000(self) -> float:
        """CPU seconds per 1,000 messages."""
        return self.cpu / self.messages * 1000


class Cpu:
    """Runs the bursts; uses the stack's websocket for alerts and the sentinel."""

    def __init__(self, stack: BenchStack, pub: BenchClient, args: Any) -> None:
        self.stack = stack
        self.pub = pub
        self.args = args
        self.payloads = list(fixture_burst(args.cpu_messages))
        self.subs: dict[str, int] = {}

    async def setup(self) -> None:
        """Replace the latency rule by the 10 rules."""
        for name, event in (
            (RULES, EVENT_ALERT),
            (HANDWRITTEN, EVENT_HANDWRITTEN),
            (BASELINE, EVENT_SENTINEL),
        ):
            self.subs[name] = await self.stack.ws.subscribe(event)
        await self.stack.set_entry_enabled(True)
        await self.stack.delete_rules()
        await self.stack.add_rules(CPU_RULES)

    def _count(self, name: str) -> int:
        return len(self.stack.ws.stamped[self.subs[name]])

    async def _sentinel_answered(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Publish one sentinel; whether the sentinel automation fired within `timeout`."""
        base = self._count(BASELINE)
        self.pub.publish(TOPIC_SENTINEL, b"sentinel")
        return await self.stack.ws.wait_for(lambda: self._count(BASELINE) > base, timeout)

    async def _drain(self) -> None:
        """Until hass has handled everything published before the sentinel."""
        if not await self._sentinel_answered(60):
            raise RuntimeError("the sentinel automation did not fire within 60 s")

    async def _sentinel_live(self) -> None:
        """Until the (re)loaded sentinel automation answers.

        Its MQTT subscription is made after the reload returns: a sentinel sent before
        that is lost, and the drain after a burst would wait in vain.
        """
        deadline = time.monotonic() + 60
        while not await self._sentinel_answered(0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinel automation did not answer within 60 s")

    async def configure(self, phase: str) -> None:
        """Switch to one phase's setup and prove it live with a probe alert."""
        templates, automations = handwritten_yaml(
            CPU_RULES if phase == HANDWRITTEN else (), self.args.handwritten_attrs
        )
        await self.stack.set_entry_enabled(phase == RULES)
        await self.stack.set_yaml(templates, [*automations, SENTINEL_AUTOMATION])
        await self._sentinel_live()
        if phase != BASELINE:
            deadline = time.monotonic() + 60
            while True:
                base = self._count(phase)
                event_id = f"{time.time():.6f}-probe"
                high = event_payload(event_id, "backyard", 0.95, "new", zones=("patio",))
                self.pub.publish(TOPIC_EVENTS, high)
                fired = await self.stack.ws.wait_for(
                    lambda base=base: self._count(phase) > base,  # type: ignore[misc]
                    1.0,
                )
                low = event_payload(event_id, "backyard", 0.3, "update", zones=("patio",))
                self.pub.publish(TOPIC_EVENTS, low)
                if fired:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{phase}: no alert from a qualifying probe in 60 s")
        await self._drain()

    async def burst(self, phase: str) -> CpuPhase:
        """CPU from the first publish until hass has handled the sentinel."""
        await self.configure(phase)
        await self.stack.settle()
        alerts = self._count(phase) if phase != BASELINE else 0
        pid = self.stack.pid
        rate = self.args.cpu_rate
        cpu0 = cpu_seconds(pid)
        start = time.perf_counter()
        for index, payload in enumerate(self.payloads):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            self.pub.publish(TOPIC_EVENTS, payload)
        await self._drain()
        cpu = cpu_seconds(pid) - cpu0
        return CpuPhase(
            name=phase,
            messages=len(self.payloads),
            wall=time.perf_counter() - start,
            cpu=cpu,
            alerts=self._count(phase) - alerts if phase != BASELINE else 0,
        )

    async def run(self) -> list[CpuPhase]:
        """Baseline, then rounds of both paths in alternating order."""
        phases = [await self.burst(BASELINE)]
        for round_index in range(self.args.cpu_rounds):
            order = [HANDWRITTEN, RULES] if round_index % 2 == 0 else [RULES, HANDWRITTEN]
            for phase in order:
                phases.append(await self.burst(phase))
        return phases


def report(phases: Sequence[CpuPhase], args: Any) -> None:
    """Per-phase figures, medians, and the budget ratio."""
    print(
        f"\n  CPU of the hass process per 1,000 Frigate messages: {args.cpu_messages} fixture "
        f"`events` messages (looped, fresh ids) at {args.cpu_rate:g}/s, QoS 0; "
        "utime+stime from /proc/<pid>/stat (10 ms ticks)"
    )
    print(f"  {'phase':<16}{'msgs':>6}{'wall s':>8}{'CPU s':>8}{'CPU s/1000':>12}{'alerts':>8}")
    for phase in phases:
        alerts = "-" if phase.name == BASELINE else str(phase.alerts)
        print(
            f"  {phase.name:<16}{phase.messages:>6}{phase.wall:>8.1f}{phase.cpu:>8.2f}"
            f"{phase.per_1000:>12.3f}{alerts:>8}"
        )
    by_name = {
        name: statistics.median([p.per_1000 for p in phases if p.name == name])
        for name in (BASELINE, HANDWRITTEN, RULES)
    }
    base, hand, rules = by_name[BASELINE], by_name[HANDWRITTEN], by_name[RULES]
    value = ratio(rules, hand)
    print(
        f"  median over bursts, CPU s/1000 msgs: frigate_rules {rules:.3f}, "
        f"hand-written {hand:.3f}, idle baseline {base:.3f}"
    )
    print(
        f"  ratio frigate_rules/hand-written {value:.2f}x  budget <= 0.5x  {verdict(value, 0.5)}"
        f"  (net of the idle baseline {ratio(rules - base, hand - base):.2f}x)"
    )
