"""Pure sequence evaluation (DESIGN 4.9): "A then B", an ordered chain in time.

Frigate does not track objects across cameras, so a sequence matches iff candidates
o1..ok exist, oi on a camera (in a zone, if the step has zones) of step i, with
o1.observed_at <= ... <= ok.observed_at, each serving one step. Equal times chain
either way across cameras (the buffer keeps arrival order per camera only); on one
camera arrival order breaks them, so two steps on one camera keep their direction.

The chain reported is the one whose first link is latest (it stays valid longest).
It is found backwards, last step first, taking for each step the latest candidate
left (a bisection per camera), so the cost is in filtering the windows, not in the
search; a property test checks it against every chain. As for rules, the fast path
reads the cameras' windows, the explain path (`simulate`) everything retained, and
both conclude in `_candidates` and `_judge`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import asdict, replace
from math import inf
from operator import attrgetter

from .buffer import DetectionBuffer
from .explain import ALARM_GATE, AVAILABILITY, LABELS, STATIONARY, WINDOW
from .model import (
    ChainLink,
    Clause,
    Context,
    Evaluation,
    Kind,
    Observation,
    Reason,
    Sequence,
)
from .verdict import sequence_gate

CONFIDENCE = "confidence"
FILTER_CLAUSES = (ALARM_GATE, AVAILABILITY, WINDOW, LABELS, CONFIDENCE, STATIONARY)
"""The clauses every sequence's trace opens with; one `step_<n>` clause per step follows."""

_SKIPPED: dict[str, object] = {"skipped": True}
_OBSERVED_AT = attrgetter("observed_at")

# Per step: (camera, its candidates, the positions of those serving the step or None: all).
type _Step = list[tuple[str, list[Observation], list[int] | None]]


def clauses_of(sequence: Sequence) -> tuple[str, ...]:
    """Names of the clauses of `sequence`'s trace, in order."""
    return (*FILTER_CLAUSES, *(f"step_{n}" for n in range(1, len(sequence.steps) + 1)))


def evaluate_sequence(
    sequence: Sequence,
    buffer: DetectionBuffer,
    now: float,
    context: Context,
    *,
    explain: bool = False,
) -> Evaluation:
    """Evaluate `sequence` against the buffer at `now` (HA's clock, epoch seconds).

    Only the sequence's cameras are read. Both window edges are inclusive, so the
    caller re-evaluates a small tick after `next_change_at`. With `explain=True`
    everything retained of those cameras is read, for the trace; same outcome.
    """
    if explain:
        retained = [o for camera in sequence.cameras for o in buffer.window(camera)]
        return _explained(sequence, retained, now, context)
    gated = sequence_gate(sequence, context)
    if gated is not None:
        return gated
    cameras, down = _cameras_to_read(sequence, context)
    since = now - sequence.within_seconds
    windows = [(camera, buffer.window(camera, since, now)) for camera in cameras]
    result = _judge(sequence, *_candidates(sequence, windows))
    result.unavailable_cameras = down
    return result


def evaluate_sequence_observations(
    sequence: Sequence,
    observations: Iterable[Observation],
    now: float,
    context: Context,
    *,
    explain: bool = False,
) -> Evaluation:
    """Evaluate `sequence` against given observations (the `simulate` service).

    They may come in any order: they are sorted by `observed_at`, and input order
    breaks ties (later in input counts as later, as a later arrival does).
    """
    if explain:
        return _explained(sequence, observations, now, context)
    gated = sequence_gate(sequence, context)
    if gated is not None:
        return gated
    cameras, down = _cameras_to_read(sequence, context)
    since = now - sequence.within_seconds
    windows: dict[str, list[Observation]] = {camera: [] for camera in cameras}
    for obs in sorted(observations, key=_OBSERVED_AT):
        if since <= obs.observed_at <= now and (window := windows.get(obs.camera)) is not None:
            window.append(obs)
    result = _judge(sequence, *_candidates(sequence, windows.items()))
    result.unavailable_cameras = down
    return result


