"""Every Frigate fixture line on events/reviews/available, parsed to exact observations.

The tables below were written by reading each fixture's `after` objects. On all but
three events lines (two `end`s that repeat the last update, one update where only
`frame_time` moved) `before` differs from `after` in a checked field, so a parser
that read `before`, mis-scaled a score or dropped a zone fails here. Line numbers are
1-based, as in an editor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest

from custom_components.frigate_rules.core import fields
from custom_components.frigate_rules.core.fields import Rejected
from custom_components.frigate_rules.core.frigate import (
    parse_available,
    parse_event,
    parse_review,
)
from custom_components.frigate_rules.core.model import Kind, Observation, Source
from tests.conftest import FIXTURES, fixture_lines, wire_payload

NEW, UPDATE, END = Kind.NEW, Kind.UPDATE, Kind.END
Y, PA, YP, P = ("yard",), ("patio",), ("yard", "patio"), ("parking",)
BASE_TIME = 1_800_000_000.0


@pytest.fixture(params=["orjson", "stdlib"], autouse=True)
def json_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run every table against both decoders (HA ships orjson; stdlib is the fallback)."""
    saved = fields._loads
    fields._loads = fields.select_loads(prefer_orjson=request.param == "orjson")
    fields.clear_caches()
    yield request.param
    fields._loads = saved


@dataclass(frozen=True)
class Row:
    """Expected observation of one `frigate/events` line."""

    line: int
    kind: Kind
    confidence_pct: float
    zones: tuple[str, ...]
    entered_zones: tuple[str, ...]
    stationary: bool
    frame_time: float
    sub_label: str | None = None


@dataclass(frozen=True)
class Events:
    """One fixture's single tracked object and its expected rows."""

    event_id: str
    camera: str
    label: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Review:
    """Expected observations (one per label) of one `frigate/reviews` line."""

    line: int
    kind: Kind
    review_id: str
    camera: str
    labels: tuple[str, ...]
    zones: tuple[str, ...]


# Row columns: line, kind, confidence_pct, zones (current_zones),
# entered_zones, stationary, frame_time[, sub_label].

# a) person walks yard -> patio on `backyard`; 0.17 shape (score_history etc.).
# The `new` reports 0.79296875 in after (0.62109375 is the false-positive `before`).
A_V017 = Events(
    event_id="1718031234.123456-abc123",
    camera="backyard",
    label="person",
    rows=(
        Row(22, NEW, 79.296875, Y, Y, False, 1718031235.521356),
        Row(31, UPDATE, 78.90625, Y, Y, False, 1718031235.722756),
        Row(32, UPDATE, 82.03125, Y, Y, False, 1718031236.523456),
        Row(33, UPDATE, 85.9375, Y, Y, False, 1718031237.324156),
        Row(34, UPDATE, 87.890625, (), Y, False, 1718031237.923456),
        Row(39, UPDATE, 87.890625, (), Y, False, 1718031238.124856),
        Row(40, UPDATE, 88.671875, PA, YP, False, 1718031238.321356),
        Row(45, UPDATE, 90.234375, PA, YP, False, 1718031238.925556),
        Row(47, UPDATE, 90.234375, PA, YP, False, 1718031239.721356),
        Row(48, UPDATE, 91.40625, PA, YP, False, 1718031240.522056),
        Row(49, UPDATE, 93.359375, PA, YP, False, 1718031241.922056),
        Row(50, END, 92.96875, PA, YP, False, 1718031242.123456),
    ),
)

# a) the same walk in the 0.14 shape: no path-driven updates, so only 3 updates.
A_V014 = Events(
    event_id="1718031234.123456-abc123",
    camera="backyard",
    label="person",
    rows=(
        Row(15, NEW, 79.296875, Y, Y, False, 1718031235.521356),
        Row(20, UPDATE, 87.890625, (), Y, False, 1718031237.923456),
        Row(23, UPDATE, 88.671875, PA, YP, False, 1718031238.321356),
        Row(26, UPDATE, 92.96875, PA, YP, False, 1718031242.123456),
        Row(27, END, 92.96875, PA, YP, False, 1718031242.123456),
    ),
)

