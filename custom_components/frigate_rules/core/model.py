"""Value types shared by the parser, the buffer and the evaluator."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .objects import ObjectMemory


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


class SubLabelMode(StrEnum):
    """Which objects a rule counts by what Frigate recognized them as (DESIGN 4.8)."""

    ANY = "any"
    UNKNOWN_ONLY = "unknown_only"
    KNOWN_ONLY = "known_only"


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
    AWAITING_RECOGNITION = "awaiting_recognition"
    # A sequence (DESIGN 4.9) saw candidates, but they do not complete its chain.
    INCOMPLETE_SEQUENCE = "incomplete_sequence"


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
    # Who (DESIGN 4.8): recognized or unknown objects, and loitering.
    sub_label_mode: SubLabelMode = SubLabelMode.ANY
    known_sub_labels: tuple[str, ...] = ()
    recognition_wait_seconds: float = 0.0
    min_dwell_seconds: float = 0.0

    @property
    def judges_objects(self) -> bool:
        """Whether candidates are kept or dropped per object (who it is, how long it stays)."""
        return self.sub_label_mode is not SubLabelMode.ANY or self.min_dwell_seconds > 0


@dataclass(slots=True, frozen=True)
class Context:
    """The world outside the buffer that a rule depends on."""

    frigate_available: bool = True
    alarm_state: str | None = None
    # Cameras whose detection is down (DESIGN 4.11); any others count as available.
    unavailable_cameras: frozenset[str] = frozenset()
    # Who each object is and where it stays (DESIGN 4.8); None: nothing known.
    objects: ObjectMemory | None = None


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
    # The name the best camera's object is recognized as, and, while a possible match
    # waits for Frigate to recognize someone, until when (DESIGN 4.8).
    sub_label: str | None = None
    awaiting_until: float | None = None
    # A matching sequence's chain, one link per step in order (DESIGN 4.9).
    chain: tuple[ChainLink, ...] = ()

    @property
    def matching_cameras(self) -> frozenset[str]:
        """Cameras whose aggregate reached the threshold (alerts are per camera)."""
        return frozenset(c for c, agg in self.per_camera.items() if agg.matched)


@dataclass(slots=True, frozen=True)
class SequenceStep:
    """Where a sequence's object must be seen at one step: a camera, in a zone if any."""

    cameras: tuple[str, ...]
    zones: tuple[str, ...] = ()


@dataclass(slots=True, frozen=True)
class Sequence:
    """A user's sequence (one config subentry, DESIGN 4.9): steps seen in time order."""

    sequence_id: str
    name: str
    steps: tuple[SequenceStep, ...]
    labels: tuple[str, ...] = ("person",)
    within_seconds: float = 30.0
    min_confidence_pct: float = 80.0
    on_unavailable: OnUnavailable = OnUnavailable.TREAT_AS_NO_MATCH
    include_stationary: bool = False
    alarm_entity: str | None = None
    alarm_states: tuple[str, ...] = ()
    cooldown_seconds: float = 300.0
    action: Action = Action.NOTIFY

    @property
    def cameras(self) -> tuple[str, ...]:
        """Every step's cameras, each once, in step order: what the sequence watches."""
        return tuple(dict.fromkeys(c for step in self.steps for c in step.cameras))

    @property
    def rule_id(self) -> str:
        """The subentry id, under the name rules have (entities, alerts, cooldowns)."""
        return self.sequence_id


@dataclass(slots=True, frozen=True)
class ChainLink:
    """The observation that served one step of a matching sequence (attribute `chain`)."""

    camera: str
    zones: tuple[str, ...]
    event_id: str
    observed_at: float
    confidence_pct: float


# What the engine evaluates and fans out: a rule, or a sequence (both config subentries).
type Condition = Rule | Sequence
