"""Latency, publish -> event on a websocket client, of frigate_rules, hand-written, floor.

Each timed sample is one qualifying Frigate message that gives one alert on every
active path: a `new` event (person, 93 %) on the next of the rule's cameras. Then, not
timed, an `update` of the same object at 45 % turns the rule (`latest` < 80 %) and the
template sensor off again, and the next sample waits until that is done (floor event
seen, sensors read `off` over REST) plus a short random pause, so hass is idle when
the next timed message arrives.

Two ways to run the paths, both in the same hass and run, with the same messages:

* together: all three paths active; each message triggers all of them at once;
* isolated: blocks of samples with only one path active (the others unloaded: rule
  entry disabled, templates or automations removed), blocks in rotating order.

Every path has its own websocket connection, so no path's message waits in another
path's send queue.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench_config import (
    EVENT_ALERT,
    EVENT_FLOOR,
    EVENT_HANDWRITTEN,
    FLOOR_AUTOMATION,
    LATENCY_RULE,
    SENTINEL_AUTOMATION,
    TOPIC_EVENTS,
    handwritten_yaml,
)
from bench_mqtt import BenchClient, Echo, event_payload
from bench_stack import BenchStack, StampedWs
from bench_stats import median, ms, percentile, ratio, verdict

HIGH_SCORE = 0.93
LOW_SCORE = 0.45
BROKER = "broker alone"
FLOOR = "HA floor"
HANDWRITTEN = "hand-written"
RULES = "frigate_rules"
HA_PATHS = (FLOOR, HANDWRITTEN, RULES)
EVENTS = {FLOOR: EVENT_FLOOR, HANDWRITTEN: EVENT_HANDWRITTEN, RULES: EVENT_ALERT}
SPIKE_FACTOR = 4.0
BLOCK_WARMUP = 5
BUDGETS = (
    (50, HANDWRITTEN, 0.7),
    (50, FLOOR, 0.9),
    (99, HANDWRITTEN, 1.0),
    (99, FLOOR, 1.0),
)


@dataclass
class Sample:
    """One timed message: publish stamp and each path's arrival (None: timed out)."""

    published: float
    arrivals: dict[str, float | None]

    def latency(self, path: str) -> float | None:
        """Seconds from publish to arrival on `path`."""
        arrival = self.arrivals.get(path)
        return None if arrival is None else arrival - self.published


