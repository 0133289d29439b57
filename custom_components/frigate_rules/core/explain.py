"""The explain path: the fast path's filters one after another, each traced (`simulate`).

Trace shape: always the nine clauses of `CLAUSES`, in that order. The first clause
with `passed=False` is the one that decided the outcome (see `deciding_clause`);
clauses after it are present with `passed=False` and `details={"skipped": True}`.
A clause that filtered every observation out has `passed=False` and `kept: 0`, so
`no_detections` is pinned on the window, labels, cameras, zones or stationary clause,
`below_threshold` on the threshold clause, and a match leaves every clause passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from functools import partial
from operator import attrgetter

from .model import Aggregation, Clause, Context, Evaluation, Kind, Observation, Reason, Rule
from .objects import ObjectMemory
from .verdict import cameras_to_read, conclude, gate, in_zones
from .who import ObjectJudgement, judge_objects, memory_of

ALARM_GATE = "alarm_gate"
AVAILABILITY = "availability"
WINDOW = "window"
LABELS = "labels"
CAMERAS = "cameras"
ZONES = "zones"
STATIONARY = "stationary"
RECOGNITION = "recognition"
DWELL = "dwell"
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
    RECOGNITION,
    DWELL,
    AGGREGATION,
    THRESHOLD,
)

_SKIPPED: dict[str, object] = {"skipped": True}
_OBSERVED_AT = attrgetter("observed_at")


def evaluate_explained(
    rule: Rule, observations: Iterable[Observation], now: float, context: Context
) -> Evaluation:
    """Filter stage by stage, tracing each stage, then conclude as the fast path does."""
    gated = gate(rule, context)
    alarm_ok = gated is None or gated.reason is not Reason.ALARM_STATE
    trace = [
        Clause(
            ALARM_GATE,
            alarm_ok,
            {
                "alarm_entity": rule.alarm_entity,
                "alarm_state": context.alarm_state,
                "alarm_states": list(rule.alarm_states),
            },
        )
    ]
    if alarm_ok:
        trace.append(
            Clause(
                AVAILABILITY,
                gated is None,
                {
                    "frigate_available": context.frigate_available,
                    "unavailable_cameras": sorted(
                        c for c in rule.cameras if c in context.unavailable_cameras
                    ),
                    "on_unavailable": rule.on_unavailable.value,
                },
            )
        )
    if gated is not None:
        return replace(gated, trace=_pad(trace))

    cameras, down = cameras_to_read(rule, context)
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
        (CAMERAS, partial(_camera_stage, cameras=cameras, down=down)),
        (ZONES, _zone_stage),
        (STATIONARY, _stationary_stage),
    )
    for name, stage in stages:
        if not kept:
            break
        kept, details = stage(rule, kept)
        details["kept"] = len(kept)
        trace.append(Clause(name, bool(kept), details))

    judgement = ObjectJudgement()
    if kept:
        objects = context.objects or memory_of(given)
        for name, ask_recognition in ((RECOGNITION, True), (DWELL, False)):
            if not kept:
                break
            before = kept
            kept = judge_objects(
                rule,
                kept,
                now,
                objects,
                judgement,
                recognition=ask_recognition,
                dwell=not ask_recognition,
            )
            details = _object_details(rule, before, kept, objects, now, judgement, name)
            trace.append(Clause(name, bool(kept), details))

    windows: dict[str, list[Observation]] = {camera: [] for camera in cameras}
    for obs in kept:
        windows[obs.camera].append(obs)
    result = conclude(rule, windows.items(), now, judgement=judgement)
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
        unavailable_cameras=down,
        awaiting_until=result.awaiting_until,
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
    rule: Rule, kept: list[Observation], *, cameras: tuple[str, ...], down: tuple[str, ...]
) -> tuple[list[Observation], dict[str, object]]:
    out = [o for o in kept if o.camera in cameras]
    details: dict[str, object] = {
        "cameras": list(rule.cameras),
        "seen": sorted({o.camera for o in kept}),
    }
    if down:
        details["unavailable"] = list(down)
    return out, details


def _zone_stage(rule: Rule, kept: list[Observation]) -> tuple[list[Observation], dict[str, object]]:
    out = in_zones(rule, kept) if rule.zones else kept
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


def _object_details(
    rule: Rule,
    before: list[Observation],
    kept: list[Observation],
    objects: ObjectMemory,
    now: float,
    judgement: ObjectJudgement,
    clause: str,
) -> dict[str, object]:
    """Per object (event id): what it is known as, or how long it has stayed."""
    ids = list(dict.fromkeys(o.event_id for o in before))
    kept_ids = {o.event_id for o in kept}
    if clause == RECOGNITION:
        details: dict[str, object] = {
            "sub_label_mode": rule.sub_label_mode.value,
            "known_sub_labels": list(rule.known_sub_labels),
            "recognition_wait_seconds": rule.recognition_wait_seconds,
            "objects": {i: sorted(objects.names(i)) for i in ids},
            "counted": sorted(kept_ids),
            "waiting": judgement.waiting,
        }
        if judgement.awaiting_until is not None:
            details["awaiting_until"] = judgement.awaiting_until
    else:
        details = {
            "min_dwell_seconds": rule.min_dwell_seconds,
            "in_zones_for": {
                i: None
                if (since := objects.in_zones_since(i, rule.zones, rule.zone_match, now)) is None
                else round(now - since, 3)
                for i in ids
            },
            "counted": sorted(kept_ids),
        }
    details["kept"] = len(kept)
    return details


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
