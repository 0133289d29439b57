"""scripts/replay: line handling, timing, and delivery into a real Mosquitto."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.subscribeoptions import SubscribeOptions

from scripts.devstack import Mosquitto, free_port

REPO = Path(__file__).resolve().parents[1]
REPLAY_CMD = REPO / "scripts" / "replay"
FIXTURES = REPO / "tests" / "fixtures"
PERSON = FIXTURES / "a_person_backyard_v017.jsonl"


def _load_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "frigate_replay", REPO / "scripts" / "frigate_replay.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


replay_mod = _load_module()


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override tests/conftest.py's autouse fixture: these tests need no `hass`."""


def raw_lines(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [json.loads(line) for line in handle if line.strip()]


# -- line handling ---------------------------------------------------------------------


def test_object_payload_is_compact_json_and_string_payload_is_verbatim() -> None:
    line = replay_mod.parse_line(
        json.dumps({"topic": "frigate/events", "payload": {"a": [1, 2], "b": "x y"}, "delay_ms": 5})
    )
    assert line.payload == b'{"a":[1,2],"b":"x y"}'
    assert line.retain is False
    assert line.delay_ms == 5.0
    text = replay_mod.parse_line(
        '{"topic": "frigate/available", "payload": " online ", ' '"retain": true}'
    )
    assert text.payload == b" online "
    assert text.retain is True
    assert text.delay_ms == 0.0
    digits = replay_mod.parse_line('{"topic": "frigate/backyard/person", "payload": "1"}')
    assert digits.payload == b"1"


@pytest.mark.parametrize(
    ("topic", "prefix", "expected"),
    [
        ("frigate/events", "frigate", "frigate/events"),
        ("frigate/events", "nvr2", "nvr2/events"),
        ("frigate/backyard/person/active", "a/b", "a/b/backyard/person/active"),
        ("frigate", "nvr2", "nvr2"),
        ("frigatex/events", "nvr2", "frigatex/events"),
        ("other/frigate/events", "nvr2", "other/frigate/events"),
    ],
)
def test_prefix_rewrite_touches_only_the_leading_frigate_segment(
    topic: str, prefix: str, expected: str
) -> None:
    assert replay_mod.rewrite_topic(topic, prefix) == expected
    line = replay_mod.parse_line(json.dumps({"topic": topic, "payload": "x"}), prefix)
    assert line.topic == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"payload": "x"}', "'topic'"),
        ('{"topic": "", "payload": "x"}', "'topic'"),
        ('{"topic": "a"}', "'payload'"),
        ('{"topic": "a", "payload": "x", "delay_ms": -1}', "delay_ms"),
        ('{"topic": "a", "payload": "x", "delay_ms": "10"}', "delay_ms"),
        ('{"topic": "a", "payload": "x", "delay_ms": true}', "delay_ms"),
    ],
)
def test_bad_lines_are_refused_with_their_location(raw: str, message: str) -> None:
    with pytest.raises(replay_mod.FixtureError, match=message) as err:
        replay_mod.parse_line(raw, where="f.jsonl:7")
    assert str(err.value).startswith("f.jsonl:7: ")


def test_load_lines_skips_blank_lines_and_reports_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"topic": "frigate/a", "payload": "1"}\n\n   \n{"topic": 3}\n')
    with pytest.raises(replay_mod.FixtureError, match=rf"{path}:4: "):
        replay_mod.load_lines(path)
    path.write_text(
        '{"topic": "frigate/a", "payload": "1"}\n\n{"topic": "frigate/b", "payload": {}}\n'
    )
    assert [line.topic for line in replay_mod.load_lines(path, "p")] == ["p/a", "p/b"]


def test_every_fixture_loads_with_its_line_count() -> None:
    for path in sorted(FIXTURES.glob("*.jsonl")):
        lines = replay_mod.load_lines(path)
        raw = raw_lines(path)
        assert len(lines) == len(raw), path.name
        assert [line.retain for line in lines] == [bool(r.get("retain")) for r in raw]


# -- timing ----------------------------------------------------------------------------


