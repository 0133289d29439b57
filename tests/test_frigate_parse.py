"""Frigate payload parser: rejections, accepted shapes, sharing caches, memory, fuzzing.

Every test runs twice, once per JSON decoder (orjson, which Home Assistant ships, and
the stdlib fallback), because both must give the same answers.
"""

from __future__ import annotations

import gc
import json
import math
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custom_components.frigate_rules.core import fields, frigate
from custom_components.frigate_rules.core.fields import (
    MAX_PAYLOAD_BYTES,
    RECENT_IDS_CAP,
    SHARED_CACHE_CAP,
    Rejected,
)
from custom_components.frigate_rules.core.frigate import (
    parse_available,
    parse_event,
    parse_review,
)
from custom_components.frigate_rules.core.model import Kind, Observation, Source
from tests.conftest import fixture_lines, wire_payload

DROP = object()
EVENT_ID = "1718031234.123456-abc123"
REVIEW_ID = "1718031235.521356-q7v2mn"
NOW = 1_800_000_000.25


@pytest.fixture(params=["orjson", "stdlib"], autouse=True)
def json_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Swap the module's decoder for the duration of one test; start with empty caches."""
    saved = fields._loads
    fields._loads = fields.select_loads(prefer_orjson=request.param == "orjson")
    fields.clear_caches()
    yield request.param
    fields._loads = saved
    fields.clear_caches()


def event(msg_type: object = "update", **changes: object) -> dict[str, Any]:
    """A valid 0.17-like events message; `changes` edit `after` (DROP removes a key)."""
    after: dict[str, Any] = {
        "id": EVENT_ID,
        "camera": "backyard",
        "frame_time": 1718031240.5,
        "snapshot": {"frame_time": 1718031240.5, "score": 0.9},
        "label": "person",
        "sub_label": None,
        "top_score": 0.875,
        "false_positive": False,
        "score": 0.90234375,
        "stationary": False,
        "current_zones": ["patio"],
        "entered_zones": ["yard", "patio"],
        "score_history": [0.5, 0.9],
    }
    for key, value in changes.items():
        if value is DROP:
            del after[key]
        else:
            after[key] = value
    before = {**after, "score": 0.25, "current_zones": [], "false_positive": True}
    return {"type": msg_type, "before": before, "after": after}


def review(msg_type: object = "update", **changes: object) -> dict[str, Any]:
    """A valid reviews message; `changes` edit `after.data` (DROP removes a key)."""
    data: dict[str, Any] = {
        "detections": [EVENT_ID],
        "objects": ["person"],
        "sub_labels": [],
        "zones": ["yard", "patio"],
        "audio": [],
    }
    for key, value in changes.items():
        if value is DROP:
            del data[key]
        else:
            data[key] = value
    after = {"id": REVIEW_ID, "camera": "backyard", "severity": "alert", "data": data}
    return {"type": msg_type, "before": {**after, "data": {}}, "after": after}


def approx(value: float) -> float:
    """`pytest.approx`, typed as the float it compares equal to."""
    return cast(float, pytest.approx(value))


def dumps(value: object) -> str:
    return json.dumps(value)


def with_after(message: dict[str, Any], **changes: object) -> dict[str, Any]:
    """`message` with top-level `after` keys edited (DROP removes a key)."""
    after = dict(message["after"])
    for key, value in changes.items():
        if value is DROP:
            del after[key]
        else:
            after[key] = value
    return {**message, "after": after}


# --------------------------------------------------------------------------- events


def test_valid_event_reads_after_and_scales_scores() -> None:
    got = parse_event(dumps(event()), NOW)
    assert got == Observation(
        event_id=EVENT_ID,
        camera="backyard",
        label="person",
        sub_label=None,
        confidence_pct=approx(90.234375),
        zones=("patio",),
        entered_zones=("yard", "patio"),
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=1718031240.5,
        observed_at=NOW,
    )


