"""Parse Frigate MQTT payloads (0.12-0.18) into observations; never raises.

Every message is untrusted: anything unusable comes back as `Rejected(reason)` so the
caller can count and log it. Fields that feed rules are validated, never guessed: a
score outside 0..1 is rejected rather than rescaled. Only `after` is read, because
`before` of a `new` message is the object while it was still a false positive.

The hot path runs once per MQTT message on Home Assistant's event loop, so parsing
is one JSON decode plus direct dict access. Observations are buffered by the
thousand, so repeated strings, zone tuples and confidences are shared through small
bounded caches instead of being held once per observation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from .model import Kind, Observation, Source

MAX_PAYLOAD_BYTES: Final = 1 << 20
"""Payloads longer than this (bytes, or characters for `str`) are not decoded."""

MAX_NAME_CHARS: Final = 128
"""Longest camera, label, zone, sub-label or id accepted: Frigate's are config keys and
short ids, and a name is remembered (buffer, rule-form suggestions), so a publisher on
the broker must not be able to park megabytes in one."""

MAX_ZONES: Final = 32
"""Most zones one observation may name (Frigate cameras have a handful)."""

SHARED_CACHE_CAP: Final = 4096
"""Entries per sharing cache (strings, zone tuples, confidences); past it, no sharing."""

RECENT_IDS_CAP: Final = 64
"""Event ids remembered so consecutive updates of one event share one string.