@dataclass
class Run:
    """The samples of one way of running, with what went wrong."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    timeouts: dict[str, int] = field(default_factory=dict)
    unexpected: int = 0
    seconds: float = 0.0

    def values(self, path: str) -> list[float]:
        """Latencies of `path` over the samples where it arrived."""
        return [v for s in self.samples if (v := s.latency(path)) is not None]


class Latency:
    """Drives the samples; owns one websocket per HA path."""

    def __init__(self, stack: BenchStack, pub: BenchClient, echo: Echo, args: Any) -> None:
        self.stack = stack
        self.pub = pub
        self.echo = echo
        self.args = args
        self.rng = random.Random(args.seed)
        self.ws: dict[str, StampedWs] = {}
        self.active: frozenset[str] = frozenset()
        self.rule_entity = ""
        self.counter = 0

    async def setup(self) -> None:
        """The latency rule and a websocket per path (paths are switched on later)."""
        for path in HA_PATHS:
            ws = StampedWs(self.stack.client)
            await ws.connect()
            await ws.subscribe(EVENTS[path])
            self.ws[path] = ws
        await self.stack.add_rules((LATENCY_RULE,))
        self.active = frozenset(HA_PATHS)  # the entry is loaded; YAML comes next

    async def close(self) -> None:
        """Close the websockets (the CPU part should not pay for them)."""
        for ws in self.ws.values():
            await ws.close()

    def _events(self, path: str) -> list[tuple[float, dict[str, Any]]]:
        ws = self.ws[path]
        return ws.stamped[ws.by_type[EVENTS[path]]]

    async def configure(self, active: frozenset[str]) -> int:
        """Switch the active paths, then probe until each fires; the probes it took."""
        if (RULES in active) != (RULES in self.active):
            await self.stack.set_entry_enabled(RULES in active)
        hand = HANDWRITTEN in active
        templates, automations = handwritten_yaml(
            (LATENCY_RULE,) if hand else (), self.args.handwritten_attrs
        )
        if FLOOR in active:
            automations.append(FLOOR_AUTOMATION)
        await self.stack.set_yaml(templates, [*automations, SENTINEL_AUTOMATION])
        self.active = active
        deadline = time.monotonic() + 60
        probes = 0
        while True:
            probes += 1
            sample = await self.sample(None, timeout=2.0)
            if all(sample.arrivals.get(path) is not None for path in active):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"paths {sorted(active)} did not all fire within 60 s: {sample.arrivals}"
                )
            await asyncio.sleep(0.5)
        await self.stack.settle(timeout=3.0)
        return probes

    async def sample(self, run: Run | None, timeout: float | None = None) -> Sample:  # noqa: ASYNC109
        """One timed message and its untimed reset; recorded in `run` unless None."""
        timeout = self.args.timeout if timeout is None else timeout
        active = self.active
        index = self.counter
        self.counter += 1
        camera = LATENCY_RULE.cameras[index % len(LATENCY_RULE.cameras)]
        event_id = f"{time.time():.6f}-bench{index:05d}"
        high = event_payload(event_id, camera, HIGH_SCORE, "new")
        low = event_payload(event_id, camera, LOW_SCORE, "update")
        base = {path: len(self._events(path)) for path in HA_PATHS}

        async def arrived(path: str) -> None:
            await self.ws[path].wait_for(lambda: len(self._events(path)) > base[path], timeout)

        published = time.perf_counter()
        self.pub.publish(TOPIC_EVENTS, high)
        await asyncio.gather(*(arrived(path) for path in active))
        arrivals: dict[str, float | None] = {}
        for path in active:
            new = self._events(path)[base[path] :]
            if path == RULES:
                new = [e for e in new if e[1]["data"].get("event_id") == event_id]
                if new and not self.rule_entity:
                    self.rule_entity = str(new[0][1]["data"]["entity_id"])
            elif path == HANDWRITTEN and self.args.handwritten_attrs:
                new = [e for e in new if e[1]["data"].get("event_id") == event_id]
            arrivals[path] = new[0][0] if new else None
        complete = all(arrivals[path] is not None for path in active)

        # The untimed reset, and wait until every active path has taken it.
        floor_base = len(self._events(FLOOR))
        self.pub.publish(TOPIC_EVENTS, low)
        if FLOOR in active:
            await self.ws[FLOOR].wait_for(lambda: len(self._events(FLOOR)) > floor_base, timeout)
        sensors = [LATENCY_RULE.sensor_entity_id] if HANDWRITTEN in active else []
        if RULES in active and self.rule_entity:
            sensors.append(self.rule_entity)
        for entity in sensors:
            try:
                await self.stack.client.wait_for_state(
                    entity, lambda s: s["state"] == "off", timeout, interval=0.005
                )
            except TimeoutError:
                complete = False
        # The echo's line may still be on its way through the pipe when hass was fast.
        await self.echo.wait_for(event_id, 0.5)
        arrivals[BROKER] = self.echo.arrivals.get(event_id)
        if run is not None:
            for path in (BROKER, *active):
                if arrivals.get(path) is None:
                    run.timeouts[path] = run.timeouts.get(path, 0) + 1
            expected = {FLOOR: 2, HANDWRITTEN: 1, RULES: 1}
            run.unexpected += sum(
                max(0, len(self._events(p)) - base[p] - expected[p]) for p in active
            )
            run.samples.append(Sample(published, arrivals))
        if not complete:
            await asyncio.sleep(2.0)  # let stragglers land before the next sample's marks
        # hass idle when the next message comes, and no lock step with its timers.
        await asyncio.sleep(self.rng.uniform(0.005, 0.02))
        return Sample(published, arrivals)

    async def together(self) -> Run:
        """All three paths active: every timed message alerts on each of them."""
        probes = await self.configure(frozenset(HA_PATHS))
        print(f"  verified: all three paths fire on one message ({probes} probe(s))")
        for _ in range(self.args.warmup):
            await self.sample(None)
        run = Run("together")
        started = time.monotonic()
        for _ in range(self.args.samples):
            await self.sample(run)
        run.seconds = time.monotonic() - started
        return run

    async def isolated(self) -> Run:
        """Blocks with one path active, in every order of the three paths in turn."""
        run = Run("isolated")
        started = time.monotonic()
        block = max(1, self.args.block)
        rounds = math.ceil(self.args.samples / block)
        orders = list(itertools.permutations(HA_PATHS))
        done = dict.fromkeys(HA_PATHS, 0)
        for round_index in range(rounds):
            for path in orders[round_index % len(orders)]:
                count = min(block, self.args.samples - done[path])
                if count <= 0:
                    continue
                await self.configure(frozenset({path}))
                for _ in range(BLOCK_WARMUP):
                    await self.sample(None)
                for _ in range(count):
                    await self.sample(run)
                done[path] += count
        run.seconds = time.monotonic() - started
        return run


def _stats(values: Sequence[float]) -> dict[int, float]:
    return {p: percentile(values, p) for p in (50, 90, 99, 100)}


def report(run: Run, args: Any) -> None:
    """Percentiles per path, then (together) paired figures and spikes, then the ratios."""
    paths = (BROKER, *HA_PATHS)
    timeouts = ", ".join(f"{p} {run.timeouts.get(p, 0)}" for p in paths)
    print(
        f"\n  latency, {run.name}: publish -> event on a websocket client (ms); "
        f"{len(run.samples)} samples, {run.seconds:.0f} s"
    )
    print(f"  timeouts ({args.timeout:g} s): {timeouts}; unexpected events: {run.unexpected}")
    print(f"  {'path':<16}{'n':>5}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'mean':>8}")
    stats: dict[str, dict[int, float]] = {}
    for path in paths:
        values = run.values(path)
        stats[path] = _stats(values)
        mean = sum(values) / len(values) if values else math.nan
        s = stats[path]
        print(
            f"  {path:<16}{len(values):>5}{ms(s[50]):>8}{ms(s[90]):>8}{ms(s[99]):>8}"
            f"{ms(s[100]):>9}{ms(mean):>8}"
        )
    if run.name == "together":
        _paired(run, stats)
        print(
            "  note: together, one message's work on all three paths runs in one pass of "
            "hass's event loop\n  (MQTT callbacks run inline, automations start as eager "
            "tasks) before its first event is\n  written to a websocket: each path waits "
            "for the others (see the paired differences), so\n  these ratios stay near "
            "1.0 whatever a path costs. Isolated shows each path's own cost."
        )
    _net_of_broker(run)
    print(f"  {'ratio (' + run.name + ')':<34}{'value':>7}  budget")
    for pct, other, budget in BUDGETS:
        value = ratio(stats[RULES][pct], stats[other][pct])
        label = f"p{pct} frigate_rules/{other}"
        print(f"  {label:<34}{value:>6.2f}x  <= {budget:.1f}x  {verdict(value, budget)}")


def _net_of_broker(run: Run) -> None:
    """Each path's time beyond the broker's own delivery of the same message.

    The echo subscriber gets each timed message straight from the broker; a path's
    arrival minus the echo's, sample by sample, is what hass and the websocket add.
    It leaves out the publish and broker time that all paths share (and that moves
    with the machine's load), so it shows whether a ratio moved with hass or not.
    """
    cells = []
    for path in HA_PATHS:
        net = [
            arrival - echo
            for s in run.samples
            if (arrival := s.arrivals.get(path)) is not None
            and (echo := s.arrivals.get(BROKER)) is not None
        ]
        if net:
            cells.append(f"{path} {ms(median(net))}")
    if cells:
        print(f"  beyond the broker, same message, p50 ms: {', '.join(cells)}")


def write_samples(runs: Sequence[Run], path: str) -> None:
    """Every sample's publish stamp and arrivals, one JSON line per sample."""
    with open(path, "w", encoding="utf-8") as out:
        for run in runs:
            for sample in run.samples:
                row = {"mode": run.name, "published": sample.published, **sample.arrivals}
                out.write(json.dumps(row) + "\n")


def _paired(run: Run, stats: dict[str, dict[int, float]]) -> None:
    """Same-message differences, and whether slow samples are slow on every path."""
    full = [s for s in run.samples if all(s.latency(p) is not None for p in HA_PATHS)]

    def lat(sample: Sample, path: str) -> float:
        value = sample.latency(path)
        return math.nan if value is None else value

    for other in (HANDWRITTEN, FLOOR):
        diffs = [lat(s, RULES) - lat(s, other) for s in full]
        first = sum(1 for d in diffs if d < 0)
        print(
            f"  paired, same message: frigate_rules - {other}: median {ms(median(diffs))} ms, "
            f"frigate_rules first in {first}/{len(diffs)}"
        )
    slow = {
        path: {i for i, s in enumerate(full) if lat(s, path) > SPIKE_FACTOR * stats[path][50]}
        for path in HA_PATHS
    }
    together = set.intersection(*slow.values())
    print(
        f"  spikes (> {SPIKE_FACTOR:g}x the path's own p50): "
        + ", ".join(f"{p} {len(slow[p])}" for p in HA_PATHS)
        + f"; in the same sample on all three: {len(together)}"
    )
    worst = sorted(full, key=lambda s: -max(lat(s, p) for p in HA_PATHS))[:5]
    cells = ["/".join(ms(lat(s, p)) for p in HA_PATHS) for s in worst]
    print(f"  slowest samples (floor/hand-written/frigate_rules ms): {'  '.join(cells)}")
