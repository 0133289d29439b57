"""Rolling store of recent observations, bounded in age, count and distinct names.

Anyone who can publish on the broker chooses the camera, label and zone names, so
every map keyed by a name is bounded, and the cost of a message does not grow with
the number of names seen:

* observations live in one list per camera, in arrival order. The buffer moves an
  observation stamped before the newest one forward to that time (the wall clock
  stepped back), so arrival order is `observed_at` order: a window is found by
  bisection and read as a slice, and same-time ties keep their arrival order for
  every reader (one label or several, the explain path). A rule's window holds its
  cameras' other labels too, which it filters out; one list per label would spare
  that, but would need a log of arrivals to keep ties in order;
* a heap holds each camera's oldest time, so the oldest observation overall (for
  the age and count bounds) is found in O(log cameras);
* a camera whose observations are all gone is forgotten; past `max_names` cameras,
  the one seen least recently is dropped whole (counted in `names_overflow`);
* the names offered by the rule form (`cameras`, `zones_seen`) are remembered apart,
  most recently seen kept, so garbage names cannot push out the real ones for good.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator
from heapq import heapify, heappop, heappush, heapreplace, merge
from itertools import islice
from math import inf
from operator import attrgetter

from .model import Kind, Observation, Source

MAX_BUFFERED_NAMES = 10_000
"""Cameras holding observations at once; past it the least recently seen one goes."""

MAX_REMEMBERED_NAMES = 1000
"""Cameras remembered for the rule form's suggestions (most recently seen kept)."""

MAX_REMEMBERED_ZONES = 100
"""Zones remembered per camera for the rule form's suggestions (most recently seen kept)."""

EXPIRY_STEP_SECONDS = 1.0
"""On `add`, age is enforced once the oldest observation is this far past the retention.

In steps rather than one observation per message, which would cost a heap update on
every message; `prune` is exact.
"""

_OBSERVED_AT = attrgetter("observed_at")
# Fills the consumed front of a camera's list, so the observations can be freed.
_GONE = Observation(
    event_id="",
    camera="",
    label="",
    sub_label=None,
    confidence_pct=None,
    zones=(),
    entered_zones=(),
    stationary=False,
    kind=Kind.END,
    source=Source.EVENTS,
    frame_time=None,
    observed_at=-inf,
)


class Series:
    """One camera's observations in arrival order, consumed from the front.

    A list, so that a window is a bisection and a slice. Taking from the front moves
    `head` and blanks the slots; the list is compacted once a quarter of it is blank,
    so each observation costs O(1) amortized and at most a third of a slot extra.
    `offset` counts what compaction removed, so `offset + i` is the arrival number of
    `items[i]` for as long as this camera stays buffered (`incremental` reads on
    from the last one it saw).
    """

    __slots__ = ("head", "items", "offset")

    def __init__(self) -> None:
        self.items: list[Observation] = []
        self.head = 0
        self.offset = 0

    def __len__(self) -> int:
        return len(self.items) - self.head

    def oldest_at(self) -> float:
        """When the oldest observation kept was received."""
        return self.items[self.head].observed_at

    def newest_first(self) -> Iterator[Observation]:
        """The observations kept, newest first."""
        return islice(reversed(self.items), len(self))

    def take_before(self, cutoff: float) -> int:
        """Drop the observations older than `cutoff`; return how many went."""
        return self.take(bisect_left(self.items, cutoff, self.head, key=_OBSERVED_AT) - self.head)

    def take(self, count: int) -> int:
        """Drop the `count` oldest observations; return `count`."""
        items = self.items
        stop = self.head + count
        if stop * 4 >= len(items):
            del items[:stop]
            self.head = 0
            self.offset += stop
        elif count == 1:
            items[self.head] = _GONE
            self.head = stop
        else:
            items[self.head : stop] = [_GONE] * count
            self.head = stop
        return count


