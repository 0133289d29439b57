"""What the end-to-end bench sets up in hass: the rules and their hand-written twins.

One `RuleSpec` gives both sides of the comparison, so they cannot drift apart:

* the frigate_rules rule (user input of the `rule` subentry flow), with
  `aggregation: latest` and `cooldown_seconds: 0`;
* the YAML a user would write instead: a trigger-based template binary_sensor with an
  MQTT trigger on `frigate/events`, and an automation that fires an event when that
  sensor turns on.

Why `latest`: a template sensor only ever sees the message that triggered it, so its
state is "the newest in-scope detection is good enough" - the rule with `latest`
aggregation says the same per camera. Messages outside the rule's scope (other camera
or label, out of zone, stationary, Frigate's `end`) are not candidates for the rule, and
the template keeps its state for them (`this.state`), the way a careful user writes it.
`auto_off` stands in for the rule's window (`within_seconds`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOPIC_EVENTS = "frigate/events"
TOPIC_SENTINEL = "bench/sentinel"
EVENT_ALERT = "frigate_rules_alert"
EVENT_HANDWRITTEN = "bench_handwritten_alert"
EVENT_FLOOR = "bench_floor_alert"
EVENT_SENTINEL = "bench_sentinel"
AUTOMATIONS_FILE = "bench_automations.yaml"
TEMPLATES_FILE = "bench_templates.yaml"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule, as frigate_rules input and as its hand-written equivalent."""

    name: str
    cameras: tuple[str, ...]
    labels: tuple[str, ...] = ("person",)
    zones: tuple[str, ...] = ()
    min_confidence_pct: int = 80
    within_seconds: int = 10

    @property
    def slug(self) -> str:
        """Object id of the hand-written sensor (HA slugifies the name the same way)."""
        return "bench_hw_" + re.sub(r"[^a-z0-9]+", "_", self.name.lower()).strip("_")

    @property
    def sensor_entity_id(self) -> str:
        """Entity id of the hand-written template binary_sensor."""
        return f"binary_sensor.{self.slug}"

    def subentry_input(self) -> dict[str, Any]:
        """User input of the `rule` subentry flow."""
        return {
            "name": self.name,
            "cameras": list(self.cameras),
            "labels": list(self.labels),
            "zones": list(self.zones),
            "within_seconds": self.within_seconds,
            "min_confidence_pct": self.min_confidence_pct,
            "aggregation": "latest",
            "cooldown_seconds": 0,
        }

    def _scope(self) -> str:
        """Jinja: the message is a candidate for this rule (p = payload, a = after)."""
        parts = [
            "p.type != 'end'",
            f"a.camera in {json.dumps(list(self.cameras))}",
            f"a.label in {json.dumps(list(self.labels))}",
            "not a.stationary",
        ]
        if self.zones:
            parts.append(
                f"(a.current_zones | select('in', {json.dumps(list(self.zones))}) "
                "| list | count > 0)"
            )
        return " and ".join(parts)

    def _jinja(self, in_scope: str, otherwise: str) -> str:
        head = "{% set p = trigger.payload_json %}{% set a = p.after %}"
        return (
            f"{head}{{% if {self._scope()} %}}{{{{ {in_scope} }}}}"
            f"{{% else %}}{{{{ {otherwise} }}}}{{% endif %}}"
        )

    def template_sensor(self, attributes: bool) -> dict[str, Any]:
        """The hand-written binary_sensor (one entry of a trigger block's list)."""
        sensor: dict[str, Any] = {
            "name": self.slug,
            "unique_id": self.slug,
            "state": self._jinja(
                f"a.score * 100 >= {self.min_confidence_pct}", "this.state == 'on'"
            ),
            "auto_off": self.within_seconds,
        }
        if attributes:
            # What a notification needs; kept as is for out-of-scope messages, so they
            # do not rewrite the state (as a rule's sensor would not either).
            sensor["attributes"] = {
                key: self._jinja(f"a.{field}", f"this.attributes.get('{key}')")
                for key, field in (("camera", "camera"), ("event_id", "id"))
            }
        return sensor

    def handwritten_automation(self, attributes: bool) -> dict[str, Any]:
        """The automation that turns the sensor's `on` into an alert event."""
        data: dict[str, Any] = {"rule": self.name}
        if attributes:
            data |= {
                key: f"{{{{ trigger.to_state.attributes.{key} }}}}"
                for key in ("camera", "event_id")
            }
        return {
            "id": self.slug,
            "alias": f"{self.name} (hand-written)",
            "triggers": [{"trigger": "state", "entity_id": self.sensor_entity_id, "to": "on"}],
            "actions": [{"event": EVENT_HANDWRITTEN, "event_data": data}],
        }