def _candidates(
    sequence: Sequence, windows: Iterable[tuple[str, list[Observation]]]
) -> tuple[list[_Step], int]:
    """Per step, each camera's candidates that can serve it; and how many candidates.

    `windows`: per available camera of the sequence (once each, in `cameras` order)
    its observations in the window, in time order (same-time ties as they arrived).
    Candidates: scored sightings (not `end`) of a label, at or above the confidence,
    moving unless stationary objects count (the explain path's filters, fused), in a
    zone of a step of their camera when it has zones.
    """
    labels = sequence.labels
    threshold = sequence.min_confidence_pct
    moving_only = not sequence.include_stationary
    end = Kind.END
    tests = _step_tests(sequence)
    steps: list[_Step] = [[] for _ in sequence.steps]
    count = 0
    for camera, observations in windows:
        camera_tests = tests.get(camera)
        if not camera_tests or not observations:
            continue
        found = [
            o
            for o in observations
            if o.label in labels
            and o.confidence_pct is not None
            and o.confidence_pct >= threshold
            and o.kind is not end
            and not (moving_only and o.stationary)
        ]
        if len(camera_tests) == 1:  # the usual case: a camera of one step
            step, zones = camera_tests[0]
            if zones is not None:
                found = [o for o in found if not zones.isdisjoint(o.zones)]
            steps[step].append((camera, found, None))
            count += len(found)
            continue
        serving = [
            [i for i, o in enumerate(found) if zones is None or not zones.isdisjoint(o.zones)]
            for _, zones in camera_tests
        ]
        for (step, _), indices in zip(camera_tests, serving, strict=True):
            steps[step].append((camera, found, indices))
        count += len(set().union(*serving))
    return steps, count


def _step_tests(sequence: Sequence) -> dict[str, list[tuple[int, frozenset[str] | None]]]:
    """Per camera, each step it belongs to and that step's zones (None: anywhere)."""
    tests: dict[str, list[tuple[int, frozenset[str] | None]]] = {}
    for index, step in enumerate(sequence.steps):
        zones = frozenset(step.zones) or None
        for camera in dict.fromkeys(step.cameras):
            tests.setdefault(camera, []).append((index, zones))
    return tests


def _judge(sequence: Sequence, steps: list[_Step], count: int) -> Evaluation:
    if not count:
        return Evaluation(matched=False, reason=Reason.NO_DETECTIONS)
    links = _latest_chain(steps, len(steps) - 1, inf, {})
    if links is None:
        return Evaluation(matched=False, reason=Reason.INCOMPLETE_SEQUENCE, candidates=count)
    last = links[-1]
    return Evaluation(
        matched=True,
        reason=Reason.MATCHED,
        camera=last.camera,
        confidence_pct=last.confidence_pct,
        observation=last,
        candidates=count,
        next_change_at=links[0].observed_at + sequence.within_seconds,
        chain=tuple(_link(o) for o in links),
    )


def _latest_chain(
    steps: list[_Step], step: int, until: float, below: dict[str, int]
) -> list[Observation] | None:
    """The chain of steps 0..`step` whose first link is latest, or None if there is none.

    Its links are at or before `until`, and on a camera already used, before the
    position `below` it. Taking for the step the latest candidate left is safe (any
    chain's link for it can be swapped for that one). When cameras tie on that
    instant, one that no earlier step watches is as safe; only failing that (steps
    sharing cameras, at one instant) is each tried. A few bisections per step.
    """
    if step < 0:
        return []
    options: list[tuple[Observation, str, int]] = []
    for camera, found, serving in steps[step]:
        stop = min(bisect_right(found, until, key=_OBSERVED_AT), below.get(camera, len(found)))
        if serving is not None:
            at = bisect_left(serving, stop) - 1
            stop = serving[at] + 1 if at >= 0 else 0
        if stop:
            options.append((found[stop - 1], camera, stop - 1))
    if not options:
        return None
    latest = max(obs.observed_at for obs, _, _ in options)
    tied = [option for option in options if option[0].observed_at == latest]
    if len(tied) > 1:
        earlier = {camera for view in steps[:step] for camera, _, _ in view}
        tied = next(([option] for option in tied if option[1] not in earlier), tied)
    best: list[Observation] | None = None
    for obs, camera, index in tied:
        before = _latest_chain(steps, step - 1, latest, {**below, camera: index})
        if before is not None and (
            best is None or (before or [obs])[0].observed_at > best[0].observed_at
        ):
            best = [*before, obs]
    return best


def _link(obs: Observation) -> ChainLink:
    """The chain link of a candidate (which always has a confidence)."""
    return ChainLink(
        camera=obs.camera,
        zones=obs.zones,
        event_id=obs.event_id,
        observed_at=obs.observed_at,
        confidence_pct=obs.confidence_pct,  # type: ignore[arg-type]  # candidates have one
    )


