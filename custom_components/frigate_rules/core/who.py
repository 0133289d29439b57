"""Who and how long (DESIGN 4.8): a rule's candidates kept or dropped per object.

For a rule with `sub_label_mode` other than `any`, or with `min_dwell_seconds`, each
candidate's object (its Frigate event id) is judged once per evaluation:

* recognition: an object is recognized as NAME when it carries `sub_label` NAME or a
  recognition update named it at `min_recognition_pct` or more. `known_only` keeps the
  objects recognized as one of `known_sub_labels` (any name when that list is empty);
  `unknown_only` keeps the others, and with `recognition_wait_seconds` only once the
  object has been tracked that long without being recognized: until then it waits;
* dwell: the object counts once it has stayed in the rule's zones (on the camera when
  none) for `min_dwell_seconds` without leaving them.

The judgement also says when it will change by time alone (a wait ending, a stay
reaching its dwell), so the caller can re-evaluate on time without new input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .model import Observation, Rule, SubLabelMode
from .objects import DEFAULT_MIN_RECOGNITION_PCT, ObjectMemory


@dataclass(slots=True)
class ObjectJudgement:
    """What one evaluation learned about its objects, besides which candidates stay."""

    # Earliest end of a wait for an object whose candidates reach the threshold.
    awaiting_until: float | None = None
    # Earliest moment an object's standing changes by time alone.
    due: float | None = None
    waiting: int = 0
    recognized: int = 0
    dwelling: int = 0

    def note_due(self, at: float) -> None:
        """Something changes at `at`."""
        if self.due is None or at < self.due:
            self.due = at


def memory_of(
    observations: Iterable[Observation],
    min_recognition_pct: float = DEFAULT_MIN_RECOGNITION_PCT,
) -> ObjectMemory:
    """An object memory built from observations alone (no recognition updates)."""
    memory = ObjectMemory(min_recognition_pct)
    for observation in sorted(observations, key=lambda o: o.observed_at):
        memory.observe(observation)
    return memory


def judge_objects(
    rule: Rule,
    found: list[Observation],
    now: float,
    objects: ObjectMemory,
    judgement: ObjectJudgement,
    *,
    recognition: bool = True,
    dwell: bool = True,
) -> list[Observation]:
    """`found` without the candidates whose object does not count (yet).

    The explain path runs the two questions one after the other (`recognition`, then
    `dwell`) to trace each; the fast path asks both at once.
    """
    verdicts: dict[str, bool] = {}
    kept: list[Observation] = []
    for observation in found:
        event_id = observation.event_id
        counts = verdicts.get(event_id)
        if counts is None:
            counts = (
                not recognition or _recognized_ok(rule, event_id, now, objects, judgement, found)
            ) and (not dwell or _dwelled(rule, event_id, now, objects, judgement))
            verdicts[event_id] = counts
        if counts:
            kept.append(observation)
    return kept


def _recognized_ok(
    rule: Rule,
    event_id: str,
    now: float,
    objects: ObjectMemory,
    judgement: ObjectJudgement,
    found: list[Observation],
) -> bool:
    mode = rule.sub_label_mode
    if mode is SubLabelMode.ANY:
        return True
    names = objects.names(event_id)
    known = names & set(rule.known_sub_labels) if rule.known_sub_labels else names
    if known:
        judgement.recognized += 1
    if mode is SubLabelMode.KNOWN_ONLY:
        return bool(known)
    if known:
        return False
    tracked = objects.get(event_id)
    if rule.recognition_wait_seconds <= 0 or tracked is None:
        return True
    until = tracked.first_seen + rule.recognition_wait_seconds
    if now >= until:
        return True
    judgement.waiting += 1
    judgement.note_due(until)
    would_match = any(
        o.event_id == event_id and (o.confidence_pct or 0.0) >= rule.min_confidence_pct
        for o in found
    )
    if would_match and (judgement.awaiting_until is None or until < judgement.awaiting_until):
        judgement.awaiting_until = until
    return False


def _dwelled(
    rule: Rule, event_id: str, now: float, objects: ObjectMemory, judgement: ObjectJudgement
) -> bool:
    if rule.min_dwell_seconds <= 0:
        return True
    since = objects.in_zones_since(event_id, rule.zones, rule.zone_match, now)
    if since is None:
        return False
    reached = since + rule.min_dwell_seconds
    if now < reached:
        judgement.dwelling += 1
        judgement.note_due(reached)
        return False
    return True
