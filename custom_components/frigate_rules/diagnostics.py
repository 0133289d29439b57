"""Diagnostics download: configuration (redacted), buffer, counters, recent input."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_FRIGATE_URL, DIAG_OBSERVATIONS

if TYPE_CHECKING:
    from .data import FrigateRulesConfigEntry
    from .engine import Engine

TO_REDACT = {
    "password",
    "frigate_password",
    "frigate_username",
    "username",
    "broker_password",
    "broker_username",
    "client_key",
    "client_cert",
    "certificate",
    CONF_FRIGATE_URL,
}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: FrigateRulesConfigEntry
) -> dict[str, Any]:
    """Everything needed to understand why a rule did or did not fire."""
    engine = entry.runtime_data.engine
    publisher = entry.runtime_data.outbound.publisher
    return {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(dict(entry.data), TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "rules": {
            rule_id: {
                "name": rule.name,
                "config": async_redact_data(dict(entry.subentries[rule_id].data), TO_REDACT),
                "evaluation": _evaluation(engine, rule_id),
            }
            for rule_id, rule in engine.rules.items()
        },
        "availability": {
            "available": engine.frigate_available,
            **asdict(engine.availability),
            "ingest_path": engine.ingest_path,
            "unavailable_cameras": sorted(engine.cameras.unavailable),
            "camera_status_overflow": engine.cameras.overflow,
            "clock_skew_seconds": round(engine.skew.seconds, 3),
        },
        "rest_fallback": engine.rest.diagnostics() if engine.rest is not None else None,
        "counters": {
            "messages_received": engine.messages_received,
            "parse_errors": engine.parse_errors,
            "observations_buffered": len(engine.buffer),
            "observations_dropped": engine.buffer.dropped,
            "observations_expired": engine.buffer.expired,
            # Cameras refused because `max_names` distinct ones were buffered already.
            "names_overflow": engine.buffer.names_overflow,
            # Receive times moved forward because the wall clock stepped back.
            "clock_corrections": engine.buffer.clock_corrections,
            "clock_steps_back": engine.clock.corrections,
            "last_observation_at": engine.last_observation_at,
        },
        "buffer": {
            "retention_seconds": engine.buffer.retention_seconds,
            "max_observations": engine.buffer.max_observations,
            "max_names": engine.buffer.max_names,
            "size_by_camera": engine.buffer.size_by_camera(),
            "zones_seen": {c: sorted(z) for c, z in engine.buffer.zones_seen.items()},
        },
        "publisher": async_redact_data(publisher.diagnostics(), TO_REDACT)
        if publisher is not None
        else {"state": "disabled"},
        "alerts": {
            "fired": entry.runtime_data.alerts.alerts_fired,
            "cooldowns": len(entry.runtime_data.alerts.cooldowns),
        },
        "parse_failures": [asdict(failure) for failure in engine.parse_failures],
        "observations": [asdict(o) for o in engine.buffer.latest(DIAG_OBSERVATIONS)],
    }


def _evaluation(engine: Engine, rule_id: str) -> dict[str, Any] | None:
    evaluation = engine.evaluations.get(rule_id)
    if evaluation is None:
        return None
    return {
        "matched": evaluation.matched,
        "reason": str(evaluation.reason),
        "camera": evaluation.camera,
        "confidence_pct": evaluation.confidence_pct,
        "candidates": evaluation.candidates,
        "next_change_at": evaluation.next_change_at,
    }
