"""What is known about each tracked object (Frigate event id): who it is, where it stays.

Rules on recognized or unknown people (DESIGN 4.8) and loitering rules need to know,
per object, when it was first seen, which names Frigate recognized it as, and since
when it has been in which zones. Frigate's names arrive late (a face is recognized
seconds after `new`, on `tracked_object_update`, and every attempt is published, below
Frigate's own threshold too), so this is kept apart from the observations and read at
evaluation time. Bounded: the objects seen least recently are forgotten first, and
each object keeps a few zone changes and names only.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from .model import Observation, ZoneMatch

MAX_OBJECTS: Final = 4096
MAX_SEGMENTS: Final = 32
MAX_NAMES: Final = 8
# Names recognized so far, across objects, offered in the rule form.
MAX_NAMES_SEEN: Final = 200
DEFAULT_MIN_RECOGNITION_PCT: Final = 90.0
_NO_NAMES: Final[frozenset[str]] = frozenset()


@dataclass(slots=True)
class TrackedObject:
    """One Frigate event id, as far as rules need it."""

    first_seen: float
    # (since, zones): where the object was from `since` on, oldest first.
    segments: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    # Names from `sub_label` (Frigate decided) and from recognition updates (with the
    # best score seen, as a percentage).
    sub_labels: set[str] = field(default_factory=set)
    recognized: dict[str, float] = field(default_factory=dict)


class ObjectMemory:
    """Per event id: first sighting, zone history, names; least recently seen forgotten."""

    __slots__ = ("_names_seen", "_objects", "forgotten", "min_recognition_pct")

    def __init__(self, min_recognition_pct: float = DEFAULT_MIN_RECOGNITION_PCT) -> None:
        self._objects: OrderedDict[str, TrackedObject] = OrderedDict()
        self._names_seen: OrderedDict[str, None] = OrderedDict()
        self.min_recognition_pct = float(min_recognition_pct)
        self.forgotten = 0

    def __len__(self) -> int:
        return len(self._objects)

    def get(self, event_id: str) -> TrackedObject | None:
        """What is known of an object (None: never seen, or forgotten)."""
        return self._objects.get(event_id)

    def observe(self, observation: Observation) -> None:
        """An observation of an object: its first sighting, zones and `sub_label`."""
        event_id = observation.event_id
        known = self._objects.get(event_id)
        at = observation.observed_at
        if known is None:
            known = self._objects[event_id] = TrackedObject(first_seen=at)
            if len(self._objects) > MAX_OBJECTS:
                self._objects.popitem(last=False)
                self.forgotten += 1
        else:
            self._objects.move_to_end(event_id)
        zones = observation.zones
        segments = known.segments
        if not segments or segments[-1][1] != zones:
            segments.append((at, zones))
            if len(segments) > MAX_SEGMENTS:
                del segments[0]
        sub_label = observation.sub_label
        if sub_label is not None and len(known.sub_labels) < MAX_NAMES:
            known.sub_labels.add(sub_label)
            self._remember_name(sub_label)

    def recognition(self, event_id: str, name: str, score_pct: float) -> None:
        """A recognition attempt (face, plate, classification) for an object."""
        known = self._objects.get(event_id)
        if known is None:
            return  # an update for an object no observation told us of: nothing to add to
        best = known.recognized.get(name)
        if best is None and len(known.recognized) >= MAX_NAMES:
            return
        if best is None or score_pct > best:
            known.recognized[name] = score_pct
        if score_pct >= self.min_recognition_pct:
            self._remember_name(name)

    @property
    def names_seen(self) -> list[str]:
        """Names recognized lately (most recent last), for the rule form's suggestions."""
        return list(self._names_seen)

    def _remember_name(self, name: str) -> None:
        self._names_seen[name] = None
        self._names_seen.move_to_end(name)
        if len(self._names_seen) > MAX_NAMES_SEEN:
            self._names_seen.popitem(last=False)

    def names(self, event_id: str) -> frozenset[str]:
        """Names the object is recognized as: its sub_label, or updates at the threshold."""
        known = self._objects.get(event_id)
        if known is None or not (known.sub_labels or known.recognized):
            return _NO_NAMES
        threshold = self.min_recognition_pct
        updates = (name for name, pct in known.recognized.items() if pct >= threshold)
        return frozenset((*known.sub_labels, *updates))

    def in_zones_since(
        self, event_id: str, zones: Iterable[str], match: ZoneMatch, now: float
    ) -> float | None:
        """When the object's current stay in `zones` began (None: not in them now).

        No zones: the whole camera, i.e. since its first sighting. A stay is broken by
        any observation outside the zones (leaving restarts the clock).
        """
        known = self._objects.get(event_id)
        if known is None:
            return None
        wanted = frozenset(zones)
        if not wanted:
            return known.first_seen
        start: float | None = None
        for since, where in reversed(known.segments):
            if since > now:
                continue
            if match is ZoneMatch.ALL:
                inside = wanted.issubset(where)
            else:
                inside = not wanted.isdisjoint(where)
            if not inside:
                break
            start = since
        return start

    def prune(self, before: float) -> None:
        """Forget objects not seen since `before` (their observations are gone too)."""
        stale = [
            event_id
            for event_id, known in self._objects.items()
            if (known.segments[-1][0] if known.segments else known.first_seen) < before
        ]
        for event_id in stale:
            del self._objects[event_id]
