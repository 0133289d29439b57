"""Replaying Frigate fixture files to a broker with scripts/replay.

Part of the dev stack (scripts/devstack/__init__.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .hass import REPLAY, SUBSCRIBED_SUFFIXES, child_env

# -- replay -------------------------------------------------------------------------------


def run_replay(
    files: Sequence[Path],
    port: int,
    speed: float = 0,
    prefix: str = "frigate",
    host: str = "127.0.0.1",
    timeout: float = 120.0,
) -> str:
    """Run scripts/replay to completion with this venv's Python; its output.

    It returns once the broker acknowledged every message (QoS 1).
    """
    proc = subprocess.run(
        [
            str(REPLAY),
            *map(str, files),
            "--host",
            host,
            "--port",
            str(port),
            "--speed",
            str(speed),
            "--prefix",
            prefix,
        ],
        env={**child_env(), "REPLAY_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"scripts/replay failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def fixture_topics(path: Path) -> list[str]:
    """The topic of every line of a fixture file, in order."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line)["topic"] for line in handle if line.strip()]


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching for the single-level wildcard `+` (all we subscribe with)."""
    levels = topic.split("/")
    wanted = topic_filter.split("/")
    return len(levels) == len(wanted) and all(
        w in ("+", t) for w, t in zip(wanted, levels, strict=True)
    )


def count_subscribed(path: Path, prefix: str = "frigate") -> int:
    """How many lines of a fixture go to a topic frigate_rules subscribes to."""
    filters = [f"{prefix}/{suffix}" for suffix in SUBSCRIBED_SUFFIXES]
    return sum(1 for topic in fixture_topics(path) if any(matches(f, topic) for f in filters))
