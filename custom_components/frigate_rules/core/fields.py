"""Checked, shared field values of untrusted Frigate payloads; nothing here raises.

Every Frigate parser (MQTT events, reviews and recognitions, the HTTP API) decodes
and checks its fields with these helpers, so a score, a name or a zone list means the
same wherever it came from: a value outside its range comes back as `Rejected(reason)`
rather than being guessed at. Observations are buffered by the thousand, so repeated
strings, zone tuples and confidences are shared through small bounded caches instead
of being held once per observation; what a cache holds has passed its check.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

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

# Shared, immutable rejections for the common failures (no allocation on bad input).
_TOO_LARGE: Final = Rejected("too_large")
_NOT_JSON: Final = Rejected("not_json")
_BAD_ENCODING: Final = Rejected("bad_encoding")
_BAD_PAYLOAD_TYPE: Final = Rejected("bad_type:payload")

# Sharing caches. Plain dicts: lookups are one hash probe; growth stops at the cap so
# hostile payloads with endless distinct names cannot grow memory without bound. Only
# these functions write them; `frigate.parse_event` reads them.
shared_names: dict[str, str] = {}
shared_zones: dict[tuple[str, ...], tuple[str, ...]] = {}
shared_percents: dict[float, float] = {}
recent_ids: dict[str, str] = {}


def clear_caches() -> None:
    """Forget every shared value (tests start from empty caches)."""
    shared_names.clear()
    shared_zones.clear()
    shared_percents.clear()
    recent_ids.clear()


def cache_sizes() -> dict[str, int]:
    """Entries per sharing cache, for diagnostics and tests."""
    return {
        "strings": len(shared_names),
        "zone_tuples": len(shared_zones),
        "percents": len(shared_percents),
        "recent_ids": len(recent_ids),
    }


def share(value: str) -> str:
    """Return the shared copy of a camera/label/zone/sub-label string.

    Only names (non-empty, at most MAX_NAME_CHARS) are kept, whoever asks: a string
    found in the cache is a valid name, which `frigate.parse_event` relies on.
    """
    shared = shared_names.get(value)
    if shared is None:
        shared = value
        if 0 < len(value) <= MAX_NAME_CHARS and len(shared_names) < SHARED_CACHE_CAP:
            shared_names[value] = value
    return shared


def share_id(value: str) -> str:
    """Return the copy of an event id held by recent messages (oldest forgotten first)."""
    shared = recent_ids.get(value)
    if shared is None:
        shared = recent_ids[value] = value
        if len(recent_ids) > RECENT_IDS_CAP:
            del recent_ids[next(iter(recent_ids))]
    return shared


def _percent(score: float) -> float:
    """`score` x 100, shared: scores are multiples of 1/256, so few distinct values."""
    pct = shared_percents.get(score)
    if pct is None:
        pct = score * 100.0
        if len(shared_percents) < SHARED_CACHE_CAP:
            shared_percents[score] = pct
    return pct


def load(payload: object) -> object:
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


def name_of(value: object, field: str) -> str | Rejected:
    """A camera or label: a non-empty string of at most MAX_NAME_CHARS, shared."""
    if type(value) is str and value and len(value) <= MAX_NAME_CHARS:
        return share(value)
    return bad_string(field, value)


def id_of(value: object, field: str = "id") -> str | Rejected:
    """An event or review id: checked like a name, shared while the event goes on."""
    if type(value) is str and value and len(value) <= MAX_NAME_CHARS:
        return share_id(value)
    return bad_string(field, value)


def source_of(data: dict[str, Any]) -> tuple[str, str] | Rejected:
    """`id` and `camera` of a tracked object or a review."""
    event_id = id_of(data.get("id"))
    if isinstance(event_id, Rejected):
        return event_id
    camera = name_of(data.get("camera"), "camera")
    if isinstance(camera, Rejected):
        return camera
    return event_id, camera


def identity_of(data: dict[str, Any]) -> tuple[str, str, str] | Rejected:
    """`id`, `camera` and `label` of a tracked object (an MQTT event's `after`, an API row)."""
    source = source_of(data)
    if isinstance(source, Rejected):
        return source
    label = name_of(data.get("label"), "label")
    if isinstance(label, Rejected):
        return label
    return *source, label


def bad_string(name: str, value: object) -> Rejected:
    """Why a required non-empty string field is unusable."""
    if value is None or value == "":
        return Rejected(f"missing_field:{name}")
    if type(value) is str:
        return Rejected(f"too_long:{name}")
    return Rejected(f"bad_type:{name}")


def confidence(value: object, name: str) -> float | Rejected:
    """Turn a 0..1 score into a shared percentage (x 100); reject anything else."""
    if type(value) is float or type(value) is int:  # not bool: JSON true is no score
        if 0 <= value <= 1:  # False for NaN and infinities
            return _percent(float(value))
        return Rejected(f"{name}_out_of_range")
    if value is None:
        return Rejected(f"missing_field:{name}")
    return Rejected(f"bad_type:{name}")


def zones_of(value: object) -> tuple[str, ...] | None:
    """Turn a list of zone names into a shared tuple; None when not a list of strings."""
    if value is None:
        return ()
    if type(value) is not list or len(value) > MAX_ZONES:
        return None
    key = tuple(value)
    try:
        shared = shared_zones.get(key)
    except TypeError:  # unhashable items (lists, objects) are not zone names
        return None
    if shared is None:
        if not all(type(zone) is str and len(zone) <= MAX_NAME_CHARS for zone in key):
            return None
        shared = tuple([share(zone) for zone in key])
        if len(shared_zones) < SHARED_CACHE_CAP:
            shared_zones[shared] = shared
    return shared


def sub_label_of(value: object) -> str | None | Rejected:
    """`sub_label`: a string in 0.12, `[name, score]` from 0.13 (score may be null)."""
    if type(value) is list:
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if type(value) is str:
        return share(value) if len(value) <= MAX_NAME_CHARS else Rejected("too_long:sub_label")
    return Rejected("bad_type:sub_label")


def frame_time_of(value: object) -> float | None | Rejected:
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


def text_of(payload: object) -> str | Rejected:
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