def _cameras_to_read(
    sequence: Sequence, context: Context
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sequence's cameras to evaluate, and those left out because they are unavailable."""
    cameras, down = sequence.cameras, context.unavailable_cameras
    if not down:
        return cameras, ()
    return tuple(c for c in cameras if c not in down), tuple(c for c in cameras if c in down)


# --- the explain path ----------------------------------------------------------------


def _explained(
    sequence: Sequence, observations: Iterable[Observation], now: float, context: Context
) -> Evaluation:
    """Filter stage by stage, tracing each, then conclude and trace the steps."""
    gated = sequence_gate(sequence, context)
    alarm_ok = gated is None or gated.reason is not Reason.ALARM_STATE
    alarm: dict[str, object] = {
        "alarm_entity": sequence.alarm_entity,
        "alarm_state": context.alarm_state,
        "alarm_states": list(sequence.alarm_states),
    }
    trace = [Clause(ALARM_GATE, alarm_ok, alarm)]
    if alarm_ok:
        availability: dict[str, object] = {
            "frigate_available": context.frigate_available,
            "unavailable_cameras": sorted(set(sequence.cameras) & context.unavailable_cameras),
            "on_unavailable": sequence.on_unavailable.value,
        }
        trace.append(Clause(AVAILABILITY, gated is None, availability))
    if gated is not None:
        return replace(gated, trace=_pad(sequence, trace))

    cameras, down = _cameras_to_read(sequence, context)
    since = now - sequence.within_seconds
    given = sorted(observations, key=_OBSERVED_AT)
    in_window = [o for o in given if since <= o.observed_at <= now]
    watched = [o for o in in_window if o.camera in cameras]
    kept = [o for o in watched if o.kind is not Kind.END and o.confidence_pct is not None]
    ends = sum(1 for o in watched if o.kind is Kind.END)
    window: dict[str, object] = {
        "since": since,
        "until": now,
        "within_seconds": sequence.within_seconds,
        "observations": len(given),
        "too_old": sum(1 for o in given if o.observed_at < since),
        "in_future": sum(1 for o in given if o.observed_at > now),
        # On cameras of no step, or on unavailable ones (left out).
        "other_cameras": len(in_window) - len(watched),
        "end_messages": ends,
        "unscored": len(watched) - ends - len(kept),
        "kept": len(kept),
    }
    trace.append(Clause(WINDOW, bool(kept), window))
    for name in (LABELS, CONFIDENCE, STATIONARY):
        if not kept:
            break
        kept, details = _stage(sequence, name, kept)
        details["kept"] = len(kept)
        trace.append(Clause(name, bool(kept), details))

    windows: dict[str, list[Observation]] = {camera: [] for camera in cameras}
    for obs in kept:
        windows[obs.camera].append(obs)
    steps, count = _candidates(sequence, windows.items())
    result = _judge(sequence, steps, count)
    if kept:
        trace += _step_clauses(sequence, steps, result, down)
    result.trace = _pad(sequence, trace)
    result.unavailable_cameras = down
    return result


def _stage(
    sequence: Sequence, name: str, kept: list[Observation]
) -> tuple[list[Observation], dict[str, object]]:
    """One filter of `_candidates`, with what it saw."""
    if name == LABELS:
        out = [o for o in kept if o.label in sequence.labels]
        return out, {"labels": list(sequence.labels), "seen": sorted({o.label for o in kept})}
    if name == CONFIDENCE:
        least = sequence.min_confidence_pct
        out = [o for o in kept if o.confidence_pct is not None and o.confidence_pct >= least]
        best = max(o.confidence_pct or 0.0 for o in kept)
        return out, {"min_confidence_pct": least, "below": len(kept) - len(out), "best": best}
    out = [o for o in kept if sequence.include_stationary or not o.stationary]
    stationary = sum(1 for o in kept if o.stationary)
    return out, {"include_stationary": sequence.include_stationary, "stationary": stationary}


def _step_clauses(
    sequence: Sequence, steps: list[_Step], result: Evaluation, down: tuple[str, ...]
) -> list[Clause]:
    """Per step what it wanted, its candidates and its link, up to where the chain stops.

    A match shows its chain; otherwise the latest chain of the longest run of steps
    from the first that has one, then the step that stopped it.
    """
    links = list(result.chain)
    for size in range(0 if links else len(steps) - 1, 0, -1):  # no match: longest prefix
        if (prefix := _latest_chain(steps[:size], size - 1, inf, {})) is not None:
            links = [_link(o) for o in prefix]
            break
    clauses: list[Clause] = []
    for index, step in enumerate(sequence.steps):
        count = sum(
            len(found if serving is None else serving) for _, found, serving in steps[index]
        )
        details: dict[str, object] = {
            "cameras": list(step.cameras),
            "zones": list(step.zones),
            "candidates": count,
        }
        if unavailable := [c for c in step.cameras if c in down]:
            details["unavailable"] = unavailable
        if index < len(links):
            details["used"] = {**asdict(links[index]), "zones": list(links[index].zones)}
            clauses.append(Clause(f"step_{index + 1}", True, details))
            continue
        if count and links:
            details["why"] = "none_at_or_after_previous_step"
            details["not_before"] = links[-1].observed_at
        else:
            details["why"] = "no_candidates"
        clauses.append(Clause(f"step_{index + 1}", False, details))
        break
    return clauses


def _pad(sequence: Sequence, trace: list[Clause]) -> tuple[Clause, ...]:
    """Complete the trace with skipped clauses so it always names them all."""
    names = clauses_of(sequence)[len(trace) :]
    return (*trace, *(Clause(name, False, dict(_SKIPPED)) for name in names))