@pytest.mark.parametrize(
    ("msg_type", "kind"), [("new", Kind.NEW), ("update", Kind.UPDATE), ("end", Kind.END)]
)
def test_event_kinds(msg_type: str, kind: Kind) -> None:
    got = parse_event(dumps(event(msg_type)), NOW)
    assert isinstance(got, Observation)
    assert got.kind is kind


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        # sub_label: string (0.12), [name, score] (0.13+), score may be null.
        ({"sub_label": "john"}, "sub_label", "john"),
        ({"sub_label": ["john", 0.87]}, "sub_label", "john"),
        ({"sub_label": ["john", None]}, "sub_label", "john"),
        ({"sub_label": ["john"]}, "sub_label", "john"),
        ({"sub_label": []}, "sub_label", None),
        ({"sub_label": [None, None]}, "sub_label", None),
        ({"sub_label": ""}, "sub_label", None),
        ({"sub_label": DROP}, "sub_label", None),
        # Optional fields.
        # `top_score` is optional and checked, but not kept (nothing reads it).
        ({"top_score": DROP}, "label", "person"),
        ({"top_score": None}, "label", "person"),
        ({"top_score": 0.0}, "label", "person"),
        ({"stationary": DROP}, "stationary", False),
        ({"stationary": None}, "stationary", False),
        ({"stationary": True}, "stationary", True),
        ({"current_zones": DROP}, "zones", ()),
        ({"current_zones": None}, "zones", ()),
        ({"current_zones": []}, "zones", ()),
        ({"entered_zones": DROP}, "entered_zones", ()),
        ({"current_zones": ["yard", "patio"]}, "zones", ("yard", "patio")),
        ({"frame_time": DROP}, "frame_time", None),
        ({"frame_time": None}, "frame_time", None),
        ({"frame_time": 1718031240}, "frame_time", 1718031240.0),
        # Score bounds are inclusive; integers are numbers too (but not booleans).
        ({"score": 1}, "confidence_pct", 100.0),
        ({"score": 0}, "confidence_pct", 0.0),
        ({"score": 1.0}, "confidence_pct", 100.0),
        ({"score": 0.00390625}, "confidence_pct", 0.390625),
        # Non-ASCII names survive both decoders.
        ({"camera": "café"}, "camera", "café"),
        # 0.12 shape: snapshot_time instead of the snapshot object; 0.17 extras.
        ({"snapshot": DROP, "snapshot_time": 0.0}, "label", "person"),
        ({"score_history": {"odd": [1, {"x": None}]}, "zzz": "new key"}, "label", "person"),
    ],
)
def test_accepted_shapes(changes: dict[str, object], field: str, expected: object) -> None:
    got = parse_event(dumps(event(**changes)), NOW)
    assert isinstance(got, Observation), got
    value = getattr(got, field)
    assert value == expected
    assert type(value) is type(expected)


def test_before_is_never_read() -> None:
    """`before` of a `new` is the false positive; its content and shape do not matter."""
    message = event("new")
    reference = parse_event(dumps(message), NOW)
    assert isinstance(reference, Observation)
    befores: tuple[object, ...] = ("garbage", None, [], {"score": 7, "current_zones": 3})
    for before in befores:
        assert parse_event(dumps({**message, "before": before}), NOW) == reference
    del message["before"]
    assert parse_event(dumps(message), NOW) == reference


def test_unknown_top_level_keys_are_ignored() -> None:
    reference = parse_event(dumps(event()), NOW)
    assert isinstance(reference, Observation)
    assert parse_event(dumps({**event(), "future": {"a": [1]}}), NOW) == reference


@pytest.mark.parametrize(
    ("camera_json", "expected"),
    [
        ('"café"', "café"),  # raw non-ASCII text
        ('"caf\\u00e9"', "café"),  # escaped
        ('"cam\\ud83d\\ude00"', "cam\U0001f600"),  # escaped surrogate pair
        ('"cam\\ud800"', Rejected("not_json")),  # escaped lone high surrogate
        ('"cam\\udc00x"', Rejected("not_json")),  # escaped lone low surrogate
        ('"\\\\ud800"', "\\ud800"),  # an escaped backslash, then plain text
    ],
)
def test_unicode(camera_json: str, expected: str | Rejected) -> None:
    payload = dumps(event(camera="CAMERA")).replace('"CAMERA"', camera_json)
    assert camera_json in payload
    for wire in (payload, payload.encode()):
        got = parse_event(wire, NOW)
        if isinstance(expected, Rejected):
            assert got == expected
        else:
            assert isinstance(got, Observation)
            assert got.camera == expected


def test_bytes_and_bytearray_equal_text() -> None:
    text = dumps(event())
    expected = parse_event(text, NOW)
    assert isinstance(expected, Observation)
    assert parse_event(text.encode(), NOW) == expected
    assert parse_event(bytearray(text.encode()), NOW) == expected


HUGE = dumps(event()) + " " * MAX_PAYLOAD_BYTES