# b) tree shadow as `car` on `side_yard`, no zones, stationary after 10 s.
B_V017 = Events(
    event_id="1718038807.481922-s4dw0k",
    camera="side_yard",
    label="car",
    rows=(
        Row(22, NEW, 70.703125, (), (), False, 1718038808.879822),
        Row(27, UPDATE, 69.921875, (), (), False, 1718038809.081222),
        Row(32, UPDATE, 69.53125, (), (), True, 1718038817.884022),
        Row(40, UPDATE, 69.53125, (), (), True, 1718038878.280522),
        Row(47, UPDATE, 69.53125, (), (), True, 1718038938.480522),
        Row(52, END, 71.484375, (), (), True, 1718038979.483322),
    ),
)

# d) 0.12 shape: `snapshot_time`, sub_label the string "john" once set via the API.
D_V012 = Events(
    event_id="1686841512.337104-x8k2pd",
    camera="front_door",
    label="person",
    rows=(
        Row(11, NEW, 75.0, (), (), False, 1686841513.936404),
        Row(14, UPDATE, 83.59375, ("porch",), ("porch",), False, 1686841517.139204, "john"),
        Row(17, UPDATE, 87.890625, ("porch",), ("porch",), False, 1686841522.336404, "john"),
        Row(18, END, 87.890625, ("porch",), ("porch",), False, 1686841526.138504, "john"),
    ),
)

# e) car parks in `parking`, stationary updates every ~60 s, leaves, ends.
E_V017 = Events(
    event_id="1718049610.902315-k3m9wd",
    camera="driveway",
    label="car",
    rows=(
        Row(21, NEW, 76.171875, (), (), False, 1718049611.101615),
        Row(26, UPDATE, 77.34375, (), (), False, 1718049611.303015),
        Row(29, UPDATE, 82.03125, (), (), False, 1718049611.902315),
        Row(30, UPDATE, 83.984375, (), (), False, 1718049612.300215),
        Row(31, UPDATE, 86.328125, (), (), False, 1718049612.703015),
        Row(32, UPDATE, 87.890625, P, P, False, 1718049613.100915),
        Row(37, UPDATE, 87.890625, P, P, False, 1718049613.302315),
        Row(39, UPDATE, 89.0625, P, P, False, 1718049613.901615),
        Row(47, UPDATE, 91.40625, P, P, True, 1718049624.703715),
        Row(57, UPDATE, 90.234375, P, P, True, 1718049685.100215),
        Row(64, UPDATE, 91.40625, P, P, True, 1718049745.300215),
        Row(71, UPDATE, 91.796875, P, P, True, 1718049805.500215),
        Row(78, UPDATE, 92.1875, P, P, True, 1718049865.700215),
        Row(85, UPDATE, 89.84375, P, P, True, 1718049925.900215),
        Row(92, UPDATE, 91.796875, P, P, True, 1718049986.100215),
        Row(99, UPDATE, 92.1875, P, P, True, 1718050046.300215),
        Row(106, UPDATE, 87.109375, P, P, True, 1718050096.302315),
        Row(115, UPDATE, 86.328125, P, P, False, 1718050096.503715),
        Row(116, UPDATE, 85.9375, P, P, False, 1718050096.901615),
        Row(117, UPDATE, 85.546875, (), P, False, 1718050097.103015),
        Row(122, UPDATE, 83.984375, (), P, False, 1718050097.304415),
        Row(123, UPDATE, 82.421875, (), P, False, 1718050097.702315),
        Row(124, UPDATE, 77.34375, (), P, False, 1718050098.301615),
        Row(125, UPDATE, 71.875, (), P, False, 1718050098.900915),
        Row(127, END, 71.875, (), P, False, 1718050098.900915),
    ),
)

