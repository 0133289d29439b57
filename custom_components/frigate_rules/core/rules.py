"""Pure, deterministic rule evaluation (DESIGN 4.3) with an optional explain trace.

Two paths share every decision that matters:

* the fast path (`explain=False`) runs on every MQTT message for the 2-3 rules that
  watch its camera, so per camera it takes the window from the buffer (a bisection
  and a slice) and filters it with one fused list comprehension (a second one when
  the rule has several zones), with no per-candidate allocation beyond the candidate
  lists themselves and no trace;
* the explain path (`explain=True`) reads everything the buffer retains for the
  rule's cameras, applies the same filters one after another and records what each
  one saw, for the `simulate` service.

Both open with `verdict.gate` (the alarm gate, then availability) and end in
`verdict.conclude`, which filters each camera's window with `verdict.candidates`,
folds it with `aggregate` and picks the best camera, so the two paths cannot disagree
on the outcome (a property test compares them, through the buffer and through given
observations, on generated input). The explain path and its trace live in `explain`.
"""

from __future__ import annotations

from collections.abc import Iterable

from .buffer import DetectionBuffer
from .explain import CLAUSES, deciding_clause, evaluate_explained
from .incremental import CandidateCache
from .model import Context, Evaluation, Observation, Rule
from .verdict import (
    aggregate,
    cameras_to_read,
    conclude,
    decide,
    gate,
    percentile_rank,
    windows_of,
)
from .who import memory_of

__all__ = [
    "CLAUSES",
    "aggregate",
    "deciding_clause",
    "evaluate",
    "evaluate_observations",
    "percentile_rank",
]


def evaluate(
    rule: Rule,
    buffer: DetectionBuffer,
    now: float,
    context: Context,
    *,
    explain: bool = False,
    cache: CandidateCache | None = None,
) -> Evaluation:
    """Evaluate `rule` against the buffer at instant `now` (HA's clock, epoch seconds).

    Only the rule's cameras are read. `next_change_at` is when the oldest candidate
    leaves the window (`observed_at + within_seconds`); at exactly that instant the
    candidate is still inside (both window edges are inclusive), so the caller must
    re-evaluate a small tick after it to see the change.

    With `explain=True` every retained observation of the rule's cameras is read, of
    any label and age, so that the trace can say what the window and label clauses
    threw away; the outcome is the same as without it. With a `cache` (the engine's),
    a rule that does not judge objects reads only what arrived since its last
    evaluation (`incremental`); the outcome is the same as without it.
    """
    if explain:
        # dict.fromkeys: a hand-built rule may name a camera twice; read it once.
        retained = [o for camera in dict.fromkeys(rule.cameras) for o in buffer.window(camera)]
        return evaluate_explained(rule, retained, now, context)
    gated = gate(rule, context)
    if gated is not None:
        return gated
    since = now - rule.within_seconds
    window = buffer.window
    if cache is not None and not rule.judges_objects:
        cameras, down = cameras_to_read(rule, context)
        result = decide(rule, cache.folds(rule, buffer, cameras, now))
        result.unavailable_cameras = down
        return result
    if not context.unavailable_cameras and not rule.judges_objects:
        return conclude(rule, [(camera, window(camera, since, now)) for camera in rule.cameras])
    cameras, down = cameras_to_read(rule, context)
    objects = context.objects
    if objects is None and rule.judges_objects:
        objects = memory_of(o for c in dict.fromkeys(rule.cameras) for o in window(c))
    result = conclude(
        rule, [(camera, window(camera, since, now)) for camera in cameras], now, objects
    )
    result.unavailable_cameras = down
    return result


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
    (later in input counts as more recent, as a later arrival does in the buffer).
    """
    if explain:
        return evaluate_explained(rule, observations, now, context)
    gated = gate(rule, context)
    if gated is not None:
        return gated
    given = list(observations)
    cameras, down = cameras_to_read(rule, context)
    objects = context.objects
    if objects is None and rule.judges_objects:
        objects = memory_of(given)
    result = conclude(rule, windows_of(rule, given, now, cameras).items(), now, objects)
    result.unavailable_cameras = down
    return result