EVENT_REJECTIONS: list[tuple[str, str | bytes, str]] = [
    ("empty string", "", "not_json"),
    ("whitespace", "  \n", "not_json"),
    ("empty bytes", b"", "not_json"),
    ("not json", "person detected", "not_json"),
    ("truncated", dumps(event())[:-1], "not_json"),
    ("NaN literal score", dumps(event(score=math.nan)), "not_json"),
    ("Infinity literal", dumps(event(score=math.inf)), "not_json"),
    ("deep nesting", "[" * 100_000, "not_json"),
    ("utf-8 BOM", b"\xef\xbb\xbf" + dumps(event()).encode(), "not_json"),
    ("invalid utf-8", b"\xff\xfe{}", "bad_encoding"),
    (
        "invalid utf-8 inside",
        dumps(event()).encode().replace(b"backyard", b"back\xe9yard"),
        "bad_encoding",
    ),
    ("utf-16", dumps(event()).encode("utf-16"), "bad_encoding"),
    ("lone surrogate", dumps(event(camera="\ud800")).replace("\\ud800", "\ud800"), "bad_encoding"),
    ("huge", HUGE, "too_large"),
    ("huge bytes", HUGE.encode(), "too_large"),
    ("json array", dumps([event()]), "not_an_object"),
    ("json string", '"online"', "not_an_object"),
    ("json null", "null", "not_an_object"),
    ("json number", "0.9", "not_an_object"),
    ("missing type", dumps({"after": event()["after"]}), "missing_field:type"),
    ("unknown type", dumps(event("created")), "unknown_type"),
    ("type upper case", dumps(event("NEW")), "unknown_type"),
    ("type not a string", dumps(event(1)), "unknown_type"),
    ("type a list", dumps(event(["new"])), "unknown_type"),
    ("missing after", dumps({"type": "new", "before": event()["after"]}), "missing_after"),
    ("null after", dumps({"type": "new", "after": None}), "missing_after"),
    ("after a list", dumps({"type": "new", "after": []}), "bad_type:after"),
    ("missing id", dumps(event(id=DROP)), "missing_field:id"),
    ("empty id", dumps(event(id="")), "missing_field:id"),
    ("id a number", dumps(event(id=1718031234.1)), "bad_type:id"),
    ("missing camera", dumps(event(camera=DROP)), "missing_field:camera"),
    ("null camera", dumps(event(camera=None)), "missing_field:camera"),
    ("camera a list", dumps(event(camera=["backyard"])), "bad_type:camera"),
    ("missing label", dumps(event(label=DROP)), "missing_field:label"),
    ("label a number", dumps(event(label=0)), "bad_type:label"),
    ("missing score", dumps(event(score=DROP)), "missing_field:score"),
    ("null score", dumps(event(score=None)), "missing_field:score"),
    ("score as string", dumps(event(score="0.9")), "bad_type:score"),
    ("score true", dumps(event(score=True)), "bad_type:score"),
    ("score false", dumps(event(score=False)), "bad_type:score"),
    ("score a list", dumps(event(score=[0.9])), "bad_type:score"),
    ("score 1.5", dumps(event(score=1.5)), "score_out_of_range"),
    ("score already percent", dumps(event(score=90)), "score_out_of_range"),
    ("score negative", dumps(event(score=-0.1)), "score_out_of_range"),
    ("top_score 1.5", dumps(event(top_score=1.5)), "top_score_out_of_range"),
    ("top_score string", dumps(event(top_score="high")), "bad_type:top_score"),
    ("top_score true", dumps(event(top_score=True)), "bad_type:top_score"),
    ("zones a string", dumps(event(current_zones="yard")), "bad_type:current_zones"),
    ("zones with number", dumps(event(current_zones=["yard", 1])), "bad_type:current_zones"),
    ("zones nested list", dumps(event(current_zones=[["yard"]])), "bad_type:current_zones"),
    ("zones with null", dumps(event(current_zones=[None])), "bad_type:current_zones"),
    ("entered an object", dumps(event(entered_zones={"yard": 1})), "bad_type:entered_zones"),
    ("entered with dict", dumps(event(entered_zones=[{}])), "bad_type:entered_zones"),
    ("stationary string", dumps(event(stationary="false")), "bad_type:stationary"),
    ("stationary number", dumps(event(stationary=0)), "bad_type:stationary"),
    ("sub_label number", dumps(event(sub_label=5)), "bad_type:sub_label"),
    ("sub_label object", dumps(event(sub_label={"name": "john"})), "bad_type:sub_label"),
    ("sub_label [number]", dumps(event(sub_label=[5, 0.9])), "bad_type:sub_label"),
    ("frame_time string", dumps(event(frame_time="now")), "bad_type:frame_time"),
    ("frame_time true", dumps(event(frame_time=True)), "bad_type:frame_time"),
]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [pytest.param(payload, reason, id=name) for name, payload, reason in EVENT_REJECTIONS],
)
def test_event_rejections(payload: str | bytes, reason: str) -> None:
    assert parse_event(payload, NOW) == Rejected(reason)