# f) Frigate dies mid-event: no `end` ever comes.
F_V017 = Events(
    event_id="1718056021.640377-7hq2tn",
    camera="front_door",
    label="person",
    rows=(
        Row(22, NEW, 75.78125, (), (), False, 1718056023.441077),
        Row(29, UPDATE, 77.34375, (), (), False, 1718056023.642477),
        Row(30, UPDATE, 78.515625, (), (), False, 1718056024.438277),
    ),
)

EVENTS = {
    "a_person_backyard_v017.jsonl": A_V017,
    "a_person_backyard_v014.jsonl": A_V014,
    "b_car_false_positive_v017.jsonl": B_V017,
    "c_reviews_backyard_v017.jsonl": None,
    "d_person_front_door_v012.jsonl": D_V012,
    "e_parked_car_driveway_v017.jsonl": E_V017,
    "f_offline_mid_event_v017.jsonl": F_V017,
}

REVIEWS: dict[str, tuple[Review, ...]] = {
    "a_person_backyard_v017.jsonl": (),
    "a_person_backyard_v014.jsonl": (),
    "b_car_false_positive_v017.jsonl": (),
    # c) detection in yard, upgraded to alert on patio entry; zones accumulate.
    "c_reviews_backyard_v017.jsonl": (
        Review(2, NEW, "1718031235.521356-q7v2mn", "backyard", ("person",), Y),
        Review(4, UPDATE, "1718031235.521356-q7v2mn", "backyard", ("person",), YP),
        Review(6, END, "1718031235.521356-q7v2mn", "backyard", ("person",), YP),
    ),
    "d_person_front_door_v012.jsonl": (),
    "e_parked_car_driveway_v017.jsonl": (
        Review(27, NEW, "1718049611.303015-b5nc1e", "driveway", ("car",), ()),
        Review(53, END, "1718049611.303015-b5nc1e", "driveway", ("car",), P),
        Review(113, NEW, "1718050096.302315-u0x7hr", "driveway", ("car",), P),
        Review(136, END, "1718050096.302315-u0x7hr", "driveway", ("car",), P),
    ),
    "f_offline_mid_event_v017.jsonl": (
        Review(27, NEW, "1718056023.441077-j2w8ya", "front_door", ("person",), ()),
    ),
}

AVAILABLE: dict[str, tuple[tuple[int, bool], ...]] = {
    "a_person_backyard_v017.jsonl": ((18, True),),
    "a_person_backyard_v014.jsonl": ((13, True),),
    "b_car_false_positive_v017.jsonl": ((18, True),),
    "c_reviews_backyard_v017.jsonl": ((1, True),),
    "d_person_front_door_v012.jsonl": ((9, True),),
    "e_parked_car_driveway_v017.jsonl": ((18, True),),
    # f) Last Will `offline`, then `online` again after the restart.
    "f_offline_mid_event_v017.jsonl": ((18, True), (31, False), (49, True)),
}


def approx(value: float) -> float:
    """`pytest.approx`, typed as the float it compares equal to."""
    return cast(float, pytest.approx(value))


def lines_on(name: str, topic: str) -> dict[int, tuple[str, float]]:
    """1-based line number -> (wire payload, receive time) for one topic."""
    out: dict[int, tuple[str, float]] = {}
    elapsed_ms = 0
    for number, line in enumerate(fixture_lines(name), start=1):
        elapsed_ms += line["delay_ms"]
        if line["topic"] == topic:
            out[number] = (wire_payload(line), BASE_TIME + elapsed_ms / 1000)
    return out