Small on purpose: only events in progress need it (each id would otherwise be held
once per update), and the dict itself counts against the per-observation budget.
"""


@dataclass(slots=True, frozen=True)
class Rejected:
    """A payload that cannot become an observation, with a short stable reason."""

    reason: str


Loads = Callable[[str | bytes | bytearray], object]


def _reject_constant(name: str) -> object:
    """Refuse `NaN`/`Infinity` literals, which are not JSON (orjson refuses them too)."""
    raise ValueError(name)


_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _stdlib_loads(payload: str | bytes | bytearray) -> object:
    """`json.loads` made to fail where orjson fails: bad UTF-8, surrogates, NaN."""
    if isinstance(payload, str):
        if not payload.isascii():  # O(1) flag check; only non-ASCII text pays
            payload.encode()  # UnicodeEncodeError on lone surrogates
        text = payload
    else:
        text = payload.decode()
    value = _DECODER.decode(text)
    if "\\u" in text:  # rare: only payloads with \u escapes pay for this check
        json.dumps(value, ensure_ascii=False).encode()  # escaped lone surrogates
    return value


def select_loads(prefer_orjson: bool = True) -> Loads:
    """Pick the JSON decoder: orjson when importable (HA ships it), else stdlib."""
    if prefer_orjson:
        try:
            import orjson
        except ImportError:
            pass
        else:
            return orjson.loads
    return _stdlib_loads


_loads: Loads = select_loads()

_KINDS: Final[dict[str, Kind]] = {"new": Kind.NEW, "update": Kind.UPDATE, "end": Kind.END}
_AVAILABLE: Final[dict[str, bool]] = {"online": True, "offline": False, "stopped": False}

# Shared, immutable rejections for the common failures (no allocation on bad input).
_TOO_LARGE: Final = Rejected("too_large")
_NOT_JSON: Final = Rejected("not_json")
_BAD_ENCODING: Final = Rejected("bad_encoding")
_BAD_PAYLOAD_TYPE: Final = Rejected("bad_type:payload")
_NOT_AN_OBJECT: Final = Rejected("not_an_object")
_MISSING_TYPE: Final = Rejected("missing_field:type")
_UNKNOWN_TYPE: Final = Rejected("unknown_type")
_MISSING_AFTER: Final = Rejected("missing_after")
_BAD_AFTER: Final = Rejected("bad_type:after")
_UNKNOWN_PAYLOAD: Final = Rejected("unknown_payload")

# Sharing caches. Plain dicts: lookups are one hash probe; growth stops at the cap so
# hostile payloads with endless distinct names cannot grow memory without bound.
_strings: dict[str, str] = {}
_zone_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
_percents: dict[float, float] = {}
_recent_ids: dict[str, str] = {}


def clear_caches() -> None:
    """Forget every shared value (tests and entry unload)."""
    _strings.clear()
    _zone_tuples.clear()
    _percents.clear()
    _recent_ids.clear()


def cache_sizes() -> dict[str, int]:
    """Entries per sharing cache, for diagnostics."""
    return {
        "strings": len(_strings),
        "zone_tuples": len(_zone_tuples),
        "percents": len(_percents),
        "recent_ids": len(_recent_ids),
    }


def _share(value: str) -> str:
    """Return the shared copy of a camera/label/zone/sub-label string."""
    shared = _strings.get(value)
    if shared is None:
        shared = value
        if len(_strings) < SHARED_CACHE_CAP:
            _strings[value] = value
    return shared


def _share_id(value: str) -> str:
    """Return the copy of an event id held by recent messages (oldest forgotten first)."""
    shared = _recent_ids.get(value)
    if shared is None:
        shared = _recent_ids[value] = value
        if len(_recent_ids) > RECENT_IDS_CAP:
            del _recent_ids[next(iter(_recent_ids))]
    return shared


def _percent(score: float) -> float:
    """`score` x 100, shared: scores are multiples of 1/256, so few distinct values."""
    pct = _percents.get(score)
    if pct is None:
        pct = score * 100.0
        if len(_percents) < SHARED_CACHE_CAP:
            _percents[score] = pct
    return pct


def _load(payload: object) -> object:
    """Decode `payload` as JSON, or say why not.

    Typed `object` because callers outside the type checker's reach (MQTT) may hand
    over anything; only text and bytes are decoded.
    """
    if not isinstance(payload, str | bytes | bytearray):
        return _BAD_PAYLOAD_TYPE
    if len(payload) > MAX_PAYLOAD_BYTES:
        return _TOO_LARGE
    try:
        return _loads(payload)
    except (ValueError, RecursionError):  # UnicodeError and JSONDecodeError included
        return _undecodable(payload)


def _undecodable(payload: str | bytes | bytearray) -> Rejected:
    """Tell bad text encoding apart from text that is not JSON (failure path only)."""
    try:
        if isinstance(payload, str):
            payload.encode()
        else:
            payload.decode()
    except UnicodeError:
        return _BAD_ENCODING
    return _NOT_JSON


def _envelope(payload: object) -> tuple[Kind, dict[str, Any]] | Rejected:
    """`type` and `after` of an events/reviews message."""
    data = _load(payload)
    if not isinstance(data, dict):
        return data if isinstance(data, Rejected) else _NOT_AN_OBJECT
    type_ = data.get("type")
    kind = _KINDS.get(type_) if isinstance(type_, str) else None
    if kind is None:
        return _MISSING_TYPE if type_ is None else _UNKNOWN_TYPE
    after = data.get("after")
    if not isinstance(after, dict):
        return _MISSING_AFTER if after is None else _BAD_AFTER
    return kind, after


def _bad_string(name: str, value: object) -> Rejected:
    """Why a required non-empty string field is unusable."""
    if value is None or value == "":
        return Rejected(f"missing_field:{name}")
    if type(value) is str:
        return Rejected(f"too_long:{name}")
    return Rejected(f"bad_type:{name}")


def _confidence(value: object, name: str) -> float | Rejected:
    """Turn a 0..1 score into a shared percentage (x 100); reject anything else."""
    if type(value) is float or type(value) is int:  # not bool: JSON true is no score
        if 0 <= value <= 1:  # False for NaN and infinities
            return _percent(float(value))
        return Rejected(f"{name}_out_of_range")
    if value is None:
        return Rejected(f"missing_field:{name}")
    return Rejected(f"bad_type:{name}")


def _zones(value: object) -> tuple[str, ...] | None:
    """Turn a list of zone names into a shared tuple; None when not a list of strings."""
    if value is None:
        return ()
    if type(value) is not list or len(value) > MAX_ZONES:
        return None
    key = tuple(value)
    try:
        shared = _zone_tuples.get(key)
    except TypeError:  # unhashable items (lists, objects) are not zone names
        return None
    if shared is None:
        if not all(type(zone) is str and len(zone) <= MAX_NAME_CHARS for zone in key):
            return None
        shared = tuple([_share(zone) for zone in key])
        if len(_zone_tuples) < SHARED_CACHE_CAP:
            _zone_tuples[shared] = shared
    return shared


def _sub_label(value: object) -> str | None | Rejected:
    """`sub_label`: a string in 0.12, `[name, score]` from 0.13 (score may be null)."""
    if type(value) is list:
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if type(value) is str:
        return _share(value) if len(value) <= MAX_NAME_CHARS else Rejected("too_long:sub_label")
    return Rejected("bad_type:sub_label")


def _frame_time(value: object) -> float | None | Rejected:
    """Frigate's frame clock (kept for reference, never used for windows)."""
    if value is None:
        return None
    if type(value) is float or type(value) is int:
        try:
            frame_time = float(value)
        except OverflowError:
            frame_time = math.inf
        if math.isfinite(frame_time):
            return frame_time
    return Rejected("bad_type:frame_time")