@pytest.mark.parametrize(
    ("changes_json", "orjson_reason", "stdlib_reason"),
    [
        # orjson refuses numbers that overflow a double; stdlib json makes them inf
        # or huge ints, which the range/finiteness checks then refuse.
        ('"score": 1e999', "not_json", "score_out_of_range"),
        ('"frame_time": 1e999', "not_json", "bad_type:frame_time"),
        ('"frame_time": ' + "9" * 400, "not_json", "bad_type:frame_time"),
    ],
)
def test_overflowing_numbers(
    json_backend: str, changes_json: str, orjson_reason: str, stdlib_reason: str
) -> None:
    payload = dumps(event()).replace('"score_history": [0.5, 0.9]', changes_json)
    assert changes_json in payload
    expected = orjson_reason if json_backend == "orjson" else stdlib_reason
    assert parse_event(payload, NOW) == Rejected(expected)


def test_size_limit_boundary() -> None:
    body = dumps(event())
    at_limit = body + " " * (MAX_PAYLOAD_BYTES - len(body))
    assert len(at_limit) == MAX_PAYLOAD_BYTES
    assert isinstance(parse_event(at_limit, NOW), Observation)
    assert isinstance(parse_event(at_limit.encode(), NOW), Observation)
    assert parse_event(at_limit + " ", NOW) == Rejected("too_large")
    assert parse_event(at_limit.encode() + b" ", NOW) == Rejected("too_large")


@pytest.mark.parametrize("payload", [None, 5, 0.5, ["online"], {"type": "new"}, memoryview(b"{}")])
def test_non_text_payloads_are_rejected(payload: object) -> None:
    bogus = cast(Any, payload)
    assert parse_event(bogus, NOW) == Rejected("bad_type:payload")
    assert parse_review(bogus, NOW) == Rejected("bad_type:payload")
    assert parse_available(bogus) == Rejected("bad_type:payload")


# -------------------------------------------------------------------------- reviews


def review_obs(label: str, zones: tuple[str, ...], kind: Kind = Kind.UPDATE) -> Observation:
    return Observation(
        event_id=REVIEW_ID,
        camera="backyard",
        label=label,
        sub_label=None,
        confidence_pct=None,
        zones=zones,
        entered_zones=zones,
        stationary=False,
        kind=kind,
        source=Source.REVIEWS,
        frame_time=None,
        observed_at=NOW,
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            review("new"),
            (review_obs("person", ("yard", "patio"), Kind.NEW),),
        ),
        (
            review("end"),
            (review_obs("person", ("yard", "patio"), Kind.END),),
        ),
        (
            review(objects=["person", "car", "person", "dog", "car"]),
            tuple(review_obs(label, ("yard", "patio")) for label in ("person", "car", "dog")),
        ),
        (review(zones=DROP), (review_obs("person", ()),)),
        (review(zones=None), (review_obs("person", ()),)),
        (review(objects=[]), ()),
        (review(objects=DROP), ()),
        (review(objects=None), ()),
        (with_after(review(), extra={"k": 1}), (review_obs("person", ("yard", "patio")),)),
    ],
)
def test_reviews(message: dict[str, Any], expected: tuple[Observation, ...]) -> None:
    assert parse_review(dumps(message), NOW) == expected
    assert parse_review(dumps(message).encode(), NOW) == expected


def test_review_observations_share_id_camera_and_zones() -> None:
    got = parse_review(dumps(review(objects=["person", "car"])), NOW)
    assert isinstance(got, tuple)
    person, car = got
    assert person.event_id is car.event_id
    assert person.camera is car.camera
    assert person.zones is car.zones is person.entered_zones


