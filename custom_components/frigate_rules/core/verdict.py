"""The one evaluation truth (DESIGN 4.3) that both paths of `rules` end in.

The gate (alarm state, then availability), the candidate filters, the fold of a
camera's candidates and the choice of the best camera live here once. The fast path
and the explain path differ in what they read and in that the explain path traces
each filter on its way, but both take their outcome from `gate` and `conclude`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Sequence as Ordered
from math import inf
from operator import attrgetter
from typing import NamedTuple

from .model import (
    Aggregation,
    CameraAggregate,
    Context,
    Evaluation,
    Kind,
    Observation,
    OnUnavailable,
    Reason,
    Rule,
    Sequence,
    ZoneMatch,
)
from .objects import ObjectMemory
from .who import ObjectJudgement, judge_objects

_CONFIDENCE = attrgetter("confidence_pct")
_OBSERVED_AT = attrgetter("observed_at")


def gate(rule: Rule, context: Context) -> Evaluation | None:
    """The outcome when the alarm gate or the availability policy decides alone, else None.

    Availability: Frigate itself, then the rule's cameras (DESIGN 4.11): when every one
    of them is unavailable the policy decides too, with reason `camera_unavailable`.
    """
    if rule.alarm_entity is not None and context.alarm_state not in rule.alarm_states:
        return Evaluation(matched=False, reason=Reason.ALARM_STATE)
    if not context.frigate_available:
        return Evaluation(
            matched=rule.on_unavailable is OnUnavailable.TREAT_AS_MATCH,
            reason=Reason.FRIGATE_UNAVAILABLE,
        )
    down = context.unavailable_cameras
    if down and all(camera in down for camera in rule.cameras):
        return Evaluation(
            matched=rule.on_unavailable is OnUnavailable.TREAT_AS_MATCH,
            reason=Reason.CAMERA_UNAVAILABLE,
            unavailable_cameras=tuple(dict.fromkeys(rule.cameras)),
        )
    return None


def sequence_gate(sequence: Sequence, context: Context) -> Evaluation | None:
    """The rules' gate (`verdict.gate`) over every camera of every step, else None.

    A chain needs every step, so a step whose cameras are all unavailable makes the
    whole sequence unavailable (`camera_unavailable`: a fail-safe sequence turns on).
    The usual case (no alarm entity, nothing unavailable) returns at once, without
    building the `Rule` that `verdict.gate` reads.
    """
    if (
        sequence.alarm_entity is None
        and context.frigate_available
        and not context.unavailable_cameras
    ):
        return None
    down = context.unavailable_cameras
    blind = next(
        (step.cameras for step in sequence.steps if all(c in down for c in step.cameras)), None
    )
    as_rule = Rule(
        rule_id=sequence.sequence_id,
        name=sequence.name,
        # With a blind step, the gate judges that step's cameras: all unavailable.
        cameras=blind if blind is not None else sequence.cameras,
        alarm_entity=sequence.alarm_entity,
        alarm_states=sequence.alarm_states,
        on_unavailable=sequence.on_unavailable,
    )
    gated = gate(as_rule, context)
    if gated is not None and gated.reason is Reason.CAMERA_UNAVAILABLE:
        gated.unavailable_cameras = tuple(c for c in sequence.cameras if c in down)
    return gated


def cameras_to_read(rule: Rule, context: Context) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The rule's cameras to evaluate, and those left out because they are unavailable."""
    down = context.unavailable_cameras
    if not down:
        return rule.cameras, ()
    cameras = tuple(camera for camera in rule.cameras if camera not in down)
    return cameras, tuple(dict.fromkeys(c for c in rule.cameras if c in down))


def aggregate(
    candidates: Ordered[Observation], aggregation: Aggregation, percentile: int
) -> Observation:
    """Fold one camera's candidates: the one whose confidence is the camera's aggregate.

    Candidates are scored and in time order (same-time ties in arrival order), so
    ties go to the most recent: `latest` is the last one, `max` the first maximum
    scanning newest first, `percentile` the nearest-rank percentile of a stable sort
    by confidence (rank = ceil(p/100 * n), at least 1). Raises ValueError when there
    are no candidates: such a camera has no aggregate.
    """
    if not candidates:
        raise ValueError("no candidates to aggregate")
    if aggregation is Aggregation.LATEST:
        return candidates[-1]
    if aggregation is Aggregation.MAX:
        return max(reversed(candidates), key=_CONFIDENCE)
    ranked = sorted(candidates, key=_CONFIDENCE)
    return ranked[percentile_rank(len(ranked), percentile) - 1]


