"""Each rule's candidates per camera, kept up to date instead of filtered again.

Re-reading a rule's window on every message costs what the window holds: at a few
hundred messages a second over a 10 s window, thousands of observations per rule per
message, for the one that arrived. `CandidateCache` keeps, per (rule, camera), the
candidates found so far with their arrival numbers (`buffer.Series`); an evaluation
filters only what arrived since (with `verdict.candidates`, the one filter) and drops
from the front what left the window or the buffer. `max` keeps a monotonic queue, so
it is O(1) amortized; `latest` is the last candidate; `percentile` sorts the
candidates (not the window). `verdict.decide` concludes, as on the other paths.

The cache is only a shortcut: whenever it cannot vouch for its state (the rule or
the camera's series is new, time went back, something arrived stamped after `now`)
it starts that camera again from the buffer. A camera where nothing arrived or left
answers with its last fold. It holds only observations the buffer held at the rule's
last evaluation, and the rule's timer evaluates it again when its oldest candidate
leaves the window, so it never keeps one much longer than the buffer does. Rules that
judge objects (who, how long) change without an arrival and read their windows as
before.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from operator import attrgetter

from .buffer import DetectionBuffer, Series
from .model import Aggregation, Observation, Rule
from .verdict import Fold, aggregate, candidates, percentile_rank

_OBSERVED_AT = attrgetter("observed_at")
_CONFIDENCE = attrgetter("confidence_pct")


class _CameraCandidates:
    """One rule's candidates on one camera, oldest first, with their arrival numbers."""

    __slots__ = ("end", "fold", "maxima", "now", "observations", "positions", "rule", "series")

    def __init__(self, rule: Rule, series: Series, end: int, now: float) -> None:
        self.rule = rule
        self.series = series
        self.end = end  # arrival number of the first observation not looked at yet
        self.now = now
        self.observations: deque[Observation] = deque()
        self.positions: deque[int] = deque()
        # With `max`: candidates whose confidence no later candidate reaches or beats,
        # oldest first, so the front is the newest of the highest.
        self.maxima: deque[tuple[int, Observation]] = deque()
        # The fold of the candidates above; None once they changed.
        self.fold: Fold | None = None


class CandidateCache:
    """Per (rule id, camera): what `conclude` would find, kept up to date."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _CameraCandidates] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything (rules changed; cheap to rebuild on the next message)."""
        self._entries.clear()

    def folds(
        self, rule: Rule, buffer: DetectionBuffer, cameras: tuple[str, ...], now: float
    ) -> dict[str, Fold]:
        """`camera -> Fold` of the rule's candidates in `[now - within_seconds, now]`."""
        since = now - rule.within_seconds
        folds: dict[str, Fold] = {}
        for camera in cameras:
            if camera not in folds:
                fold = self._fold(rule, buffer, camera, since, now)
                if fold is not None:
                    folds[camera] = fold
        return folds

    def _fold(
        self, rule: Rule, buffer: DetectionBuffer, camera: str, since: float, now: float
    ) -> Fold | None:
        key = (rule.rule_id, camera)
        series = buffer.series(camera)
        if series is None:
            self._entries.pop(key, None)
            return None
        items = series.items
        first = series.offset + series.head
        entry = self._entries.get(key)
        if items[-1].observed_at > now:
            # Evaluated at an instant before the newest arrival (a test, a replay):
            # read the window as `conclude` does, and start afresh next time.
            self._entries.pop(key, None)
            window = buffer.window(camera, since, now)
            found = candidates(rule, window)
            return _folded(rule, found) if found else None
        if entry is None or entry.rule is not rule or entry.series is not series or now < entry.now:
            start = bisect_left(items, since, series.head, key=_OBSERVED_AT)
            entry = self._entries[key] = _CameraCandidates(rule, series, series.offset + start, now)
        entry.now = now
        if entry.end < series.offset + len(items):  # something arrived since
            self._take_new(entry, series, max(entry.end, first))
        self._drop_old(entry, first, since)
        if not entry.observations:
            return None
        if entry.fold is None:
            observations = entry.observations
            entry.fold = Fold(self._aggregate(entry), len(observations), observations[0])
        return entry.fold

    @staticmethod
    def _take_new(entry: _CameraCandidates, series: Series, start: int) -> None:
        """Filter what arrived since the last look; keep the candidates."""
        items = series.items
        new = items[start - series.offset :]
        entry.end = series.offset + len(items)
        found = candidates(entry.rule, new)
        if not found:
            return
        entry.fold = None
        keep_maxima = entry.rule.aggregation is Aggregation.MAX
        maxima = entry.maxima
        index = 0
        for position, observation in enumerate(new, start):
            if observation is not found[index]:
                continue
            entry.observations.append(observation)
            entry.positions.append(position)
            if keep_maxima:
                value = observation.confidence_pct
                while maxima and maxima[-1][1].confidence_pct <= value:  # type: ignore[operator]
                    maxima.pop()
                maxima.append((position, observation))
            index += 1
            if index == len(found):
                break

    @staticmethod
    def _drop_old(entry: _CameraCandidates, first: int, since: float) -> None:
        """Drop candidates the buffer let go of (`< first`) or older than `since`."""
        observations, positions, maxima = entry.observations, entry.positions, entry.maxima
        while observations and (positions[0] < first or observations[0].observed_at < since):
            entry.fold = None
            observations.popleft()
            position = positions.popleft()
            if maxima and maxima[0][0] == position:
                maxima.popleft()

    @staticmethod
    def _aggregate(entry: _CameraCandidates) -> Observation:
        rule = entry.rule
        if rule.aggregation is Aggregation.LATEST:
            return entry.observations[-1]
        if rule.aggregation is Aggregation.MAX:
            return entry.maxima[0][1]
        ranked = sorted(entry.observations, key=_CONFIDENCE)
        return ranked[percentile_rank(len(ranked), rule.percentile) - 1]


def _folded(rule: Rule, found: list[Observation]) -> Fold:
    return Fold(aggregate(found, rule.aggregation, rule.percentile), len(found), found[0])
