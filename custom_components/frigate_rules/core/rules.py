"""Pure, deterministic rule evaluation (DESIGN 4.3) with an optional explain trace.

Two paths share every decision that matters:

* the fast path (`explain=False`) runs on every MQTT message for the 2-3 rules that
  watch its camera, so it is one fused list comprehension per camera (a second one
  when the rule has several zones), with no per-candidate allocation beyond the
  candidate lists themselves and no trace;
* the explain path (`explain=True`) applies the same filters one after another and
  records what each one saw, for the `simulate` service.

Both end in `_conclude`, which folds candidates per camera and picks the best camera,
so the two paths cannot disagree on the outcome (a test compares them).

Trace shape: always the nine clauses of `CLAUSES`, in that order. The first clause
with `passed=False` is the one that decided the outcome (see `deciding_clause`);
clauses after it are present with `passed=False` and `details={"skipped": True}`.
A clause that filtered every observation out has `passed=False` and `kept: 0`, so
`no_detections` is pinned on the window, labels, cameras, zones or stationary clause,
`below_threshold` on the threshold clause, and a match leaves every clause passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import inf
from operator import attrgetter

from .buffer import DetectionBuffer
from .model import (
    Aggregation,
    CameraAggregate,
    Clause,
    Context,
    Evaluation,
    Kind,
    Observation,
    OnUnavailable,
    Reason,
    Rule,
    ZoneMatch,
)

ALARM_GATE = "alarm_gate"
AVAILABILITY = "availability"
WINDOW = "window"
LABELS = "labels"
CAMERAS = "cameras"
ZONES = "zones"
STATIONARY = "stationary"
AGGREGATION = "aggregation"
THRESHOLD = "threshold"
CLAUSES = (
    ALARM_GATE,
    AVAILABILITY,
    WINDOW,
    LABELS,
    CAMERAS,
    ZONES,
    STATIONARY,
    AGGREGATION,
    THRESHOLD,
)

_SKIPPED: dict[str, object] = {"skipped": True}
_CONFIDENCE = attrgetter("confidence_pct")
_OBSERVED_AT = attrgetter("observed_at")


class _AnyLabel(frozenset[str]):
    """A label collection that contains every label (explain reads all of them)."""

    __slots__ = ()

    def __contains__(self, item: object) -> bool:
        return True


_ANY_LABEL = _AnyLabel()


def evaluate(
    rule: Rule,
    buffer: DetectionBuffer,
    now: float,
    context: Context,
    *,
    explain: bool = False,
) -> Evaluation:
    """Evaluate `rule` against the buffer at instant `now` (HA's clock, epoch seconds).

    Only the rule's cameras are read. `next_change_at` is when the oldest candidate
    leaves the window (`observed_at + within_seconds`); at exactly that instant the
    candidate is still inside (both window edges are inclusive), so the caller must
    re-evaluate a small tick after it to see the change.

    Relies on the buffer's invariant that each camera's observations are in
    `observed_at` order. With `explain=True` every retained observation of the rule's
    cameras is read, of any label and age, so that the trace can say what the window
    and label clauses threw away; the outcome is the same as without it.
    """
    if explain:
        # dict.fromkeys: a hand-built rule may name a camera twice; read it once.
        observations = buffer.recent(dict.fromkeys(rule.cameras), _ANY_LABEL, -inf)
        return _explain(rule, observations, now, context)
    if _gated(rule, context):
        return _gate_result(rule, context)
    since = now - rule.within_seconds
    labels = rule.labels
    recent = ((camera, buffer.recent((camera,), labels, since)) for camera in rule.cameras)
    return _conclude(rule, recent, now)


def evaluate_observations(
    rule: Rule,
    observations: Iterable[Observation],
    now: float,
    context: Context,
    *,
    explain: bool = False,
) -> Evaluation:
    """Evaluate `rule` against given observations instead of a buffer.

    Same semantics and `next_change_at` contract as `evaluate`; used by the
    `simulate` service for observations passed in the call. They may come in any
    order: they are sorted by `observed_at`, and input order only breaks ties
    (later in input counts as more recent).
    """
    if explain:
        return _explain(rule, observations, now, context)
    if _gated(rule, context):
        return _gate_result(rule, context)
    since = now - rule.within_seconds
    labels = rule.labels
    groups: dict[str, list[Observation]] = {camera: [] for camera in rule.cameras}
    for obs in sorted(observations, key=_OBSERVED_AT):
        if obs.observed_at >= since and obs.label in labels:
            group = groups.get(obs.camera)
            if group is not None:
                group.append(obs)
    return _conclude(rule, groups.items(), now)


def aggregate(values: Sequence[float], aggregation: Aggregation, percentile: int) -> float:
    """Fold one camera's confidences (chronological order) into one number.

    `latest` is the last value, `max` the largest, `percentile` the nearest-rank
    percentile (sort ascending, rank = ceil(p/100 * n), at least 1). Raises
    ValueError on an empty sequence: a camera without candidates has no aggregate.
    """
    if not values:
        raise ValueError("no values to aggregate")
    if aggregation is Aggregation.LATEST:
        return values[-1]
    if aggregation is Aggregation.MAX:
        return max(values)
    return sorted(values)[percentile_rank(len(values), percentile) - 1]


def percentile_rank(count: int, percentile: int) -> int:
    """Nearest rank (1-based) of `percentile` among `count` sorted values.

    ceil(p * n / 100) in integer arithmetic, so that e.g. p=7, n=100 gives 7 and not
    the 8 that float rounding (0.07 * 100 = 7.000000000000001) would give.
    """
    return max(1, min(count, -(-(percentile * count) // 100)))


def deciding_clause(evaluation: Evaluation) -> Clause | None:
    """Return the first clause that did not pass: why the rule is not (plainly) on.

    None when every clause passed (the rule matched on detections) or there is no
    trace. For `frigate_unavailable` with `treat_as_match` it is the availability
    clause even though the rule is on.
    """
    for clause in evaluation.trace:
        if not clause.passed:
            return clause
    return None


# --- gates -------------------------------------------------------------------------


def _gated(rule: Rule, context: Context) -> bool:
    """Tell whether the alarm gate or the availability policy decides alone."""
    if rule.alarm_entity is not None and context.alarm_state not in rule.alarm_states:
        return True
    return not context.frigate_available


def _gate_result(rule: Rule, context: Context, trace: tuple[Clause, ...] = ()) -> Evaluation:
    if rule.alarm_entity is not None and context.alarm_state not in rule.alarm_states:
        return Evaluation(matched=False, reason=Reason.ALARM_STATE, trace=trace)
    return Evaluation(
        matched=rule.on_unavailable is OnUnavailable.TREAT_AS_MATCH,
        reason=Reason.FRIGATE_UNAVAILABLE,
        trace=trace,
    )


# --- shared conclusion -------------------------------------------------------------


def _conclude(
    rule: Rule, recent: Iterable[tuple[str, list[Observation]]], now: float
) -> Evaluation:
    """Filter, fold and judge each camera's recent observations.

    `recent` holds, per camera of the rule, its observations in `observed_at` order,
    already limited to `observed_at >= now - within_seconds` and the rule's labels.
    """
    threshold = rule.min_confidence_pct
    per_camera: dict[str, CameraAggregate] = {}
    best: CameraAggregate | None = None
    count = 0
    oldest = inf
    for camera, observations in recent:
        if not observations or camera in per_camera:
            continue
        candidates = _candidates(rule, observations, now)
        if not candidates:
            continue
        obs = _representative(candidates, rule)
        value: float = obs.confidence_pct  # type: ignore[assignment]  # candidates have one
        agg = CameraAggregate(camera, value, len(candidates), obs, value >= threshold)
        per_camera[camera] = agg
        count += len(candidates)
        oldest = min(oldest, candidates[0].observed_at)
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


def _candidates(rule: Rule, observations: list[Observation], now: float) -> list[Observation]:
    """Keep sightings (scored, not `end`) up to `now`, moving or allowed, in the zones.

    One comprehension per case rather than one generic predicate: this runs for
    every rule watching the camera of every message. A single rule zone (the usual
    case) is a plain tuple membership test, whatever the match mode.
    """
    if observations[-1].observed_at > now:  # only when evaluating the past
        observations = [o for o in observations if o.observed_at <= now]
    end = Kind.END
    moving_only = not rule.include_stationary
    zones = rule.zones
    if not zones:
        if moving_only:
            return [
                o
                for o in observations
                if o.confidence_pct is not None and o.kind is not end and not o.stationary
            ]
        return [o for o in observations if o.confidence_pct is not None and o.kind is not end]
    if len(zones) == 1:
        zone = zones[0]
        return [
            o
            for o in observations
            if zone in o.zones
            and o.confidence_pct is not None
            and o.kind is not end
            and not (moving_only and o.stationary)
        ]
    kept = [
        o
        for o in observations
        if o.confidence_pct is not None and o.kind is not end and not (moving_only and o.stationary)
    ]
    return _in_zones(rule, kept)


def _in_zones(rule: Rule, observations: list[Observation]) -> list[Observation]:
    """Keep observations whose current zones satisfy the rule's zones (any or all)."""
    zones = frozenset(rule.zones)
    if rule.zone_match is ZoneMatch.ALL:
        return [o for o in observations if zones.issubset(o.zones)]
    return [o for o in observations if not zones.isdisjoint(o.zones)]


def _representative(candidates: list[Observation], rule: Rule) -> Observation:
    """Pick the candidate whose confidence is the camera's aggregate.

    Candidates are in time order, so ties go to the most recent: `max` scans them
    newest first (it keeps the first maximum) and the sort for `percentile` is stable.
    """
    aggregation = rule.aggregation
    if aggregation is Aggregation.LATEST:
        return candidates[-1]
    if aggregation is Aggregation.MAX:
        return max(reversed(candidates), key=_CONFIDENCE)
    ranked = sorted(candidates, key=_CONFIDENCE)
    return ranked[percentile_rank(len(ranked), rule.percentile) - 1]


# --- explain path ------------------------------------------------------------------


def _explain(
    rule: Rule, observations: Iterable[Observation], now: float, context: Context
) -> Evaluation:
    """Filter stage by stage, tracing each stage, then conclude as the fast path does."""
    trace: list[Clause] = []
    gate_ok = rule.alarm_entity is None or context.alarm_state in rule.alarm_states
    trace.append(
        Clause(
            ALARM_GATE,
            gate_ok,
            {
                "alarm_entity": rule.alarm_entity,
                "alarm_state": context.alarm_state,
                "alarm_states": list(rule.alarm_states),
            },
        )
    )
    if gate_ok:
        trace.append(
            Clause(
                AVAILABILITY,
                context.frigate_available,
                {
                    "frigate_available": context.frigate_available,
                    "on_unavailable": rule.on_unavailable.value,
                },
            )
        )
    if not (gate_ok and context.frigate_available):
        return _gate_result(rule, context, _pad(trace))

    since = now - rule.within_seconds
    given = sorted(observations, key=_OBSERVED_AT)
    too_old = sum(1 for o in given if o.observed_at < since)
    in_future = sum(1 for o in given if o.observed_at > now)
    in_window = [o for o in given if since <= o.observed_at <= now]
    end_messages = sum(1 for o in in_window if o.kind is Kind.END)
    unscored = sum(1 for o in in_window if o.kind is not Kind.END and o.confidence_pct is None)
    kept = [o for o in in_window if o.kind is not Kind.END and o.confidence_pct is not None]
    trace.append(
        Clause(
            WINDOW,
            bool(kept),
            {
                "since": since,
                "until": now,
                "within_seconds": rule.within_seconds,
                "observations": len(given),
                "too_old": too_old,
                "in_future": in_future,
                "end_messages": end_messages,
                "unscored": unscored,
                "kept": len(kept),
            },
        )
    )

    stages = (
        (LABELS, _label_stage),
        (CAMERAS, _camera_stage),
        (ZONES, _zone_stage),
        (STATIONARY, _stationary_stage),
    )
    for name, stage in stages:
        if not kept:
            break
        kept, details = stage(rule, kept)
        details["kept"] = len(kept)
        trace.append(Clause(name, bool(kept), details))

    groups: dict[str, list[Observation]] = {camera: [] for camera in rule.cameras}
    for obs in kept:
        groups[obs.camera].append(obs)
    result = _conclude(rule, groups.items(), now)
    if kept:
        trace.append(Clause(AGGREGATION, True, _aggregation_details(rule, result)))
        trace.append(
            Clause(
                THRESHOLD,
                result.matched,
                {
                    "min_confidence_pct": rule.min_confidence_pct,
                    "camera": result.camera,
                    "confidence_pct": result.confidence_pct,
                    "matching_cameras": sorted(result.matching_cameras),
                },
            )
        )
    return Evaluation(
        matched=result.matched,
        reason=result.reason,
        camera=result.camera,
        confidence_pct=result.confidence_pct,
        observation=result.observation,
        per_camera=result.per_camera,
        candidates=result.candidates,
        next_change_at=result.next_change_at,
        trace=_pad(trace),
    )


def _pad(trace: list[Clause]) -> tuple[Clause, ...]:
    """Complete the trace with skipped clauses so it always names all nine."""
    done = len(trace)
    return (*trace, *(Clause(name, False, dict(_SKIPPED)) for name in CLAUSES[done:]))


def _label_stage(
    rule: Rule, kept: list[Observation]
) -> tuple[list[Observation], dict[str, object]]:
    out = [o for o in kept if o.label in rule.labels]
    return out, {"labels": list(rule.labels), "seen": sorted({o.label for o in kept})}


def _camera_stage(
    rule: Rule, kept: list[Observation]
) -> tuple[list[Observation], dict[str, object]]:
    out = [o for o in kept if o.camera in rule.cameras]
    return out, {"cameras": list(rule.cameras), "seen": sorted({o.camera for o in kept})}


def _zone_stage(rule: Rule, kept: list[Observation]) -> tuple[list[Observation], dict[str, object]]:
    out = _in_zones(rule, kept) if rule.zones else kept
    details: dict[str, object] = {
        "zones": list(rule.zones),
        "zone_match": rule.zone_match.value,
        "seen": sorted({z for o in kept for z in o.zones}),
        "outside_any_zone": sum(1 for o in kept if not o.zones),
    }
    return out, details


def _stationary_stage(
    rule: Rule, kept: list[Observation]
) -> tuple[list[Observation], dict[str, object]]:
    out = [o for o in kept if rule.include_stationary or not o.stationary]
    details: dict[str, object] = {
        "include_stationary": rule.include_stationary,
        "stationary": sum(1 for o in kept if o.stationary),
    }
    return out, details


def _aggregation_details(rule: Rule, result: Evaluation) -> dict[str, object]:
    details: dict[str, object] = {"aggregation": rule.aggregation.value}
    if rule.aggregation is Aggregation.PERCENTILE:
        details["percentile"] = rule.percentile
    details["per_camera"] = {
        camera: {
            "confidence_pct": agg.confidence_pct,
            "candidates": agg.candidates,
            "event_id": agg.observation.event_id,
            "observed_at": agg.observation.observed_at,
        }
        for camera, agg in result.per_camera.items()
    }
    return details