def mqtt_automation(automation_id: str, topic: str, event: str) -> dict[str, Any]:
    """An automation with a bare MQTT trigger that fires an event (no template)."""
    return {
        "id": automation_id,
        "alias": automation_id,
        "triggers": [{"trigger": "mqtt", "topic": topic}],
        "actions": [{"event": event}],
    }


FLOOR_AUTOMATION = mqtt_automation("bench_floor", TOPIC_EVENTS, EVENT_FLOOR)
SENTINEL_AUTOMATION = mqtt_automation("bench_sentinel", TOPIC_SENTINEL, EVENT_SENTINEL)

# The latency rule: the cameras of a small house, a person at >= 80 %.
LATENCY_RULE = RuleSpec(
    name="Bench latency", cameras=("front_door", "backyard", "driveway", "side_yard")
)

# Ten rules over the fixture cameras (backyard, front_door, driveway, side_yard), the
# kind a household writes: per camera, per zone, and across cameras.
CPU_RULES = (
    RuleSpec("Backyard person", ("backyard",)),
    RuleSpec("Patio person", ("backyard",), zones=("patio",), min_confidence_pct=85),
    RuleSpec("Front door person", ("front_door",)),
    RuleSpec("Porch person", ("front_door",), zones=("porch",), min_confidence_pct=85),
    RuleSpec("Driveway car", ("driveway",), labels=("car",)),
    RuleSpec(
        "Parking car", ("driveway",), labels=("car",), zones=("parking",), min_confidence_pct=90
    ),
    RuleSpec("Side yard car", ("side_yard",), labels=("car",), min_confidence_pct=70),
    RuleSpec("Entrances person", ("backyard", "front_door"), min_confidence_pct=90),
    RuleSpec("Any car", ("driveway", "side_yard"), labels=("car",), min_confidence_pct=75),
    RuleSpec(
        "Anyone",
        ("backyard", "front_door", "driveway", "side_yard"),
        labels=("person", "dog"),
        min_confidence_pct=70,
    ),
)


def handwritten_yaml(
    rules: tuple[RuleSpec, ...], attributes: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(template blocks, automations) of the hand-written equivalent of `rules`.

    One trigger block for all sensors: the cheapest way to write them (one MQTT
    subscription and one JSON parse per message instead of one per sensor).
    """
    if not rules:
        return [], []
    block = {
        "trigger": [{"trigger": "mqtt", "topic": TOPIC_EVENTS}],
        "binary_sensor": [rule.template_sensor(attributes) for rule in rules],
    }
    return [block], [rule.handwritten_automation(attributes) for rule in rules]


def write_yaml(
    config_dir: Path, templates: list[dict[str, Any]], automations: list[dict[str, Any]]
) -> None:
    """Write the files `template:` and `automation:` include (reload to apply)."""
    for name, content in ((TEMPLATES_FILE, templates), (AUTOMATIONS_FILE, automations)):
        # JSON is YAML: no PyYAML needed on this side.
        (config_dir / name).write_text(json.dumps(content, indent=2) + "\n")


def configuration_yaml(port: int) -> str:
    """A lean configuration.yaml (like the e2e harness's) with quiet logging.

    `logger: default: warning`, as on a typical install: at `info` every automation run
    logs its steps, a cost that is no part of what is compared.
    """
    return f"""\
homeassistant:
  name: Frigate Rules bench
  time_zone: UTC
  unit_system: metric
  currency: EUR
  country: NL
  latitude: 52.37
  longitude: 4.89
  elevation: 0
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
auth:
config:
frontend:
onboarding:
websocket_api:
logger:
  default: warning
automation: !include {AUTOMATIONS_FILE}
template: !include {TEMPLATES_FILE}
"""