REVIEW_REJECTIONS: list[tuple[str, str | bytes, str]] = [
    ("not json", "{", "not_json"),
    ("invalid utf-8", b"\xc3\x28", "bad_encoding"),
    ("huge", HUGE, "too_large"),
    ("array", "[]", "not_an_object"),
    ("missing type", dumps({"after": review()["after"]}), "missing_field:type"),
    ("unknown type", dumps(review("genai")), "unknown_type"),
    ("missing after", dumps({"type": "new"}), "missing_after"),
    ("after a string", dumps({"type": "new", "after": "x"}), "bad_type:after"),
    ("missing id", dumps(with_after(review(), id=DROP)), "missing_field:id"),
    ("id a number", dumps(with_after(review(), id=3)), "bad_type:id"),
    ("missing camera", dumps(with_after(review(), camera=DROP)), "missing_field:camera"),
    ("empty camera", dumps(with_after(review(), camera="")), "missing_field:camera"),
    ("camera an object", dumps(with_after(review(), camera={})), "bad_type:camera"),
    ("missing data", dumps(with_after(review(), data=DROP)), "missing_field:data"),
    ("data a list", dumps(with_after(review(), data=[])), "bad_type:data"),
    ("objects a string", dumps(review(objects="person")), "bad_type:objects"),
    ("objects with number", dumps(review(objects=["person", 1])), "bad_type:objects"),
    ("objects with empty", dumps(review(objects=[""])), "bad_type:objects"),
    ("zones a string", dumps(review(zones="yard")), "bad_type:zones"),
    ("zones with null", dumps(review(zones=[None])), "bad_type:zones"),
]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [pytest.param(payload, reason, id=name) for name, payload, reason in REVIEW_REJECTIONS],
)
def test_review_rejections(payload: str | bytes, reason: str) -> None:
    assert parse_review(payload, NOW) == Rejected(reason)


def test_events_payload_is_not_a_review() -> None:
    """An events message on the reviews topic has no `data`: rejected, not guessed."""
    assert parse_review(dumps(event()), NOW) == Rejected("missing_field:data")


# ------------------------------------------------------------------------ available


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("online", True),
        ("offline", False),
        ("stopped", False),
        (b"online", True),
        (b"offline", False),
        (bytearray(b"stopped"), False),
        (" Online\n", True),
        ("OFFLINE", False),
        (b"\tStopped ", False),
        ("", Rejected("unknown_payload")),
        ("on", Rejected("unknown_payload")),
        ("ON", Rejected("unknown_payload")),
        ("1", Rejected("unknown_payload")),
        ("true", Rejected("unknown_payload")),
        ('"online"', Rejected("unknown_payload")),
        ("online offline", Rejected("unknown_payload")),
        (b"\xff", Rejected("bad_encoding")),
        ("online" + " " * MAX_PAYLOAD_BYTES, Rejected("too_large")),
    ],
)
def test_available(payload: str | bytes, expected: bool | Rejected) -> None:
    got = parse_available(payload)
    assert got == expected
    assert type(got) is type(expected)


# ----------------------------------------------------------------- sharing caches


def test_updates_share_values() -> None:
    first = parse_event(dumps(event("new")), NOW)
    second = parse_event(dumps(event("update", frame_time=1718031241.5)), NOW + 1)
    assert isinstance(first, Observation)
    assert isinstance(second, Observation)
    for field in ("event_id", "camera", "label", "zones", "entered_zones", "confidence_pct"):
        assert getattr(first, field) is getattr(second, field), field
    assert fields.cache_sizes() == {"strings": 4, "zone_tuples": 2, "percents": 2, "recent_ids": 1}


def test_clear_caches() -> None:
    assert isinstance(parse_event(dumps(event()), NOW), Observation)
    assert all(fields.cache_sizes().values())
    fields.clear_caches()
    assert fields.cache_sizes() == dict.fromkeys(fields.cache_sizes(), 0)


def test_recent_ids_forget_the_oldest_first() -> None:
    ids = [f"1718031234.{n:06d}-abc123" for n in range(RECENT_IDS_CAP + 1)]
    held = [parse_event(dumps(event(id=event_id)), NOW) for event_id in ids]
    assert fields.cache_sizes()["recent_ids"] == RECENT_IDS_CAP
    again_oldest = parse_event(dumps(event(id=ids[0])), NOW)
    again_second = parse_event(dumps(event(id=ids[2])), NOW)
    assert isinstance(held[0], Observation)
    assert isinstance(held[2], Observation)
    assert isinstance(again_oldest, Observation)
    assert isinstance(again_second, Observation)
    assert again_oldest.event_id == ids[0]
    assert again_oldest.event_id is not held[0].event_id  # evicted, then seen anew
    assert again_second.event_id is held[2].event_id  # still remembered
    assert fields.cache_sizes()["recent_ids"] == RECENT_IDS_CAP


