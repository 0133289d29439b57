"""Every topic is built in one place, and names never inject topic levels."""

from __future__ import annotations

import pytest

from custom_components.frigate_rules.core import topics


def test_input_topics() -> None:
    assert topics.subscribed_topics("frigate") == [
        "frigate/events",
        "frigate/reviews",
        "frigate/available",
        "frigate/stats",
        "frigate/tracked_object_update",
        "frigate/+/status/detect",
        "frigate/+/detect/state",
    ]
    assert topics.camera_of("frigate", "frigate/backyard/status/detect") == "backyard"
    assert topics.camera_of("nvr/frigate", "nvr/frigate/porch/detect/state") == "porch"
    assert topics.camera_of("frigate", "frigate//detect/state") is None
    assert topics.input_topic("nvr/frigate", "events") == "nvr/frigate/events"


def test_output_topics() -> None:
    assert topics.status_topic("frigate_rules") == "frigate_rules/status"
    assert (
        topics.rule_alert_topic("frigate_rules", "Backyard person")
        == "frigate_rules/v1/rules/backyard_person/alert"
    )
    assert topics.rule_state_topic("base", "Porch") == "base/v1/rules/porch/state"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Back yard / night", "back_yard_night"),
        ("a+b#c", "a_b_c"),
        ("nul\x00byte", "nul_byte"),
        ("  ", "unnamed"),
        ("///", "unnamed"),
        ("Café", "café"),
        ("keep-dash_and_9", "keep-dash_and_9"),
    ],
)
def test_sanitize_segment(name: str, slug: str) -> None:
    assert topics.sanitize_segment(name) == slug
    assert not set("+#/\x00") & set(slug)


@pytest.mark.parametrize(
    ("topic", "valid"),
    [
        ("frigate_rules", True),
        ("home/frigate_rules", True),
        ("", False),
        ("a/+/b", False),
        ("a/#", False),
        ("a//b", False),
        ("/a", False),
        ("a\x00", False),
    ],
)
def test_is_valid_topic_base(topic: str, valid: bool) -> None:
    assert topics.is_valid_topic_base(topic) is valid