def percentile_rank(count: int, percentile: int) -> int:
    """Nearest rank (1-based) of `percentile` among `count` sorted values.

    ceil(p * n / 100) in integer arithmetic, so that e.g. p=7, n=100 gives 7 and not
    the 8 that float rounding (0.07 * 100 = 7.000000000000001) would give.
    """
    return max(1, min(count, -(-(percentile * count) // 100)))


def conclude(
    rule: Rule,
    windows: Iterable[tuple[str, list[Observation]]],
    now: float = 0.0,
    objects: ObjectMemory | None = None,
    judgement: ObjectJudgement | None = None,
) -> Evaluation:
    """Filter, fold and judge each camera's window.

    `windows` holds, per camera of the rule, its observations of any label with
    `now - within_seconds <= observed_at <= now`, in time order (ties as they arrived).
    With `objects`, a rule that judges objects (DESIGN 4.8) keeps only the candidates
    of objects that count; `judgement` collects what that found (the explain path
    passes the one it filled itself, and no `objects`).
    """
    judging = objects is not None and rule.judges_objects
    if judgement is None:
        judgement = ObjectJudgement()
    folds: dict[str, Fold] = {}
    for camera, observations in windows:
        if not observations or camera in folds:
            continue
        found = candidates(rule, observations)
        if judging:
            assert objects is not None
            found = judge_objects(rule, found, now, objects, judgement)
        if found:
            folds[camera] = Fold(
                aggregate(found, rule.aggregation, rule.percentile), len(found), found[0]
            )
    result = decide(rule, folds)
    if judgement.due is not None:
        result.next_change_at = min(result.next_change_at or inf, judgement.due)
    if not result.matched and judgement.awaiting_until is not None:
        result.reason = Reason.AWAITING_RECOGNITION
        result.awaiting_until = judgement.awaiting_until
    return result


class Fold(NamedTuple):
    """One camera's candidates, folded: its aggregate, how many, the oldest."""

    aggregate: Observation
    size: int
    oldest: Observation


def decide(rule: Rule, folds: Mapping[str, Fold]) -> Evaluation:
    """The rule's outcome from its cameras' folds: the best camera, against the threshold.

    The best camera has the highest aggregate (ties: the first camera by name); the
    rule changes next when its oldest candidate leaves the window.
    """
    threshold = rule.min_confidence_pct
    per_camera: dict[str, CameraAggregate] = {}
    best: CameraAggregate | None = None
    count = 0
    oldest = inf
    for camera, fold in folds.items():
        value: float = fold.aggregate.confidence_pct  # type: ignore[assignment]  # scored
        agg = CameraAggregate(camera, value, fold.size, fold.aggregate, value >= threshold)
        per_camera[camera] = agg
        count += fold.size
        oldest = min(oldest, fold.oldest.observed_at)
        if (
            best is None
            or value > best.confidence_pct
            or (value == best.confidence_pct and camera < best.camera)
        ):
            best = agg
    if best is None:
        return Evaluation(matched=False, reason=Reason.NO_DETECTIONS)
    return Evaluation(
        matched=best.matched,
        reason=Reason.MATCHED if best.matched else Reason.BELOW_THRESHOLD,
        camera=best.camera,
        confidence_pct=best.confidence_pct,
        observation=best.observation,
        per_camera=per_camera,
        candidates=count,
        next_change_at=oldest + rule.within_seconds,
    )


def windows_of(
    rule: Rule, observations: Iterable[Observation], now: float, cameras: Iterable[str]
) -> dict[str, list[Observation]]:
    """Given observations in the window, by camera of `cameras`, as `DetectionBuffer.window`."""
    since = now - rule.within_seconds
    windows: dict[str, list[Observation]] = {camera: [] for camera in cameras}
    for obs in sorted(observations, key=_OBSERVED_AT):
        if since <= obs.observed_at <= now:
            window = windows.get(obs.camera)
            if window is not None:
                window.append(obs)
    return windows


def candidates(rule: Rule, observations: list[Observation]) -> list[Observation]:
    """Keep sightings (scored, not `end`) of the rule's labels, moving or allowed, in the zones.

    One comprehension per case rather than one generic predicate: this runs for
    every rule watching the camera of every message. A single rule zone (the usual
    case) is a plain tuple membership test, whatever the match mode.
    """
    labels = rule.labels
    end = Kind.END
    moving_only = not rule.include_stationary
    zones = rule.zones
    if not zones:
        if moving_only:
            return [
                o
                for o in observations
                if o.label in labels
                and o.confidence_pct is not None
                and o.kind is not end
                and not o.stationary
            ]
        return [
            o
            for o in observations
            if o.label in labels and o.confidence_pct is not None and o.kind is not end
        ]
    if len(zones) == 1:
        zone = zones[0]
        return [
            o
            for o in observations
            if o.label in labels
            and zone in o.zones
            and o.confidence_pct is not None
            and o.kind is not end
            and not (moving_only and o.stationary)
        ]
    kept = [
        o
        for o in observations
        if o.label in labels
        and o.confidence_pct is not None
        and o.kind is not end
        and not (moving_only and o.stationary)
    ]
    return in_zones(rule, kept)


def in_zones(rule: Rule, observations: list[Observation]) -> list[Observation]:
    """Keep observations whose current zones satisfy the rule's zones (any or all)."""
    zones = frozenset(rule.zones)
    if rule.zone_match is ZoneMatch.ALL:
        return [o for o in observations if zones.issubset(o.zones)]
    return [o for o in observations if not zones.isdisjoint(o.zones)]