def test_caches_stop_growing_at_the_cap() -> None:
    """Hostile payloads with endless distinct names or scores cannot grow memory."""
    extra = 50
    for n in range(SHARED_CACHE_CAP + extra):
        got = parse_event(
            dumps(event(camera=f"cam{n}", current_zones=[f"z{n}"], score=n / 8192)), NOW
        )
        assert isinstance(got, Observation)
        assert got.camera == f"cam{n}"
        assert got.zones == (f"z{n}",)
        assert got.confidence_pct == pytest.approx(n / 81.92)
    sizes = fields.cache_sizes()
    assert sizes["strings"] == SHARED_CACHE_CAP
    assert sizes["zone_tuples"] == SHARED_CACHE_CAP
    assert sizes["percents"] == SHARED_CACHE_CAP


def test_select_loads_prefers_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson  # a Home Assistant dependency: present in every test venv

    assert fields.select_loads() is orjson.loads
    assert fields.select_loads(prefer_orjson=False) is fields._stdlib_loads
    monkeypatch.setitem(sys.modules, "orjson", None)  # import now raises ImportError
    assert fields.select_loads() is fields._stdlib_loads


# ------------------------------------------------------------------------ memory


def realistic_messages(count: int) -> list[str]:
    """Every fixture's events messages, replayed with a fresh event id per cycle."""
    names = [
        "a_person_backyard_v017.jsonl",
        "b_car_false_positive_v017.jsonl",
        "d_person_front_door_v012.jsonl",
        "e_parked_car_driveway_v017.jsonl",
        "f_offline_mid_event_v017.jsonl",
        "a_person_backyard_v014.jsonl",
    ]
    templates = [
        (wire_payload(line), line["payload"]["after"]["id"])
        for name in names
        for line in fixture_lines(name)
        if line["topic"] == "frigate/events"
    ]
    messages: list[str] = []
    cycle = 0
    while len(messages) < count:
        messages.extend(
            payload.replace(event_id, f"{event_id[:-6]}{cycle:06d}")
            for payload, event_id in templates[: count - len(messages)]
        )
        cycle += 1
    return messages


def test_memory_per_buffered_observation() -> None:
    """DESIGN 6: <= 200 bytes per buffered observation, sharing caches included.

    Counted: the Observation, its own floats (frame_time, observed_at), its list slot,
    its share of event-id strings and of the sharing caches. tracemalloc counts the
    bytes requested from the allocator.
    """
    count = 10_000
    messages = realistic_messages(count)
    parse_event(messages[0], 0.0)  # decoder warm-up (orjson allocates a key cache once)
    fields.clear_caches()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        held = [parse_event(message, NOW + n / 50) for n, message in enumerate(messages)]
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert all(isinstance(obs, Observation) for obs in held)
    events = len({cast(Observation, obs).event_id for obs in held})
    assert count // 20 < events < count // 5  # about 11 messages per tracked object
    per_observation = retained / count
    assert per_observation <= 200, f"{per_observation:.1f} bytes per observation"


# ---------------------------------------------------------------------- properties

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
names = st.sampled_from(["backyard", "person", "yard", "patio", "", "john"]) | st.text(max_size=8)
frigate_leaves = (
    json_values
    | names
    | st.floats(min_value=0, max_value=1)
    | st.lists(names, max_size=3)
    | st.tuples(names, st.none() | st.floats(0, 1)).map(list)
)
after_shapes = st.fixed_dictionaries(
    {},
    optional={
        key: frigate_leaves
        for key in (
            "id",
            "camera",
            "label",
            "sub_label",
            "score",
            "top_score",
            "current_zones",
            "entered_zones",
            "stationary",
            "frame_time",
            "snapshot",
            "snapshot_time",
        )
    },
)
review_afters = st.fixed_dictionaries(
    {},
    optional={
        "id": frigate_leaves,
        "camera": frigate_leaves,
        "data": st.fixed_dictionaries(
            {}, optional={"objects": frigate_leaves, "zones": frigate_leaves}
        )
        | json_values,
    },
)
message_shapes = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["new", "update", "end"]) | json_leaves,
        "before": json_values,
        "after": after_shapes | review_afters | json_values,
    },
)