def test_tables_cover_the_hand_checked_fixtures() -> None:
    """Fixtures a-f are checked line by line here; every fixture, below, field by field."""
    names = {path.name for path in FIXTURES.glob("*.jsonl")}
    assert set(EVENTS) == set(REVIEWS) == set(AVAILABLE)
    assert set(EVENTS) <= names
    assert {name[0] for name in EVENTS} == set("abcdef")


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.jsonl")))
def test_every_events_line_of_every_fixture_parses_to_its_after_object(name: str) -> None:
    """What any fixture, later ones included, says is what the observation holds."""
    count = 0
    for line in fixture_lines(name):
        if line["topic"] != "frigate/events":
            continue
        after = line["payload"]["after"]
        got = parse_event(wire_payload(line), BASE_TIME)
        assert isinstance(got, Observation), (name, got)
        sub_label = after.get("sub_label")
        assert (got.event_id, got.camera, got.label) == (
            after["id"],
            after["camera"],
            after["label"],
        )
        assert got.kind == Kind(line["payload"]["type"])
        assert got.confidence_pct == approx(after["score"] * 100)
        assert got.zones == tuple(after["current_zones"])
        assert got.entered_zones == tuple(after["entered_zones"])
        assert got.stationary is after["stationary"]
        assert got.sub_label == (sub_label[0] if isinstance(sub_label, list) else sub_label)
        assert got.frame_time == after["frame_time"]
        count += 1
    # c has reviews only, m camera status only.
    assert count > 0 or name.startswith(("c_", "m_")), f"{name} has no events lines"


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_events(name: str) -> None:
    lines = lines_on(name, "frigate/events")
    expected = EVENTS[name]
    if expected is None:
        assert lines == {}
        return
    assert sorted(lines) == [row.line for row in expected.rows]
    for row in expected.rows:
        payload, observed_at = lines[row.line]
        for wire in (payload, payload.encode()):
            got = parse_event(wire, observed_at)
            assert isinstance(got, Observation), (row.line, got)
            assert got == Observation(
                event_id=expected.event_id,
                camera=expected.camera,
                label=expected.label,
                sub_label=row.sub_label,
                confidence_pct=approx(row.confidence_pct),
                zones=row.zones,
                entered_zones=row.entered_zones,
                stationary=row.stationary,
                kind=row.kind,
                source=Source.EVENTS,
                frame_time=row.frame_time,
                observed_at=observed_at,
            ), row.line


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_reviews(name: str) -> None:
    lines = lines_on(name, "frigate/reviews")
    assert sorted(lines) == [review.line for review in REVIEWS[name]]
    for review in REVIEWS[name]:
        payload, observed_at = lines[review.line]
        got = parse_review(payload, observed_at)
        assert not isinstance(got, Rejected), (review.line, got)
        assert got == tuple(
            Observation(
                event_id=review.review_id,
                camera=review.camera,
                label=label,
                sub_label=None,
                confidence_pct=None,
                zones=review.zones,
                entered_zones=review.zones,
                stationary=False,
                kind=review.kind,
                source=Source.REVIEWS,
                frame_time=None,
                observed_at=observed_at,
            )
            for label in review.labels
        ), review.line


@pytest.mark.parametrize("name", sorted(AVAILABLE))
def test_available(name: str) -> None:
    lines = lines_on(name, "frigate/available")
    assert [(number, parse_available(payload)) for number, (payload, _) in lines.items()] == list(
        AVAILABLE[name]
    )


def test_updates_of_one_event_share_strings_and_tuples() -> None:
    """Buffered updates of one event hold one id, camera, label, zone tuple and score."""
    lines = lines_on("a_person_backyard_v017.jsonl", "frigate/events")
    first, second = (parse_event(*lines[number]) for number in (45, 47))  # both 0.90234375
    assert isinstance(first, Observation)
    assert isinstance(second, Observation)
    assert first.event_id is second.event_id
    assert first.camera is second.camera
    assert first.label is second.label
    assert first.zones is second.zones
    assert first.entered_zones is second.entered_zones
    assert first.confidence_pct is second.confidence_pct
    assert first.frame_time != second.frame_time
