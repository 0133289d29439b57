"""What a rule's new evaluation changes, in the order people and programs see it.

This is the one place that order is written (DESIGN 3): first the alert (the bus event
and the alarm action: automations react to it), then the rule's sensor, then the MQTT
consumers (the rule's retained state before its alert, so a consumer that sees the
alert also has the state). The publisher only takes the messages into its outbox here;
paho sends them in a later pass of the loop, when the socket is writable.
"""

from __future__ import annotations

from .alerts import AlertManager
from .core.model import Condition, Evaluation
from .notifier import Notifier
from .outbound import Outbound


class RuleOutputs:
    """Fans one evaluation out to the alert, the entity and the publisher."""

    def __init__(self, alerts: AlertManager, notifier: Notifier, outbound: Outbound) -> None:
        self.alerts = alerts
        self.notifier = notifier
        self.outbound = outbound

    def apply(
        self, rule: Condition, previous: Evaluation | None, evaluation: Evaluation, now: float
    ) -> None:
        """Alert, sensor, publisher: in this order."""
        fired = self.alerts.on_evaluation(rule, previous, evaluation, now)
        self.notifier.rule_changed(rule.rule_id)
        self.outbound.rule_state(rule, evaluation.matched)
        for data in fired:
            self.outbound.rule_alert(rule, data)