def _lines(*delays: float) -> list[Any]:
    return [
        replay_mod.ReplayLine(topic=f"t/{i}", payload=b"x", retain=False, delay_ms=d)
        for i, d in enumerate(delays)
    ]


def test_schedule_scales_with_speed_and_zero_means_no_delay() -> None:
    lines = _lines(0, 1000, 500, 0, 250)
    assert replay_mod.schedule(lines, 1) == [0.0, 1.0, 1.5, 1.5, 1.75]
    assert replay_mod.schedule(lines, 2) == [0.0, 0.5, 0.75, 0.75, 0.875]
    assert replay_mod.schedule(lines, 0) == [0.0] * 5
    with pytest.raises(ValueError, match="speed"):
        replay_mod.schedule(lines, -1)


@dataclass
class FakeTime:
    """A clock that only moves when the replay sleeps or a publish takes time."""

    now: float = 100.0
    publish_cost: float = 0.0
    sleeps: list[float] = field(default_factory=list)
    published: list[tuple[str, bytes, bool, float]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self.published.append((topic, payload, retain, self.now))
        self.now += self.publish_cost


def test_replay_publishes_in_order_at_due_times_without_drift() -> None:
    fake = FakeTime(publish_cost=0.1)
    lines = _lines(0, 1000, 0, 2000)
    counts = replay_mod.replay(lines, fake.publish, speed=2, clock=fake.clock, sleep=fake.sleep)
    # Due at +0, +0.5, +0.5, +1.5 s; each publish costs 0.1 s, which is absorbed.
    assert [(t, round(at - 100.0, 6)) for t, _, _, at in fake.published] == [
        ("t/0", 0.0),
        ("t/1", 0.5),
        ("t/2", 0.6),
        ("t/3", 1.5),
    ]
    assert [round(s, 6) for s in fake.sleeps] == [0.4, 0.8]
    assert counts == Counter({"t/0": 1, "t/1": 1, "t/2": 1, "t/3": 1})


def test_replay_at_speed_zero_never_sleeps_and_adds_to_given_counts() -> None:
    fake = FakeTime()
    counts: Counter[str] = Counter({"t/0": 5})
    result = replay_mod.replay(
        _lines(0, 5000, 9000),
        fake.publish,
        speed=0,
        counts=counts,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert result is counts
    assert fake.sleeps == []
    assert counts == Counter({"t/0": 6, "t/1": 1, "t/2": 1})


def test_format_counts_lists_topics_and_total() -> None:
    text = replay_mod.format_counts(Counter({"b/x": 2, "a": 1}))
    assert text.splitlines() == ["     1  a  ", "     2  b/x", "     3  total"]


# -- against a real broker -----------------------------------------------------------------


class Collector:
    """A MQTT 5 subscriber that keeps every message with its retain flag as published."""

    def __init__(self, broker: Mosquitto, topic: str) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Condition()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *_args: subscribed.set()
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._client.subscribe(topic, options=SubscribeOptions(qos=1, retainAsPublished=True))
        assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, _client: Any, _data: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            self._lock.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def collector(broker: Mosquitto) -> Iterator[Collector]:
    sub = Collector(broker, "#")
    yield sub
    sub.close()


def test_fixture_reaches_the_broker_exactly_in_order(
    broker: Mosquitto, collector: Collector, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = replay_mod.main(
        [str(PERSON), "--port", str(broker.port), "--speed", "0", "--prefix", "nvr"]
    )
    assert rc == 0
    raw = raw_lines(PERSON)
    expected = [
        (
            "nvr" + line["topic"][len("frigate") :],
            replay_mod.encode_payload(line["payload"]),
            bool(line["retain"]),
        )
        for line in raw
    ]
    # QoS 1 and a wait per publish: every message is at the broker when main returns.
    assert collector.wait_for(len(expected)) == expected
    events = [json.loads(p) for t, p, _ in collector.messages if t == "nvr/events"]
    assert events == [line["payload"] for line in raw if line["topic"] == "frigate/events"]
    summary = capsys.readouterr().out.splitlines()
    assert summary[-1].split() == [str(len(raw)), "total"]
    per_topic = Counter(topic for topic, _, _ in expected)
    assert f"{per_topic['nvr/events']:6d}  nvr/events" in "\n".join(summary)


def test_retained_lines_are_retained_by_the_broker(broker: Mosquitto) -> None:
    assert replay_mod.main([str(PERSON), "--port", str(broker.port), "--speed", "0"]) == 0
    late = Collector(broker, "frigate/available")  # subscribes after the replay
    try:
        assert late.wait_for(1) == [("frigate/available", b"online", True)]
    finally:
        late.close()


def test_speed_spreads_publishes_over_the_fixture_time(
    tmp_path: Path, broker: Mosquitto, collector: Collector
) -> None:
    path = tmp_path / "slow.jsonl"
    path.write_text(
        "".join(
            json.dumps({"topic": f"frigate/t{i}", "payload": str(i), "delay_ms": 300}) + "\n"
            for i in range(4)
        )
    )
    start = time.monotonic()
    assert replay_mod.main([str(path), "--port", str(broker.port), "--speed", "2"]) == 0
    # 4 x 300 ms at twice the speed: at least 0.6 s (lower bound only; CI is slow).
    assert time.monotonic() - start >= 0.6
    assert [t for t, _, _ in collector.wait_for(4)] == [f"frigate/t{i}" for i in range(4)]


def _run_cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPLAY_CMD), *args],
        env={**os.environ, "REPLAY_PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def test_command_line_replays_and_prints_counts(broker: Mosquitto, collector: Collector) -> None:
    fixture = FIXTURES / "c_reviews_backyard_v017.jsonl"
    proc = _run_cli(str(fixture), "--port", str(broker.port), "--speed", "0")
    assert proc.returncode == 0, proc.stderr
    raw = raw_lines(fixture)
    assert len(collector.wait_for(len(raw))) == len(raw)
    counts = Counter(line["topic"] for line in raw)
    lines = proc.stdout.splitlines()
    assert lines[-1].split() == [str(len(raw)), "total"]
    assert sorted(tuple(line.split()[::-1]) for line in lines[:-1]) == sorted(
        (topic, str(n)) for topic, n in counts.items()
    )


def test_command_line_reports_unreachable_broker_and_bad_files(
    tmp_path: Path, socket_enabled: None
) -> None:
    port = free_port()
    proc = _run_cli(str(PERSON), "--port", str(port))
    assert proc.returncode == 1
    assert f"cannot connect to 127.0.0.1:{port}" in proc.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"topic": "frigate/a", "payload": "1"}\nnope\n')
    proc = _run_cli(str(bad), "--port", str(port))
    assert proc.returncode == 2
    assert f"{bad}:2: not JSON" in proc.stderr
    proc = _run_cli(str(PERSON), "--speed", "-1")
    assert proc.returncode == 2
    assert "--speed must be >= 0" in proc.stderr


def _ignore_sigint() -> None:
    """Start the child the way a background job starts: SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_loop_repeats_until_interrupted_and_reports_what_it_sent(
    broker: Mosquitto, collector: Collector, sig: signal.Signals
) -> None:
    fixture = FIXTURES / "c_reviews_backyard_v017.jsonl"
    per_round = len(raw_lines(fixture))
    proc = subprocess.Popen(
        [str(REPLAY_CMD), str(fixture), "--port", str(broker.port), "--speed", "0", "--loop"],
        env={**os.environ, "REPLAY_PYTHON": sys.executable},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,  # noqa: PLW1509 - one signal() call, no locks
    )
    try:
        assert len(collector.wait_for(3 * per_round)) >= 3 * per_round
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    total = int(out.splitlines()[-1].split()[0])
    # Counts are of acknowledged publishes; the signal may land between a PUBACK and the
    # count, so at most the one publish in flight is missing from the tally.
    assert total >= 3 * per_round - 1
    # Every counted message was acknowledged by the broker, so the subscriber gets it.
    assert len(collector.wait_for(total)) >= total


def test_main_restores_signal_handlers(broker: Mosquitto) -> None:
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    assert replay_mod.main([str(PERSON), "--port", str(broker.port), "--speed", "0"]) == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
