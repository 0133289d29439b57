"""`<prefix>/tracked_object_update`: who Frigate thinks a tracked object is.

Frigate 0.16+ publishes a message after every recognition attempt for an event id:
`face` (`name` or null, a running-average `score`), `lpr` (`name` of a known plate, the
`plate` read), or `classification` (a custom model's `sub_label`). Attempts below
Frigate's own threshold are published too, so the score is kept and judged against
our `min_recognition_pct`. Other types (descriptions, newer ones) carry no name: they
are ignored, counted, never an error. Like the other parsers, this never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .fields import MAX_NAME_CHARS, Rejected, confidence, load

NAMED_TYPES: Final = frozenset({"face", "lpr", "classification"})


@dataclass(slots=True, frozen=True)
class Recognition:
    """One recognition attempt that named the object (score as a percentage)."""

    event_id: str
    camera: str | None
    name: str
    score_pct: float


@dataclass(slots=True, frozen=True)
class Unnamed:
    """A valid update that names no one: another type, or a face not recognized."""

    kind: str


def parse_tracked_object_update(payload: object) -> Recognition | Unnamed | Rejected:
    """One `tracked_object_update` message."""
    data = load(payload)
    if isinstance(data, Rejected):
        return data
    if not isinstance(data, dict):
        return Rejected("not_an_object")
    kind = data.get("type")
    if type(kind) is not str or not kind:
        return Rejected("missing_field:type")
    if kind not in NAMED_TYPES:
        return Unnamed(kind[:32])
    event_id = data.get("id")
    if type(event_id) is not str or not event_id or len(event_id) > MAX_NAME_CHARS:
        return Rejected("missing_field:id" if not event_id else "bad_type:id")
    name = data.get("name") if kind != "classification" else data.get("sub_label")
    if name is None or name == "":
        return Unnamed(kind)
    if type(name) is not str or len(name) > MAX_NAME_CHARS:
        return Rejected("bad_type:name")
    score = confidence(data.get("score"), "score")
    if isinstance(score, Rejected):
        return score
    camera = data.get("camera")
    return Recognition(
        event_id=event_id,
        camera=camera if type(camera) is str and len(camera) <= MAX_NAME_CHARS else None,
        name=name,
        score_pct=score,
    )
