"""Core budget figures (DESIGN 5, 6): throughput, bytes per observation, many names.

Runs the hot path exactly as the engine does, minus Home Assistant: parse a Frigate
event payload, add it to the buffer, evaluate the rules that watch its camera and
label. Then a publisher inventing a camera name per message (DESIGN 5): ingest rate
and what is left per name once they aged out. Prints figures and ratios against the
budgets; never asserts.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.frigate_rules.core.buffer import DetectionBuffer
from custom_components.frigate_rules.core.fields import Rejected
from custom_components.frigate_rules.core.frigate import parse_event
from custom_components.frigate_rules.core.incremental import CandidateCache
from custom_components.frigate_rules.core.model import Aggregation, Context, Rule
from custom_components.frigate_rules.core.rules import evaluate

BUDGET_MSGS_PER_S = 50_000
BUDGET_BYTES_PER_OBSERVATION = 200
LABELS = ("person", "car", "dog")
ZONES = ("yard", "patio", "driveway", "porch", "street")


def event_payload(event_id: str, camera: str, label: str, frame: float, **after: object) -> bytes:
    """One `frigate/events` update as Frigate 0.14+ sends it."""
    body = {
        "id": event_id,
        "camera": camera,
        "frame_time": frame,
        "label": label,
        "sub_label": None,
        "top_score": 0.8,
        "false_positive": False,
        "start_time": frame,
        "end_time": None,
        "score": 0.8,
        "box": [212, 298, 301, 560],
        "area": 23318,
        "region": [80, 253, 432, 605],
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 0,
        "current_zones": [],
        "entered_zones": [],
        "has_clip": True,
        "has_snapshot": True,
        "attributes": {},
        "current_attributes": [],
    } | after
    kind = "new" if body["position_changes"] == 0 else "update"
    return json.dumps({"type": kind, "before": body, "after": body}).encode()


def make_payloads(count: int, cameras: int, seed: int = 7) -> list[bytes]:
    """Realistic event messages: events of a few seconds each, spread over cameras."""
    rng = random.Random(seed)
    payloads: list[bytes] = []
    frame = 1_718_000_000.0
    while len(payloads) < count:
        camera = f"cam{rng.randrange(cameras):02d}"
        label = rng.choice(LABELS)
        event_id = f"{frame:.6f}-{rng.randrange(36**6):06x}"
        score = rng.randrange(150, 256) / 256
        zones = rng.sample(ZONES, rng.randrange(0, 3))
        for step in range(rng.randrange(3, 15)):
            frame += 0.2
            score = min(1.0, max(0.5, score + rng.randrange(-8, 9) / 256))
            payloads.append(
                event_payload(
                    event_id,
                    camera,
                    label,
                    frame,
                    score=score,
                    top_score=score,
                    position_changes=step,
                    current_zones=zones,
                    entered_zones=zones,
                )
            )
    return payloads[:count]


def make_rules(count: int, cameras: int) -> list[Rule]:
    rules = []
    for index in range(count):
        watched = tuple(f"cam{(index + k) % cameras:02d}" for k in range(2))
        rules.append(
            Rule(
                rule_id=f"r{index}",
                name=f"Rule {index}",
                cameras=watched,
                labels=(LABELS[index % len(LABELS)],),
                zones=(ZONES[index % len(ZONES)],) if index % 2 else (),
                within_seconds=10 + index % 20,
                min_confidence_pct=80 + index % 15,
                aggregation=list(Aggregation)[index % 3],
            )
        )
    return rules


def bench_throughput(
    messages: int, cameras: int, rule_count: int, repeat: int, rate: float
) -> float:
    payloads = make_payloads(messages, cameras)
    rules = make_rules(rule_count, cameras)
    by_camera: dict[str, list[Rule]] = {}
    for rule in rules:
        for camera in rule.cameras:
            by_camera.setdefault(camera, []).append(rule)
    context = Context()
    step = 1 / rate  # receive-time spacing: how busy the site is, not how fast we run
    best = 0.0
    for _ in range(repeat):
        buffer = DetectionBuffer(retention_seconds=600, max_observations=50_000)
        cache = CandidateCache()  # as the engine evaluates
        now = 1_800_000_000.0
        evaluations = 0
        gc.collect()
        start = time.perf_counter()
        for payload in payloads:
            now += step
            observation = parse_event(payload, now)
            if isinstance(observation, Rejected):
                continue
            buffer.add(observation)
            for rule in by_camera.get(observation.camera, ()):
                if observation.label in rule.labels:
                    evaluate(rule, buffer, now, context, cache=cache)
                    evaluations += 1
        elapsed = time.perf_counter() - start
        best = max(best, len(payloads) / elapsed)
    print(
        f"core ingest+evaluate: {best:,.0f} msgs/s (best of {repeat}; {messages} msgs arriving "
        f"at {rate:g}/s, {cameras} cameras, {rule_count} rules, "
        f"{evaluations / len(payloads):.2f} rule "
        f"evaluations/msg)  budget >= {BUDGET_MSGS_PER_S:,}  ratio {best / BUDGET_MSGS_PER_S:.2f}x"
    )
    return best


def ingest(buffer: DetectionBuffer, payloads: list[bytes], now: float, step: float) -> float:
    """Parse and buffer `payloads` received `step` seconds apart after `now`; the last time."""
    for payload in payloads:
        now += step
        observation = parse_event(payload, now)
        if not isinstance(observation, Rejected):
            buffer.add(observation)
    return now


def traced_bytes(work: Callable[[], object]) -> int:
    """Bytes allocated by `work` and still held when it returns (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        work()
        gc.collect()
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return used - base


def bench_memory(count: int, cameras: int) -> float:
    payloads = make_payloads(count, cameras, seed=11)
    buffer = DetectionBuffer(retention_seconds=10**9, max_observations=10**9)
    per = traced_bytes(lambda: ingest(buffer, payloads, 1_800_000_000.0, 0.01)) / len(buffer)
    print(
        f"memory: {per:.0f} bytes per buffered observation ({len(buffer):,} observations, "
        f"tracemalloc)  budget <= {BUDGET_BYTES_PER_OBSERVATION}  "
        f"ratio {per / BUDGET_BYTES_PER_OBSERVATION:.2f}x"
    )
    return per


def bench_names(names: int, max_observations: int) -> tuple[float, float]:
    """A publisher inventing a camera (and zone) name per message (DESIGN 5)."""
    payloads = [
        event_payload(f"e{index}", f"cam{index}", "person", index, current_zones=[f"z{index}"])
        for index in range(names)
    ]
    retention = 600
    start = 1_800_000_000.0
    buffer = DetectionBuffer(retention_seconds=retention, max_observations=max_observations)
    gc.collect()
    began = time.perf_counter()
    ingest(buffer, payloads, start, 0.001)
    rate = names / (time.perf_counter() - began)

    buffer = DetectionBuffer(retention_seconds=retention, max_observations=max_observations)

    def age_out() -> None:
        buffer.prune(ingest(buffer, payloads, start, 0.001) + retention + 1)

    left = traced_bytes(age_out)
    print(
        f"distinct names: {rate:,.0f} msgs/s ingest with a new camera name per message "
        f"({names:,} names, max_observations {max_observations:,}); once all aged out "
        f"{left / 1024:,.0f} KiB left ({left / names:.1f} bytes per name seen; "
        f"the {len(buffer.cameras):,} names kept for the rule form)"
    )
    return rate, left / names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--cameras", type=int, default=20)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--rate",
        type=float,
        default=40.0,
        help="Frigate messages per second of receive time (40: every one of 20 cameras "
        "tracking an object, updated twice a second)",
    )
    parser.add_argument("--memory-observations", type=int, default=100_000)
    parser.add_argument("--names", type=int, default=10_000)
    parser.add_argument("--names-max-observations", type=int, default=1000)
    args = parser.parse_args()
    bench_throughput(args.messages, args.cameras, args.rules, args.repeat, args.rate)
    bench_memory(args.memory_observations, args.cameras)
    bench_names(args.names, args.names_max_observations)


if __name__ == "__main__":
    main()
