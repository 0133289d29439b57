"""Rolling, bounded, per-camera store of recent observations."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable

from .model import Observation

# Cameras/zones remembered for the rule form's suggestions; a cap so that garbage
# camera names in hostile payloads cannot grow memory without bound.
MAX_REMEMBERED_NAMES = 1000


class DetectionBuffer:
    """Observations by camera and label, bounded in age and in total count.

    One deque per (camera, label) keeps `recent` proportional to what a rule
    watches, not to the whole buffer: a person rule never walks past the cars of its
    camera. Observations arrive in receive order, so each deque is sorted by
    `observed_at` and can be trimmed from the left.
    """

    def __init__(self, retention_seconds: float, max_observations: int) -> None:
        self._by_camera: dict[str, dict[str, deque[Observation]]] = {}
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
        return {
            camera: sum(len(items) for items in labels.values())
            for camera, labels in self._by_camera.items()
        }

    def add(self, observation: Observation) -> None:
        """Store one observation, then enforce the age and count bounds."""
        labels = self._by_camera.get(observation.camera)
        if labels is None:
            labels = self._by_camera[observation.camera] = {}
        items = labels.get(observation.label)
        if items is None:
            items = labels[observation.label] = deque()
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

        Only the asked cameras' and labels' deques are read, newest first until
        `since` is passed; the result is in chronological order per camera.
        """
        found: list[Observation] = []
        for camera in cameras:
            by_label = self._by_camera.get(camera)
            if not by_label:
                continue
            start = len(found)
            runs = 0
            for label, items in by_label.items():
                if label not in labels:
                    continue
                run_start = len(found)
                for observation in reversed(items):
                    if observation.observed_at < since:
                        break
                    found.append(observation)
                if len(found) > run_start:
                    runs += 1
            part = found[start:]
            part.reverse()  # each label's run back to arrival order
            if runs > 1:
                part.sort(key=_observed_at)  # stable: same-time ties keep arrival order
            found[start:] = part
        return found

    def latest(self, limit: int) -> list[Observation]:
        """The `limit` most recent observations across cameras (for diagnostics)."""
        merged = sorted(self._all(), key=_observed_at)
        return merged[-limit:] if limit > 0 else []

    def prune(self, now: float) -> None:
        """Drop everything older than the retention (cameras that went quiet too)."""
        cutoff = now - self.retention_seconds
        for labels in self._by_camera.values():
            for items in labels.values():
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
            (items for labels in self._by_camera.values() for items in labels.values() if items),
            key=lambda items: items[0].observed_at,
        )
        oldest.popleft()
        self._size -= 1
        self.dropped += 1

    def _all(self) -> list[Observation]:
        return [
            o for labels in self._by_camera.values() for items in labels.values() for o in items
        ]

    def _remember(self, observation: Observation) -> None:
        zones = self.zones_seen.get(observation.camera)
        if zones is None:
            if len(self.zones_seen) >= MAX_REMEMBERED_NAMES:
                return
            zones = self.zones_seen[observation.camera] = set()
        if len(zones) < MAX_REMEMBERED_NAMES:
            zones.update(observation.zones)
            zones.update(observation.entered_zones)


def _observed_at(observation: Observation) -> float:
    return observation.observed_at