def check_all_parsers(payload: str | bytes) -> None:
    """Every parser returns its declared type; observations obey the invariants."""
    got = parse_event(payload, NOW)
    if isinstance(got, Observation):
        assert got.source is Source.EVENTS
        assert isinstance(got.kind, Kind)
        assert got.confidence_pct is not None
        assert 0.0 <= got.confidence_pct <= 100.0
        assert all(type(zone) is str for zone in got.zones + got.entered_zones)
        assert got.camera
        assert got.label
        assert got.event_id
        assert got.frame_time is None or math.isfinite(got.frame_time)
        assert type(got.stationary) is bool
        assert got.observed_at == NOW
    else:
        assert type(got) is Rejected
        assert got.reason
    reviewed = parse_review(payload, NOW)
    if isinstance(reviewed, tuple):
        assert all(type(obs) is Observation for obs in reviewed)
        assert len({obs.label for obs in reviewed}) == len(reviewed)
        assert all(obs.source is Source.REVIEWS for obs in reviewed)
    else:
        assert type(reviewed) is Rejected
        assert reviewed.reason
    available = parse_available(payload)
    assert type(available) in (bool, Rejected)


fuzz = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@fuzz
@given(st.text())
def test_arbitrary_text_never_raises(payload: str) -> None:
    check_all_parsers(payload)


@fuzz
@given(st.binary())
def test_arbitrary_bytes_never_raise(payload: bytes) -> None:
    check_all_parsers(payload)


@fuzz
@given(json_values)
def test_arbitrary_json_never_raises(value: object) -> None:
    text = json.dumps(value)
    check_all_parsers(text)
    check_all_parsers(text.encode())


@fuzz
@given(message_shapes)
def test_frigate_shaped_json_never_raises(message: dict[str, Any]) -> None:
    text = json.dumps(message)
    check_all_parsers(text)
    check_all_parsers(text.encode())


zone_lists = st.lists(st.text(min_size=1, max_size=10), max_size=4)


@fuzz
@given(
    kind=st.sampled_from(Kind),
    event_id=st.text(min_size=1, max_size=30),
    camera=st.text(min_size=1, max_size=12),
    label=st.text(min_size=1, max_size=12),
    score=st.floats(min_value=0, max_value=1),
    top_score=st.none() | st.floats(min_value=0, max_value=1),
    zones=zone_lists,
    entered=zone_lists,
    stationary=st.booleans(),
    frame_time=st.none() | st.floats(min_value=0, max_value=4e9),
)
def test_valid_events_round_trip(
    kind: Kind,
    event_id: str,
    camera: str,
    label: str,
    score: float,
    top_score: float | None,
    zones: list[str],
    entered: list[str],
    stationary: bool,
    frame_time: float | None,
) -> None:
    """Whatever valid values Frigate sends come back unchanged (scores x 100)."""
    message = event(
        kind.value,
        id=event_id,
        camera=camera,
        label=label,
        score=score,
        top_score=top_score,
        current_zones=zones,
        entered_zones=entered,
        stationary=stationary,
        frame_time=frame_time,
    )
    got = parse_event(json.dumps(message), NOW)
    assert got == Observation(
        event_id=event_id,
        camera=camera,
        label=label,
        sub_label=None,
        confidence_pct=score * 100,
        zones=tuple(zones),
        entered_zones=tuple(entered),
        stationary=stationary,
        kind=kind,
        source=Source.EVENTS,
        frame_time=frame_time,
        observed_at=NOW,
    )


@pytest.mark.parametrize(
    ("changes", "limit", "reason"),
    [
        ({"camera": "c" * 129}, {"camera": "c" * 128}, "too_long:camera"),
        ({"label": "l" * 129}, {"label": "l" * 128}, "too_long:label"),
        ({"id": "i" * 129}, {"id": "i" * 128}, "too_long:id"),
        ({"sub_label": "s" * 129}, {"sub_label": "s" * 128}, "too_long:sub_label"),
        ({"current_zones": ["z" * 129]}, {"current_zones": ["z" * 128]}, "bad_type:current_zones"),
        (
            {"entered_zones": [f"z{n}" for n in range(33)]},
            {"entered_zones": [f"z{n}" for n in range(32)]},
            "bad_type:entered_zones",
        ),
    ],
)
def test_names_are_bounded(
    changes: dict[str, object], limit: dict[str, object], reason: str
) -> None:
    """A publisher on the broker cannot park megabytes in a remembered name."""
    assert parse_event(dumps(event(**changes)), NOW) == Rejected(reason)
    assert isinstance(parse_event(dumps(event(**limit)), NOW), Observation)


