"""Parse Frigate MQTT payloads (0.12-0.18) into observations; never raises.

Every message is untrusted: anything unusable comes back as `Rejected(reason)` so the
caller can count and log it. Fields that feed rules are validated, never guessed
(`fields` checks and shares each value). Only `after` is read, because `before` of a
`new` message is the object while it was still a false positive.

`parse_event` runs once per MQTT message on Home Assistant's event loop, between
Frigate and the alert. A message usually arrives after the loop sat idle, with the
CPU caches cold, where the cost is set by how much code and data one message touches
rather than by the work done. So the usual message (what Frigate 0.14+ sends for an
object nobody has named yet, with names, zones and score seen before) is read in one
function: every value is checked by its type and found in the sharing caches, which
hold only values that passed their check. Anything else goes the checked way, one
helper per field, which gives the same observation or says why there is none.
"""

from __future__ import annotations

import math
from typing import Any, Final

from .fields import (
    MAX_NAME_CHARS,
    MAX_ZONES,
    Rejected,
    confidence,
    frame_time_of,
    identity_of,
    load,
    share,
    share_id,
    shared_names,
    shared_percents,
    shared_zones,
    source_of,
    sub_label_of,
    text_of,
    zones_of,
)
from .model import Kind, Observation, Source

_KINDS: Final[dict[str, Kind]] = {"new": Kind.NEW, "update": Kind.UPDATE, "end": Kind.END}
_AVAILABLE: Final[dict[str, bool]] = {"online": True, "offline": False, "stopped": False}

# Shared, immutable rejections for the common failures (no allocation on bad input).
_NOT_AN_OBJECT: Final = Rejected("not_an_object")
_MISSING_TYPE: Final = Rejected("missing_field:type")
_UNKNOWN_TYPE: Final = Rejected("unknown_type")
_MISSING_AFTER: Final = Rejected("missing_after")
_BAD_AFTER: Final = Rejected("bad_type:after")
_UNKNOWN_PAYLOAD: Final = Rejected("unknown_payload")


def _envelope(data: object) -> tuple[Kind, dict[str, Any]] | Rejected:
    """`type` and `after` of a decoded events/reviews message."""
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


def parse_event(payload: str | bytes | bytearray, observed_at: float) -> Observation | Rejected:
    """One `<prefix>/events` message as an observation of its `after` object."""
    data = load(payload)
    observation = _usual_event(data, observed_at)
    return observation if observation is not None else _checked_event(data, observed_at)


def _usual_event(data: object, observed_at: float) -> Observation | None:
    """The usual message read in one go; None: anything else (the checked way answers)."""
    if type(data) is not dict:
        return None
    type_ = data.get("type")
    after = data.get("after")
    if type(type_) is not str or type(after) is not dict:
        return None
    get = after.get
    event_id = get("id")
    camera = get("camera")
    label = get("label")
    score = get("score")
    top_score = get("top_score")
    current = get("current_zones")
    entered = get("entered_zones")
    stationary = get("stationary")
    frame_time = get("frame_time")
    if not (
        type(event_id) is str
        and 0 < len(event_id) <= MAX_NAME_CHARS
        and type(camera) is str
        and type(label) is str
        and type(score) is float
        and (top_score is None or (type(top_score) is float and 0 <= top_score <= 1))
        and get("sub_label") is None
        and type(current) is list
        and len(current) <= MAX_ZONES  # longer lists are never in the cache
        and type(entered) is list
        and len(entered) <= MAX_ZONES
        and type(stationary) is bool
        and type(frame_time) is float
        and math.isfinite(frame_time)
    ):
        return None
    kind = _KINDS.get(type_)
    camera = shared_names.get(camera)
    label = shared_names.get(label)
    confidence_pct = shared_percents.get(score)
    try:
        zones = shared_zones.get(tuple(current))
        entered_zones = shared_zones.get(tuple(entered))
    except TypeError:  # unhashable items: not zone names
        return None
    if (
        kind is None
        or camera is None
        or label is None
        or confidence_pct is None
        or zones is None
        or entered_zones is None
    ):
        return None
    return Observation(
        event_id=share_id(event_id),
        camera=camera,
        label=label,
        sub_label=None,
        confidence_pct=confidence_pct,
        zones=zones,
        entered_zones=entered_zones,
        stationary=stationary,
        kind=kind,
        source=Source.EVENTS,
        frame_time=frame_time,
        observed_at=observed_at,
    )


def _checked_event(data: object, observed_at: float) -> Observation | Rejected:
    """`parse_event` one field at a time: the same observation, or why there is none."""
    envelope = _envelope(data)
    if isinstance(envelope, Rejected):
        return envelope
    kind, after = envelope

    identity = identity_of(after)
    if isinstance(identity, Rejected):
        return identity
    event_id, camera, label = identity
    confidence_pct = confidence(after.get("score"), "score")
    if isinstance(confidence_pct, Rejected):
        return confidence_pct
    top_score = after.get("top_score")
    if top_score is not None:  # checked like `score`, not kept: nothing reads it
        top_confidence = confidence(top_score, "top_score")
        if isinstance(top_confidence, Rejected):
            return top_confidence
    sub_label = sub_label_of(after.get("sub_label"))
    if isinstance(sub_label, Rejected):
        return sub_label
    zones = zones_of(after.get("current_zones"))
    if zones is None:
        return Rejected("bad_type:current_zones")
    entered_zones = zones_of(after.get("entered_zones"))
    if entered_zones is None:
        return Rejected("bad_type:entered_zones")
    stationary = after.get("stationary")
    if stationary is None:
        stationary = False
    elif type(stationary) is not bool:
        return Rejected("bad_type:stationary")
    frame_time = frame_time_of(after.get("frame_time"))
    if isinstance(frame_time, Rejected):
        return frame_time

    return Observation(
        event_id=event_id,
        camera=camera,
        label=label,
        sub_label=sub_label,
        confidence_pct=confidence_pct,
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
    envelope = _envelope(load(payload))
    if isinstance(envelope, Rejected):
        return envelope
    kind, after = envelope

    source = source_of(after)
    if isinstance(source, Rejected):
        return source
    review_id, camera = source
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
    zones = zones_of(data.get("zones"))
    if zones is None:
        return Rejected("bad_type:zones")

    return tuple(
        Observation(
            event_id=review_id,
            camera=camera,
            label=share(label),
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
    text = text_of(payload)
    if isinstance(text, Rejected):
        return text
    available = _AVAILABLE.get(text.strip().lower())
    return _UNKNOWN_PAYLOAD if available is None else available