def parse_event(payload: str | bytes | bytearray, observed_at: float) -> Observation | Rejected:
    """One `<prefix>/events` message as an observation of its `after` object."""
    envelope = _envelope(payload)
    if isinstance(envelope, Rejected):
        return envelope
    kind, after = envelope

    event_id = after.get("id")
    if type(event_id) is not str or not event_id or len(event_id) > MAX_NAME_CHARS:
        return _bad_string("id", event_id)
    camera = after.get("camera")
    if type(camera) is not str or not camera or len(camera) > MAX_NAME_CHARS:
        return _bad_string("camera", camera)
    label = after.get("label")
    if type(label) is not str or not label or len(label) > MAX_NAME_CHARS:
        return _bad_string("label", label)
    confidence = _confidence(after.get("score"), "score")
    if isinstance(confidence, Rejected):
        return confidence
    top_score = after.get("top_score")
    if top_score is not None:  # checked like `score`, not kept: nothing reads it
        top_confidence = _confidence(top_score, "top_score")
        if isinstance(top_confidence, Rejected):
            return top_confidence
    sub_label = _sub_label(after.get("sub_label"))
    if isinstance(sub_label, Rejected):
        return sub_label
    zones = _zones(after.get("current_zones"))
    if zones is None:
        return Rejected("bad_type:current_zones")
    entered_zones = _zones(after.get("entered_zones"))
    if entered_zones is None:
        return Rejected("bad_type:entered_zones")
    stationary = after.get("stationary")
    if stationary is None:
        stationary = False
    elif type(stationary) is not bool:
        return Rejected("bad_type:stationary")
    frame_time = _frame_time(after.get("frame_time"))
    if isinstance(frame_time, Rejected):
        return frame_time

    return Observation(
        event_id=_share_id(event_id),
        camera=_share(camera),
        label=_share(label),
        sub_label=sub_label,
        confidence_pct=confidence,
        zones=zones,
        entered_zones=entered_zones,
        stationary=stationary,
        kind=kind,
        source=Source.EVENTS,
        frame_time=frame_time,
        observed_at=observed_at,
    )


def parse_review(
    payload: str | bytes | bytearray, observed_at: float
) -> tuple[Observation, ...] | Rejected:
    """One `<prefix>/reviews` message (0.14+): one scoreless observation per label."""
    envelope = _envelope(payload)
    if isinstance(envelope, Rejected):
        return envelope
    kind, after = envelope

    review_id = after.get("id")
    if type(review_id) is not str or not review_id or len(review_id) > MAX_NAME_CHARS:
        return _bad_string("id", review_id)
    camera = after.get("camera")
    if type(camera) is not str or not camera or len(camera) > MAX_NAME_CHARS:
        return _bad_string("camera", camera)
    data = after.get("data")
    if type(data) is not dict:
        return Rejected("missing_field:data" if data is None else "bad_type:data")
    objects = data.get("objects")
    if objects is None:
        objects = []
    elif type(objects) is not list or not all(
        type(o) is str and o and len(o) <= MAX_NAME_CHARS for o in objects
    ):
        return Rejected("bad_type:objects")
    zones = _zones(data.get("zones"))
    if zones is None:
        return Rejected("bad_type:zones")

    review_id = _share_id(review_id)
    camera = _share(camera)
    return tuple(
        Observation(
            event_id=review_id,
            camera=camera,
            label=_share(label),
            sub_label=None,
            confidence_pct=None,
            zones=zones,
            entered_zones=zones,
            stationary=False,
            kind=kind,
            source=Source.REVIEWS,
            frame_time=None,
            observed_at=observed_at,
        )
        for label in dict.fromkeys(objects)
    )


def parse_available(payload: str | bytes | bytearray) -> bool | Rejected:
    """`<prefix>/available`: `online` -> True; `offline` (LWT) / `stopped` (0.18) -> False."""
    text = _text(payload)
    if isinstance(text, Rejected):
        return text
    available = _AVAILABLE.get(text.strip().lower())
    return _UNKNOWN_PAYLOAD if available is None else available


def _text(payload: object) -> str | Rejected:
    """Return a plain-text payload as `str` (UTF-8 for bytes)."""
    if not isinstance(payload, str | bytes | bytearray):
        return _BAD_PAYLOAD_TYPE
    if len(payload) > MAX_PAYLOAD_BYTES:
        return _TOO_LARGE
    if isinstance(payload, str):
        return payload
    try:
        return payload.decode()
    except UnicodeError:
        return _BAD_ENCODING
