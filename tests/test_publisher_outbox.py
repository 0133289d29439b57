"""The publisher's outbox and reconnect policy: pure, with an injected clock, no broker."""

from __future__ import annotations

import json
import logging

import pytest
from paho.mqtt.enums import MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from custom_components.frigate_rules.publisher import (
    BrokerSettings,
    broker_settings,
    publisher_options,
    publishing_enabled,
    resolve_certificate_files,
)
from custom_components.frigate_rules.publisher.outbox import ALERT_SCHEMA, Outbox
from custom_components.frigate_rules.publisher.reconnect import ReconnectPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_alerts_keep_their_age_and_expire_instead_of_going_late(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.add_alert("a/alert", {"n": 1})
    clock.now += 20
    box.add_alert("b/alert", {"n": 2})
    clock.now += 45  # the first is 65 s old, the second 45 s
    taken = [(alert.topic, remaining) for alert, remaining in box.take_alerts()]
    assert taken == [("b/alert", 15.0)]
    assert (box.dropped_alerts, box.dropped_stale, box.queued) == (1, 1, 0)


def test_alert_payload_is_encoded_once_with_the_schema(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.add_alert("a/alert", {"camera": "yard", "zones": {"b", "a"}})
    alert, _ = next(box.take_alerts())
    first = alert.encoded()
    assert json.loads(first) == {"camera": "yard", "zones": ["a", "b"], "schema": ALERT_SCHEMA}
    assert alert.encoded() is first


def test_queue_is_bounded_oldest_first(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60, max_alerts=3)
    for n in range(5):
        box.add_alert(f"t/{n}", b"x")
    assert [alert.topic for alert, _ in box.take_alerts()] == ["t/2", "t/3", "t/4"]
    assert box.dropped_alerts == 2


def test_a_taken_alert_put_back_is_first_in_line(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.add_alert("t/1", b"1")
    box.add_alert("t/2", b"2")
    first, _ = next(box.take_alerts())
    box.put_back(first)
    assert [alert.topic for alert, _ in box.take_alerts()] == ["t/1", "t/2"]


def test_states_keep_only_the_latest_and_go_out_once_per_change(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.set_state("r/state", b"ON")
    box.set_state("r/state", b"OFF")
    box.set_state("s/state", b"ON")
    assert list(box.take_states()) == [("r/state", b"OFF"), ("s/state", b"ON")]
    assert list(box.take_states()) == []
    assert not box.has_pending
    box.state_unsent("r/state")
    assert list(box.take_states()) == [("r/state", b"OFF")]
    # A new connection publishes every remembered state again (a broker restart may
    # have lost the retained ones).
    box.connected()
    assert dict(box.take_states()) == {"r/state": b"OFF", "s/state": b"ON"}


def test_a_clear_is_forgotten_once_acknowledged_or_sent_at_qos0(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.set_state("r/state", b"")
    box.set_state("q/state", b"")
    box.set_state("on/state", b"ON")
    list(box.take_states())
    box.handed_over(7, "r/state", b"", None)
    box.handed_over(8, "on/state", b"ON", None)
    sent = box.acknowledged(7)
    assert sent is not None
    assert sent.topic == "r/state"
    box.acknowledged(8)
    box.forget_cleared("q/state")
    assert box.pending_states == 1  # ON is kept to restore it after a broker restart
    assert box.acknowledged(99) is None


def test_unacknowledged_alerts_return_in_age_order_when_the_connection_drops(
    clock: Clock,
) -> None:
    box = Outbox(clock, expiry_seconds=60)
    for n in (1, 2, 3):
        box.add_alert(f"t/{n}", b"x")
        clock.now += 1
    taken = [alert for alert, _ in box.take_alerts()]
    box.handed_over(12, taken[1].topic, b"x", taken[1])
    box.handed_over(11, taken[0].topic, b"x", taken[0])
    box.handed_over(13, "r/state", b"ON", None)
    box.add_alert("t/4", b"x")
    assert box.inflight == 3
    box.connection_lost()
    assert box.inflight == 0
    assert [alert.topic for alert, _ in box.take_alerts()] == ["t/1", "t/2", "t/4"]
    assert box.oldest_age() is None


def test_discard_counts_what_was_never_delivered(clock: Clock) -> None:
    box = Outbox(clock, expiry_seconds=60)
    box.add_alert("t/1", b"x")
    clock.now += 5
    assert box.oldest_age() == 5
    box.add_alert("t/2", b"x")
    box.discard()
    assert (box.queued, box.dropped_alerts, box.has_pending) == (0, 2, False)


REFUSED_V5 = ReasonCode(PacketTypes.CONNACK, "Unsupported protocol version")


def test_policy_falls_back_to_311_on_an_explicit_refusal_and_stays() -> None:
    policy = ReconnectPolicy("broker:1883", stable_after=60)
    policy.ended("refused", connected_for=None, refusal=REFUSED_V5, silent=False)
    assert policy.protocol == MQTTProtocolVersion.MQTTv311
    policy.ended("refused", connected_for=None, refusal=None, silent=True)
    policy.ended("refused", connected_for=None, refusal=None, silent=True)
    assert policy.protocol_name == "3.1.1", "pinned: silence does not switch back"
    policy.restart()
    assert policy.protocol_name == "5"


def test_policy_alternates_after_two_silent_attempts_until_one_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = ReconnectPolicy("broker:1883", stable_after=60)
    names = []
    for _ in range(4):
        policy.ended("no CONNACK", connected_for=None, refusal=None, silent=True)
        names.append(policy.protocol_name)
    assert names == ["5", "3.1.1", "3.1.1", "5"]
    policy.ended("refused", connected_for=None, refusal=None, silent=False)
    policy.ended("no CONNACK", connected_for=None, refusal=None, silent=True)
    assert policy.protocol_name == "5", "a loud failure resets the silent count"
    with caplog.at_level(logging.WARNING):
        policy.protocol = MQTTProtocolVersion.MQTTv311
        policy.connected()
        policy.connected()
    assert caplog.text.count("does not accept MQTT 5") == 1


def test_policy_backoff_grows_and_resets_only_after_a_stable_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = ReconnectPolicy("broker:1883", stable_after=60)
    with caplog.at_level(logging.DEBUG):
        delays = [
            policy.ended("down", connected_for=None, refusal=None, silent=False) for _ in range(3)
        ]
    for delay, base in zip(delays, (1, 2, 4), strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, "only the first failure of a streak warns"
    short = policy.ended("lost", connected_for=5.0, refusal=None, silent=False)
    assert short >= 8 * 0.8
    stable = policy.ended("lost", connected_for=61.0, refusal=None, silent=False)
    assert stable <= 1.2
    assert any("reconnecting in" in r.getMessage() for r in caplog.records)


def test_settings_from_options_or_from_home_assistants_mqtt_entry() -> None:
    own = broker_settings(
        {
            "broker_host": "mqtt.lan",
            "broker_port": 8883,
            "broker_tls": True,
            "broker_password": "pw",
        },
        {"broker": "core-mosquitto"},
    )
    assert own is not None
    assert (own.host, own.port, own.tls, own.password) == ("mqtt.lan", 8883, True, "pw")
    assert broker_settings({}, None) is None
    assert broker_settings({}, {"broker": ""}) is None
    ha = broker_settings(
        {},
        {
            "broker": "core-mosquitto",
            "port": 1884,
            "username": "u",
            "certificate": "-----BEGIN CERTIFICATE-----",
            "client_cert": "c",
            "client_key": "k",
            "transport": "websockets",
            "ws_headers": {"X": 1},
        },
    )
    assert ha is not None
    assert (ha.host, ha.port, ha.tls, ha.transport, ha.ws_headers) == (
        "core-mosquitto",
        1884,
        True,
        "websockets",
        (("X", "1"),),
    )
    assert ha.ha_certificates == ("certificate", "client_cert", "client_key")
    auto = broker_settings({}, {"broker": "b", "certificate": "auto"})
    assert auto is not None
    assert (auto.tls, auto.ha_certificates) == (True, ())


def test_certificate_files_are_located_by_home_assistant() -> None:
    settings = BrokerSettings(
        host="b", tls=True, ha_certificates=("certificate", "client_cert", "client_key")
    )
    found = resolve_certificate_files(
        settings, {"certificate": "/tmp/ca", "client_cert": "/tmp/c", "client_key": "/tmp/k"}.get
    )
    assert (found.ca_certs, found.client_cert, found.client_key) == ("/tmp/ca", "/tmp/c", "/tmp/k")
    assert found.ha_certificates == ()
    missing = resolve_certificate_files(settings, lambda _option: None)
    assert (missing.ca_certs, missing.client_cert, missing.client_key) == (None, None, None)
    plain = BrokerSettings(host="b")
    assert resolve_certificate_files(plain, lambda _option: "/nope") is plain


def test_publisher_options_from_entry_options() -> None:
    opts = publisher_options("01JFRIGATERULESENTRY0000001", {"qos": "2", "base_topic": "x"})
    assert (opts.client_id, opts.qos, opts.base_topic) == ("frigate_rules-Y0000001", 2, "x")
    assert publishing_enabled({}) is True
    assert publishing_enabled({"publish_enabled": False}) is False