class _SeenZones:
    """A camera's zones, most recently seen last, and the tuples last read for them."""

    __slots__ = ("entered", "names", "zones")

    def __init__(self) -> None:
        self.names: OrderedDict[str, None] = OrderedDict()
        self.zones: tuple[str, ...] | None = None
        self.entered: tuple[str, ...] | None = None


class DetectionBuffer:
    """Observations by camera, bounded in age, total count and number of cameras."""

    def __init__(
        self,
        retention_seconds: float,
        max_observations: int,
        max_names: int = MAX_BUFFERED_NAMES,
    ) -> None:
        # Least recently seen camera first, so the name cap and `latest` are O(1) to start.
        self._series: OrderedDict[str, Series] = OrderedDict()
        # (oldest observed_at, camera) per buffered camera; entries of cameras dropped
        # by the name cap go stale and are skipped (see `_oldest_series`).
        self._heap: list[tuple[float, str]] = []
        self._size = 0
        self._newest_at = -inf
        self._seen: OrderedDict[str, _SeenZones] = OrderedDict()
        self.retention_seconds = float(retention_seconds)
        self.max_observations = int(max_observations)
        self.max_names = max(1, int(max_names))
        self.dropped = 0
        """Observations dropped before their time (count cap, name cap)."""
        self.expired = 0
        """Observations that aged out of the retention."""
        self.names_overflow = 0
        """Cameras dropped whole because `max_names` cameras were buffered."""
        self.clock_corrections = 0
        """Observations moved forward to the newest `observed_at` (clock stepped back)."""

    def __len__(self) -> int:
        return self._size

    @property
    def cameras(self) -> list[str]:
        """Cameras seen recently (sorted), including ones with nothing buffered."""
        return sorted(self._seen)

    @property
    def zones_seen(self) -> dict[str, set[str]]:
        """Zones seen recently per remembered camera (a copy)."""
        return {camera: set(seen.names) for camera, seen in self._seen.items()}

    def size_by_camera(self) -> dict[str, int]:
        """Buffered observation count per camera that has any."""
        return {camera: len(series) for camera, series in self._series.items()}

    def add(self, observation: Observation) -> None:
        """Store one observation, then enforce the age, count and name bounds.

        An observation stamped before the newest one is moved forward to that time,
        so that `observed_at` never goes backwards in the buffer.
        """
        at = observation.observed_at
        if at < self._newest_at:
            observation.observed_at = at = self._newest_at
            self.clock_corrections += 1
        else:
            self._newest_at = at
        camera = observation.camera
        series = self._series.get(camera)
        if series is None:
            if len(self._series) >= self.max_names:
                self._drop_least_recent_camera()
            series = self._series[camera] = Series()
            heappush(self._heap, (at, camera))
        else:
            self._series.move_to_end(camera)
        series.items.append(observation)
        self._size += 1
        self._remember(observation)
        cutoff = at - self.retention_seconds
        if self._heap[0][0] < cutoff - EXPIRY_STEP_SECONDS:
            self._expire(cutoff, cutoff - EXPIRY_STEP_SECONDS)
        if self._size > self.max_observations:
            self._drop_oldest(self._size - self.max_observations)

    def series(self, camera: str) -> Series | None:
        """`camera`'s observations as stored (a new object once the camera was dropped)."""
        return self._series.get(camera)

    def window(self, camera: str, since: float = -inf, until: float = inf) -> list[Observation]:
        """Observations of `camera` with `since <= observed_at <= until`, any label.

        In arrival order, which is time order with same-time ties as they arrived.
        O(log n) to find plus the length of the result. The list is the caller's.
        """
        series = self._series.get(camera)
        if series is None:
            return []
        items = series.items
        start = series.head
        if items[start].observed_at < since:
            start = bisect_left(items, since, start, key=_OBSERVED_AT)
        if items[-1].observed_at <= until:
            return items[start:]
        return items[start : bisect_right(items, until, start, key=_OBSERVED_AT)]

    def recent(
        self, cameras: Iterable[str], labels: Collection[str], since: float
    ) -> list[Observation]:
        """Observations of `cameras` with a label in `labels` and `observed_at >= since`.

        Camera by camera, each in arrival order (see `window`).
        """
        return [o for camera in cameras for o in self.window(camera, since) if o.label in labels]

    def latest(self, limit: int) -> list[Observation]:
        """The `limit` most recent observations across cameras, oldest first.

        They are on the `limit` cameras seen last at most, so only those are merged:
        O(limit log limit) whatever the buffer holds.
        """
        if limit <= 0:
            return []
        runs = [
            self._series[camera].newest_first() for camera in islice(reversed(self._series), limit)
        ]
        found = list(islice(merge(*runs, key=_OBSERVED_AT, reverse=True), limit))
        found.reverse()
        return found

    def prune(self, now: float) -> None:
        """Drop everything older than the retention (cameras that went quiet too)."""
        cutoff = now - self.retention_seconds
        self._expire(cutoff, cutoff)

    def clear(self) -> None:
        """Forget every observation (counters, remembered names and clock stay)."""
        self._series.clear()
        self._heap.clear()
        self._size = 0

    def _oldest_series(self) -> tuple[str, Series] | None:
        """The camera holding the oldest observation, after dropping stale heap entries.

        An entry is stale when its camera was dropped by the name cap (it may be back
        since, with an entry of its own): its time is then not that camera's oldest,
        or if it is, taking from that camera still takes an oldest observation.
        """
        heap = self._heap
        while heap:
            at, camera = heap[0]
            series = self._series.get(camera)
            if series is not None and series.oldest_at() == at:
                return camera, series
            heappop(heap)
        return None

    def _after_take(self, camera: str, series: Series) -> None:
        """Re-key the top heap entry (`camera`'s) after taking from its front."""
        if series:
            heapreplace(self._heap, (series.oldest_at(), camera))
        else:
            heappop(self._heap)
            del self._series[camera]

    def _expire(self, cutoff: float, when_before: float) -> None:
        """Drop what is older than `cutoff`, if the oldest is older than `when_before`."""
        top = self._oldest_series()
        if top is None or top[1].oldest_at() >= when_before:
            return
        while top is not None and top[1].oldest_at() < cutoff:
            camera, series = top
            taken = series.take_before(cutoff)
            self._size -= taken
            self.expired += taken
            self._after_take(camera, series)
            top = self._oldest_series()

    def _drop_oldest(self, count: int) -> None:
        while count > 0 and (top := self._oldest_series()) is not None:
            camera, series = top
            series.take(1)
            self._size -= 1
            self.dropped += 1
            count -= 1
            self._after_take(camera, series)

    def _drop_least_recent_camera(self) -> None:
        _, series = self._series.popitem(last=False)
        self._size -= len(series)
        self.dropped += len(series)
        self.names_overflow += 1
        # Its heap entry is now stale; rebuild before stale entries outnumber live ones.
        if len(self._heap) > 2 * len(self._series) + 64:
            self._heap = [(s.oldest_at(), c) for c, s in self._series.items()]
            heapify(self._heap)

    def _remember(self, observation: Observation) -> None:
        """Note the camera and its zones as seen now (O(1) unless its zones changed)."""
        seen = self._seen
        camera = observation.camera
        memory = seen.get(camera)
        if memory is None:
            memory = seen[camera] = _SeenZones()
            if len(seen) > MAX_REMEMBERED_NAMES:
                seen.popitem(last=False)
        else:
            seen.move_to_end(camera)
        # The parser shares zone tuples, so an object whose zones did not change brings
        # the same tuples: those zones are then already the camera's most recent ones.
        if observation.zones is memory.zones and observation.entered_zones is memory.entered:
            return
        memory.zones = observation.zones
        memory.entered = observation.entered_zones
        names = memory.names
        for zone in (*observation.zones, *observation.entered_zones):
            if zone in names:
                names.move_to_end(zone)
            else:
                names[zone] = None
                if len(names) > MAX_REMEMBERED_ZONES:
                    names.popitem(last=False)
