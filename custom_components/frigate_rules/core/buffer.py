"""Rolling, bounded, per-camera store of recent observations."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from .model import Observation

# Cameras/zones remembered for the rule form's suggestions; a cap so that garbage
# camera names in hostile payloads cannot grow memory without bound.
MAX_REMEMBERED_NAMES = 1000


class DetectionBuffer:
    """Observations by camera, bounded in age and in total count.

    Per-camera deques keep `recent` proportional to what a rule watches, not to the
    whole buffer. Observations arrive in receive order, so each deque is sorted by
    `observed_at` and can be trimmed from the left.
    """

    def __init__(self, retention_seconds: float, max_observations: int) -> None:
        self._by_camera: dict[str, deque[Observation]] = {}
        self._size = 0
        self.retention_seconds = float(retention_seconds)
        self.max_observations = int(max_observations)
        self.dropped = 0
        self.expired = 0
        self.zones_seen: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return self._size

    @property
    def cameras(self) -> list[str]:
        """Cameras seen so far (sorted), including ones whose deque has emptied."""
        return sorted(self.zones_seen)

    def size_by_camera(self) -> dict[str, int]:
        """Buffered observation count per camera."""
        return {camera: len(items) for camera, items in self._by_camera.items()}

    def add(self, observation: Observation) -> None:
        """Store one observation, then enforce the age and count bounds."""
        camera = observation.camera
        items = self._by_camera.get(camera)
        if items is None:
            items = self._by_camera[camera] = deque()
        items.append(observation)
        self._size += 1
        self._remember(observation)
        self._trim_age(items, observation.observed_at - self.retention_seconds)
        while self._size > self.max_observations:
            self._drop_oldest()

    def recent(
        self, cameras: Iterable[str], labels: Collection[str], since: float
    ) -> list[Observation]:
        """Observations of `cameras` with a label in `labels` and `observed_at >= since`.

        Only the asked cameras' deques are read, newest first until `since` is
        passed; the result is in chronological order per camera.
        """
        found: list[Observation] = []
        for camera in cameras:
            items = self._by_camera.get(camera)
            if not items:
                continue
            start = len(found)
            for observation in reversed(items):
                if observation.observed_at < since:
                    break
                if observation.label in labels:
                    found.append(observation)
            found[start:] = found[start:][::-1]
        return found

    def latest(self, limit: int) -> list[Observation]:
        """The `limit` most recent observations across cameras (for diagnostics)."""
        merged = sorted(
            (o for items in self._by_camera.values() for o in items),
            key=lambda o: o.observed_at,
        )
        return merged[-limit:] if limit > 0 else []

    def prune(self, now: float) -> None:
        """Drop everything older than the retention (cameras that went quiet too)."""
        cutoff = now - self.retention_seconds
        for items in self._by_camera.values():
            self._trim_age(items, cutoff)

    def clear(self) -> None:
        """Forget every observation (counters and seen names stay)."""
        self._by_camera.clear()
        self._size = 0

    def _trim_age(self, items: deque[Observation], cutoff: float) -> None:
        while items and items[0].observed_at < cutoff:
            items.popleft()
            self._size -= 1
            self.expired += 1

    def _drop_oldest(self) -> None:
        oldest = min(
            (items for items in self._by_camera.values() if items),
            key=lambda items: items[0].observed_at,
        )
        oldest.popleft()
        self._size -= 1
        self.dropped += 1

    def _remember(self, observation: Observation) -> None:
        zones = self.zones_seen.get(observation.camera)
        if zones is None:
            if len(self.zones_seen) >= MAX_REMEMBERED_NAMES:
                return
            zones = self.zones_seen[observation.camera] = set()
        if len(zones) < MAX_REMEMBERED_NAMES:
            zones.update(observation.zones)
            zones.update(observation.entered_zones)
