"""Frigate's HTTP API events as observations, on Home Assistant's clock (DESIGN 4.10).

While MQTT is down or silent, the REST fallback polls `/api/events`. An API event is
not a message: it is a row of Frigate's events table, on Frigate's clock, with the
score of its best snapshot (`data.score` from 0.13, `top_score` before) rather than of
the latest frame. This module maps such rows to observations (`source: rest`), maps
Frigate's times to HA's with the skew measured on MQTT messages before the outage,
and remembers which (event id, Frigate time) pairs were already taken so a poll and
the catch-up never add one twice. Pure: no I/O, no Home Assistant.
"""

from __future__ import annotations

import math
import statistics
from collections import OrderedDict, deque
from typing import Any, Final

from .fields import Rejected, confidence, identity_of, sub_label_of, zones_of
from .model import Kind, Observation, Source

# Recent MQTT frame times kept to estimate Frigate's clock skew (median: one late
# message must not move it).
SKEW_SAMPLES: Final = 32
# (event id, Frigate time) pairs remembered against duplicates; older ones fall out.
SEEN_CAP: Final = 4096


class ClockSkew:
    """Frigate's clock minus HA's, from (frame_time, receive time) pairs of MQTT messages."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=SKEW_SAMPLES)

    def note(self, frame_time: float | None, received_at: float) -> None:
        """One MQTT observation: Frigate stamped it `frame_time`, HA got it `received_at`."""
        if frame_time is not None and math.isfinite(frame_time):
            self._samples.append(frame_time - received_at)

    @property
    def seconds(self) -> float:
        """The estimate (0 until a message was seen): Frigate time = HA time + this."""
        return float(statistics.median(self._samples)) if self._samples else 0.0

    def to_ha(self, frigate_time: float) -> float:
        """A Frigate timestamp on HA's clock."""
        return frigate_time - self.seconds

    def to_frigate(self, ha_time: float) -> float:
        """An HA timestamp on Frigate's clock (for `after=` queries)."""
        return ha_time + self.seconds


def api_score(event: dict[str, Any]) -> object:
    """The score an API event carries: `data.score`, else `top_score`, else `score`."""
    data = event.get("data")
    if isinstance(data, dict) and data.get("score") is not None:
        return data.get("score")
    if event.get("top_score") is not None:
        return event.get("top_score")
    return event.get("score")


def parse_api_event(event: object, observed_at: float) -> Observation | Rejected:
    """One row of `/api/events` as an observation made at `observed_at` (HA's clock).

    The API has no current zones: the zones the object has been in stand for them.
    Nor has it a stationary flag: a row counts as moving.
    """
    if not isinstance(event, dict):
        return Rejected("not_an_object")
    identity = identity_of(event)
    if isinstance(identity, Rejected):
        return identity
    event_id, camera, label = identity
    confidence_pct = confidence(api_score(event), "score")
    if isinstance(confidence_pct, Rejected):
        return confidence_pct
    sub_label = sub_label_of(event.get("sub_label"))
    if isinstance(sub_label, Rejected):
        return sub_label
    zones = zones_of(event.get("zones"))
    if zones is None:
        return Rejected("bad_type:zones")
    end_time = event.get("end_time")
    return Observation(
        event_id=event_id,
        camera=camera,
        label=label,
        sub_label=sub_label,
        confidence_pct=confidence_pct,
        zones=zones,
        entered_zones=zones,
        stationary=False,
        kind=Kind.UPDATE,
        source=Source.REST,
        frame_time=end_time if isinstance(end_time, int | float) else None,
        observed_at=observed_at,
    )


class SeenEvents:
    """(event id, Frigate time) pairs already turned into observations, bounded."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[str, float], None] = OrderedDict()

    def first_time(self, event_id: str, frigate_time: float) -> bool:
        """True (and remembered) unless this pair was taken before."""
        key = (event_id, round(frigate_time, 3))
        if key in self._seen:
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_CAP:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
