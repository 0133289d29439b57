"""Invariants of fixtures g to m, so that a hand edit cannot quietly break what they show.

The timings the features rely on (recognition 1.5 s after `new`, a 40 s loiter, two
cameras within 20 s, a camera going offline while Frigate stays up) are measured here
from the `delay_ms` column, the same way the replay tool and the integration see them.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
KNOWN = "g_known_face_v017.jsonl"
UNKNOWN = "h_unknown_person_v017.jsonl"
BELOW = "i_face_below_threshold_v017.jsonl"
LOITER = "j_loiter_front_door_v017.jsonl"
DRIVE_FIRST = "k_driveway_to_backdoor_v017.jsonl"
BACK_FIRST = "l_backdoor_to_driveway_v017.jsonl"
OFFLINE = "m_camera_offline_v017.jsonl"
WITH_EVENTS = [KNOWN, UNKNOWN, BELOW, LOITER, DRIVE_FIRST, BACK_FIRST]
WITH_FACES = [KNOWN, UNKNOWN, BELOW]
EVENT_ID = re.compile(r"^(\d{10}\.\d{6})-[a-z0-9]{6}$")
MAX_DISAPPEARED_S = 5.0  # 25 frames at 5 fps


@dataclass(frozen=True)
class Msg:
    """One fixture line with its receive time (seconds from the first line)."""

    number: int
    at: float
    topic: str
    payload: Any
    retain: bool


def load(name: str) -> list[Msg]:
    """Parse a fixture strictly: exactly the four keys, integer delays."""
    out: list[Msg] = []
    elapsed_ms = 0
    for number, raw in enumerate((FIXTURES / name).read_text().splitlines(), start=1):
        item = json.loads(raw)
        assert set(item) == {"topic", "payload", "retain", "delay_ms"}, (name, number)
        delay = item["delay_ms"]
        assert type(delay) is int
        assert delay >= 0
        assert number > 1 or delay == 0
        assert isinstance(item["retain"], bool)
        assert isinstance(item["payload"], str | dict), (name, number)
        assert item["topic"].startswith("frigate/"), (name, number)
        elapsed_ms += delay
        out.append(Msg(number, elapsed_ms / 1000, item["topic"], item["payload"], item["retain"]))
    return out


def events(msgs: list[Msg]) -> list[Msg]:
    return [m for m in msgs if m.topic == "frigate/events"]


def faces(msgs: list[Msg]) -> list[Msg]:
    return [m for m in msgs if m.topic == "frigate/tracked_object_update"]


def by_id(msgs: list[Msg]) -> dict[str, list[Msg]]:
    groups: dict[str, list[Msg]] = defaultdict(list)
    for msg in events(msgs):
        groups[msg.payload["after"]["id"]].append(msg)
    return groups


def porch_stays(track: list[Msg], zone: str) -> list[tuple[float, float]]:
    """(enter, leave) receive times of unbroken runs with `zone` in current_zones."""
    runs: list[tuple[float, float]] = []
    start: float | None = None
    for msg in track:
        inside = zone in msg.payload["after"]["current_zones"] and msg.payload["type"] != "end"
        if inside and start is None:
            start = msg.at
        elif not inside and start is not None:
            runs.append((start, msg.at))
            start = None
    assert start is None, "a stay must end before the event does"
    return runs


@pytest.mark.parametrize("name", [*WITH_EVENTS, OFFLINE])
def test_lines_are_replayable_json(name: str) -> None:
    assert load(name)


@pytest.mark.parametrize("name", WITH_EVENTS)
def test_event_chains(name: str) -> None:
    for event_id, track in by_id(load(name)).items():
        match = EVENT_ID.match(event_id)
        assert match, event_id
        kinds = [m.payload["type"] for m in track]
        assert kinds == ["new"] + ["update"] * (len(kinds) - 2) + ["end"]
        first = track[0].payload
        assert first["before"]["false_positive"] is True
        assert first["before"]["snapshot"] is None
        assert "score_history" not in first["before"]
        assert match.group(1) == f"{first['after']['start_time']:.6f}"
        for prev, cur in pairwise(track):
            assert cur.payload["before"] == prev.payload["after"], cur.number
        afters = [m.payload["after"] for m in track]
        frame_times = [a["frame_time"] for a in afters]
        assert frame_times == sorted(frame_times)
        tops = [a["top_score"] for a in afters]
        assert tops == sorted(tops)
        for after in afters:
            assert after["id"] == event_id
            assert after["false_positive"] is False
            assert after["stationary"] is not after["active"]
            assert 0.5 <= after["score"] <= 1
            assert 0.7 <= after["top_score"] <= 1
            assert set(after["current_zones"]) <= set(after["entered_zones"])
            sub_label = after["sub_label"]
            assert sub_label is None or (isinstance(sub_label[0], str) and 0.9 <= sub_label[1] <= 1)
        entered = [a["entered_zones"] for a in afters]
        assert all(e[: len(p)] == p for p, e in pairwise(entered))
        assert [a["end_time"] is None for a in afters] == [True] * (len(afters) - 1) + [False]
        end = afters[-1]
        assert end["end_time"] - end["frame_time"] == pytest.approx(MAX_DISAPPEARED_S, abs=0.05)


@pytest.mark.parametrize("name", WITH_EVENTS)
def test_delays_follow_frame_times(name: str) -> None:
    """Frigate publishes as frames are processed: wire gaps equal frame-time gaps."""
    for track in by_id(load(name)).values():
        for prev, cur in pairwise(track):
            after = cur.payload["after"]
            stamp = after["end_time"] if cur.payload["type"] == "end" else after["frame_time"]
            frame_gap = stamp - prev.payload["after"]["frame_time"]
            assert cur.at - prev.at == pytest.approx(frame_gap, abs=0.01), cur.number


@pytest.mark.parametrize("name", WITH_FACES)
def test_face_updates_follow_event_updates(name: str) -> None:
    """One face message per recognition attempt, each after the update that ran it."""
    msgs = load(name)
    (event_id,) = by_id(msgs)
    assert faces(msgs)
    for face in faces(msgs):
        payload = face.payload
        assert set(payload) == {"type", "name", "score", "id", "camera", "timestamp"}
        assert payload["type"] == "face"
        assert payload["id"] == event_id
        assert payload["camera"] == "front_door"
        assert (payload["name"] is None) == (payload["score"] == 0.0)
        trigger = [m for m in events(msgs) if m.at < face.at][-1]
        assert trigger.payload["type"] in {"new", "update"}
        assert 0.03 <= face.at - trigger.at <= 0.2
        assert trigger.payload["after"]["frame_time"] < payload["timestamp"]
        assert payload["timestamp"] - trigger.payload["after"]["frame_time"] < 0.1


def test_known_face_recognized_1_5_s_after_new() -> None:
    msgs = load(KNOWN)
    (track,) = by_id(msgs).values()
    new = track[0]
    scores = [(f.at, f.payload["name"], f.payload["score"]) for f in faces(msgs)]
    first_hit = next(i for i, (_, name, score) in enumerate(scores) if score >= 0.9)
    at, name, score = scores[first_hit]
    assert name == "alice"
    assert at - new.at == pytest.approx(1.5, abs=0.1)
    before = scores[:first_hit]
    assert before
    assert all(s < 0.9 for _, _, s in before)
    assert any(n is None for _, n, _ in before)
    assert any(n == "alice" for _, n, _ in before)
    in_porch = [m for m in track if m.at < at][-1].payload["after"]["current_zones"]
    assert in_porch == ["porch"]
    labelled = [m for m in track if m.payload["after"]["sub_label"] is not None]
    assert labelled[0].at > at
    assert labelled[0].payload["before"]["sub_label"] is None
    assert all(m.payload["after"]["sub_label"] == ["alice", score] for m in labelled)
    assert labelled[-1] is track[-1]
    assert round(score, 2) == 0.93


def test_unknown_person_is_never_named() -> None:
    msgs = load(UNKNOWN)
    (track,) = by_id(msgs).values()
    assert len(faces(msgs)) >= 5
    assert {(f.payload["name"], f.payload["score"]) for f in faces(msgs)} == {(None, 0.0)}
    assert all(m.payload["after"]["sub_label"] is None for m in track)
    (stay,) = porch_stays(track, "porch")
    assert stay[0] == track[0].at
    assert stay[1] - stay[0] == pytest.approx(8.0, abs=0.5)


def test_bob_stays_below_the_recognition_threshold() -> None:
    msgs = load(BELOW)
    (track,) = by_id(msgs).values()
    names = {f.payload["name"] for f in faces(msgs)}
    assert names == {"bob"}
    assert len(faces(msgs)) >= 5
    assert all(0.8 < f.payload["score"] < 0.9 for f in faces(msgs))
    assert all(m.payload["after"]["sub_label"] is None for m in track)


def test_loiter_on_the_porch_lasts_40_s() -> None:
    msgs = load(LOITER)
    (track,) = by_id(msgs).values()
    assert not faces(msgs)
    (stay,) = porch_stays(track, "porch")
    assert stay[1] - stay[0] >= 40
    inside = [m.at for m in track if stay[0] <= m.at < stay[1]]
    gaps = [b - a for a, b in pairwise(inside)]
    assert max(gaps) <= 3.0
    assert len(inside) >= 20
    zones = [m.payload["after"]["current_zones"] for m in track if m.at <= stay[0]]
    assert ["walkway"] in zones
    assert zones[-2:] == [[], ["porch"]]
    assert not any(m.payload["after"]["stationary"] for m in track)


def camera_track(msgs: list[Msg], camera: str) -> list[Msg]:
    (track,) = [t for t in by_id(msgs).values() if t[0].payload["after"]["camera"] == camera]
    return track


@pytest.mark.parametrize(
    ("name", "first", "first_zone", "second", "second_zone"),
    [
        (DRIVE_FIRST, "driveway", "drive", "backdoor", "steps"),
        (BACK_FIRST, "backdoor", "steps", "driveway", "drive"),
    ],
)
def test_two_cameras_within_20_s(
    name: str, first: str, first_zone: str, second: str, second_zone: str
) -> None:
    msgs = load(name)
    assert len(by_id(msgs)) == 2
    one, two = camera_track(msgs, first), camera_track(msgs, second)
    assert one[0].payload["after"]["id"] != two[0].payload["after"]["id"]
    assert 8 <= two[0].at - one[0].at <= 12
    one_in = next(m for m in one if first_zone in m.payload["after"]["current_zones"])
    two_in = next(m for m in two if second_zone in m.payload["after"]["current_zones"])
    assert one_in.at < two_in.at
    assert two_in.at - one[0].at <= 20
    assert one_in.at - one[0].at <= 1.0


def test_camera_offline_while_frigate_stays_online() -> None:
    msgs = load(OFFLINE)
    assert [m.payload for m in msgs if m.topic == "frigate/available"] == ["online"]
    assert not events(msgs)
    backyard = [m for m in msgs if m.topic == "frigate/backyard/status/detect"]
    collapsed = [
        m.payload for i, m in enumerate(backyard) if i == 0 or m.payload != backyard[i - 1].payload
    ]
    assert collapsed == ["online", "offline", "online", "disabled", "online"]
    assert not any(m.retain for m in backyard)
    front = [m for m in msgs if m.topic == "frigate/front_door/status/detect"]
    assert {m.payload for m in front} == {"online"}
    assert all(9.9 <= b.at - a.at <= 10.1 for a, b in pairwise(front))
    offline = [m.at for m in backyard if m.payload == "offline"]
    back = next(m.at for m in backyard if m.payload == "online" and m.at > offline[0])
    assert len(offline) == 3
    assert back - offline[0] == pytest.approx(30, abs=0.1)
    later = [m for m in msgs if m.at > 0]
    detect = [(m.payload, m.retain) for m in later if m.topic == "frigate/backyard/detect/state"]
    assert detect == [("OFF", True), ("ON", True)]
    enabled = {m.payload: m.at for m in later if m.topic == "frigate/backyard/enabled/state"}
    disabled = next(m.at for m in backyard if m.payload == "disabled")
    assert enabled["OFF"] < disabled < enabled["ON"]
    assert not [m for m in backyard if disabled < m.at < enabled["ON"]]
