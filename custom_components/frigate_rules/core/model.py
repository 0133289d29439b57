"""Value types shared by the parser, the buffer and the evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """Lifecycle step of the Frigate message an observation came from."""

    NEW = "new"
    UPDATE = "update"
    END = "end"


class Source(StrEnum):
    """Where an observation came from: a Frigate MQTT topic, or its HTTP API."""

    EVENTS = "events"
    REVIEWS = "reviews"
    REST = "rest"


class ZoneMatch(StrEnum):
    """How a rule's zones must relate to an observation's current zones."""

    ANY = "any"
    ALL = "all"


class Aggregation(StrEnum):
    """How candidate confidences of one camera are folded into one number."""

    LATEST = "latest"
    MAX = "max"
    PERCENTILE = "percentile"


class OnUnavailable(StrEnum):
    """What a rule reports while Frigate is unavailable."""

    TREAT_AS_NO_MATCH = "treat_as_no_match"
    TREAT_AS_MATCH = "treat_as_match"


class Action(StrEnum):
    """What an activating rule does besides firing its alert event."""

    NOTIFY = "notify"
    ALARM_TRIGGER = "alarm_trigger"


class Reason(StrEnum):
    """Why a rule is in the state it is in (the `reason` attribute)."""

    MATCHED = "matched"
    NO_DETECTIONS = "no_detections"
    BELOW_THRESHOLD = "below_threshold"
    ALARM_STATE = "alarm_state"
    FRIGATE_UNAVAILABLE = "frigate_unavailable"
    CAMERA_UNAVAILABLE = "camera_unavailable"


@dataclass(slots=True)
class Observation:
    """One Frigate sighting, normalized; never changed once buffered.

    `observed_at` is Home Assistant's receive time (epoch seconds); it drives every
    window because Frigate's `frame_time` comes from another clock. The buffer moves
    an observation stamped before its newest one forward to that time (the wall clock
    stepped back), before anything reads it. Confidences are percentages (score x 100)
    or None where Frigate sends no score (reviews).
    Not `frozen`: one is built per MQTT message, and a frozen dataclass costs about
    three times as much to construct.

    Frigate's `top_score` is checked by the parser and not kept: nothing reads it, and
    its slot was 8 of the 200 bytes an observation may cost (DESIGN 6).
    """

    event_id: str
    camera: str
    label: str
    sub_label: str | None
    confidence_pct: float | None
    zones: tuple[str, ...]
    entered_zones: tuple[str, ...]
    stationary: bool
    kind: Kind
    source: Source
    frame_time: float | None
    observed_at: float


@dataclass(slots=True, frozen=True)
class Rule:
    """A user's rule (one config subentry), validated and ready to evaluate."""

    rule_id: str
    name: str
    cameras: tuple[str, ...]
    labels: tuple[str, ...] = ("person",)
    zones: tuple[str, ...] = ()
    zone_match: ZoneMatch = ZoneMatch.ANY
    within_seconds: float = 10.0
    min_confidence_pct: float = 80.0
    aggregation: Aggregation = Aggregation.MAX
    percentile: int = 90
    on_unavailable: OnUnavailable = OnUnavailable.TREAT_AS_NO_MATCH
    include_stationary: bool = False
    alarm_entity: str | None = None
    alarm_states: tuple[str, ...] = ()
    cooldown_seconds: float = 300.0
    action: Action = Action.NOTIFY


@dataclass(slots=True, frozen=True)
class Context:
    """The world outside the buffer that a rule depends on."""

    frigate_available: bool = True
    alarm_state: str | None = None
    # Cameras whose detection is down (DESIGN 4.11); any others count as available.
    unavailable_cameras: frozenset[str] = frozenset()


@dataclass(slots=True)
class CameraAggregate:
    """One camera's folded confidence and the observation that stands for it."""

    camera: str
    confidence_pct: float
    candidates: int
    observation: Observation
    matched: bool


@dataclass(slots=True, frozen=True)
class Clause:
    """One step of the explain trace: what it looked at and whether it passed."""

    clause: str
    passed: bool
    details: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Evaluation:
    """The outcome of evaluating one rule at one instant; never changed once made.

    Not `frozen`: one is built per affected rule per message (see Observation).
    """

    matched: bool
    reason: Reason
    camera: str | None = None
    confidence_pct: float | None = None
    observation: Observation | None = None
    per_camera: dict[str, CameraAggregate] = field(default_factory=dict)
    candidates: int = 0
    next_change_at: float | None = None
    trace: tuple[Clause, ...] = ()
    # The rule's cameras that were unavailable (left out, or all of them: the reason).
    unavailable_cameras: tuple[str, ...] = ()

    @property
    def matching_cameras(self) -> frozenset[str]:
        """Cameras whose aggregate reached the threshold (alerts are per camera)."""
        return frozenset(c for c, agg in self.per_camera.items() if agg.matched)