# ------------------------------------------------- the usual message, read in one go

INFINITY = "<1e400>"
"""Written as the number 1e400, which the stdlib decoder reads as inf (orjson refuses it)."""


def dumps_with_infinity(value: object) -> str:
    return dumps(value).replace(f'"{INFINITY}"', "1e400")


usual_afters = st.fixed_dictionaries(
    {
        "id": st.sampled_from([EVENT_ID, "1718031299.5-xyz"]),
        "camera": st.sampled_from(["backyard", "yard"]),
        "label": st.sampled_from(["person", "car"]),
        "score": st.sampled_from([0.5, 0.875, 1.0]),
        "top_score": st.sampled_from([0.875, None]),
        "sub_label": st.none(),
        "current_zones": st.sampled_from([[], ["yard"], ["yard", "patio"]]),
        "entered_zones": st.sampled_from([[], ["yard"]]),
        "stationary": st.booleans(),
        "frame_time": st.sampled_from([1718031240.5, 1718031241.25]),
    }
)
"""What Frigate 0.14+ usually sends: the shape `parse_event` reads in one go."""
unusual_values = st.sampled_from(
    [
        *[("id", ""), ("id", "i" * 129), ("id", 7), ("camera", ""), ("camera", "n" * 129)],
        *[("camera", None), ("label", 7), ("label", ""), ("score", 1), ("score", 1.5)],
        *[("score", -0.25), ("score", True), ("score", None), ("top_score", 1.5)],
        *[("top_score", "0.5"), ("sub_label", "bob"), ("sub_label", ["bob", 0.9])],
        *[("sub_label", ""), ("current_zones", [""]), ("current_zones", [3])],
        *[("current_zones", [["x"]]), ("current_zones", "yard"), ("current_zones", None)],
        *[("entered_zones", [f"z{n}" for n in range(33)]), ("entered_zones", ["z" * 129])],
        *[("entered_zones", None), ("entered_zones", "yard"), ("camera", ["backyard"])],
        *[("label", ["person"]), ("stationary", None), ("stationary", 0)],
        *[("frame_time", 1718031240)],
        *[("frame_time", None), ("frame_time", "1"), ("frame_time", INFINITY)],
    ]
)
"""One field each: valid another way, or not at all (the checked way must answer)."""


@fuzz
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["new", "update", "end", "gone", 3]),
            usual_afters,
            st.lists(unusual_values, max_size=2),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_the_usual_way_answers_as_the_checked_way(
    messages: list[tuple[object, dict[str, Any], list[tuple[str, object]]]],
) -> None:
    """Whatever the caches hold, reading a message in one go gives the checked answer.

    Each message is first read without its unusual values, so that the caches hold the
    rest of it; a value valid in one field only (the zone "") may be in them too.
    """
    for _, after, _ in messages:
        assert isinstance(parse_event(dumps({"type": "new", "after": after}), NOW), Observation)
    for msg_type, after, unusual in messages:
        message = {"type": msg_type, "before": {}, "after": {**after, **dict(unusual)}}
        text = dumps_with_infinity(message)
        expected = frigate._checked_event(fields.load(text), NOW)
        assert parse_event(text, NOW) == expected
        assert parse_event(text.encode(), NOW) == expected


def test_a_name_seen_only_as_an_empty_zone_is_still_no_camera() -> None:
    assert isinstance(parse_event(dumps(event()), NOW), Observation)
    assert isinstance(parse_event(dumps(event(current_zones=[""])), NOW), Observation)
    assert parse_event(dumps(event(camera="")), NOW) == Rejected("missing_field:camera")


def test_a_fixture_event_seen_before_takes_the_usual_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = [
        line
        for line in fixture_lines("a_person_backyard_v017.jsonl")
        if line["topic"] == "frigate/events"
    ]
    first = [parse_event(wire_payload(line), NOW) for line in lines]
    monkeypatch.setattr(frigate, "_checked_event", None)  # calling it would raise
    again = [parse_event(wire_payload(line), NOW) for line in lines]
    assert again == first
    assert all(isinstance(obs, Observation) for obs in again)
