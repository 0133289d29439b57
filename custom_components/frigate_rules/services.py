"""Services: `simulate` (explain a rule, no side effects) and `reset_cooldown`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import entity_registry as er

from .compat import vol
from .const import DOMAIN
from .core.model import (
    ChainLink,
    Condition,
    Context,
    Evaluation,
    Kind,
    Observation,
    Sequence,
    Source,
)
from .core.ruleconfig import InvalidRule, rule_from_mapping, rule_to_mapping
from .core.rules import evaluate, evaluate_observations
from .core.sequenceconfig import sequence_to_mapping
from .core.sequences import evaluate_sequence, evaluate_sequence_observations
from .entity import rule_id_of

if TYPE_CHECKING:
    from .data import FrigateRulesConfigEntry
    from .engine import Engine

SERVICE_SIMULATE = "simulate"
SERVICE_RESET_COOLDOWN = "reset_cooldown"

OBSERVATION_SCHEMA = vol.Schema(
    {
        vol.Required("camera"): cv.string,
        vol.Optional("label", default="person"): cv.string,
        vol.Required("confidence_pct"): vol.All(vol.Coerce(float), vol.Range(min=0, max=100)),
        vol.Optional("zones", default=list): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional("seconds_ago", default=0): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional("stationary", default=False): cv.boolean,
        # Who Frigate recognized (face, plate, classification), for "who" rules.
        vol.Optional("sub_label"): cv.string,
    }
)

SIMULATE_SCHEMA = vol.Schema(
    {
        vol.Exclusive("entity_id", "rule"): cv.entity_id,
        vol.Exclusive("rule", "rule"): dict,
        vol.Optional("config_entry_id"): cv.string,
        vol.Optional("observations"): [OBSERVATION_SCHEMA],
        vol.Optional("now"): cv.datetime,
        vol.Optional("alarm_state"): cv.string,
        vol.Optional("frigate_available"): cv.boolean,
    }
)

RESET_COOLDOWN_SCHEMA = vol.Schema(
    {
        vol.Required("entity_id"): cv.entity_id,
        vol.Optional("camera"): cv.string,
    }
)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the services once for the integration (not per entry)."""

    async def simulate(call: ServiceCall) -> ServiceResponse:
        return _simulate(hass, call.data)

    async def reset_cooldown(call: ServiceCall) -> None:
        entry, rule = _rule_of_entity(hass, call.data["entity_id"])
        entry.runtime_data.alerts.reset_cooldown(rule.rule_id, call.data.get("camera"))

    hass.services.async_register(
        DOMAIN,
        SERVICE_SIMULATE,
        simulate,
        schema=SIMULATE_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_RESET_COOLDOWN, reset_cooldown, schema=RESET_COOLDOWN_SCHEMA
    )


def _loaded_entries(hass: HomeAssistant) -> list[FrigateRulesConfigEntry]:
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.state is ConfigEntryState.LOADED
    ]


def _rule_of_entity(
    hass: HomeAssistant, entity_id: str
) -> tuple[FrigateRulesConfigEntry, Condition]:
    """The loaded entry and rule (or sequence) behind a rule binary_sensor."""
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry is not None and registry_entry.platform == DOMAIN:
        for entry in _loaded_entries(hass):
            if registry_entry.config_entry_id != entry.entry_id:
                continue
            rule_id = rule_id_of(entry.entry_id, registry_entry.unique_id)
            rule = entry.runtime_data.engine.rules.get(rule_id or "")
            if rule is not None:
                return entry, rule
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_rule_entity",
        translation_placeholders={"entity_id": entity_id},
    )


def _engine_for_inline(hass: HomeAssistant, entry_id: str | None) -> Engine:
    entries = _loaded_entries(hass)
    if entry_id is not None:
        entries = [entry for entry in entries if entry.entry_id == entry_id]
        if not entries:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_config_entry",
                translation_placeholders={"config_entry_id": entry_id},
            )
    if len(entries) != 1:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="config_entry_required" if entries else "no_loaded_entry",
        )
    return entries[0].runtime_data.engine


def _simulate(hass: HomeAssistant, data: Mapping[str, Any]) -> ServiceResponse:
    if "entity_id" in data:
        entry, rule = _rule_of_entity(hass, data["entity_id"])
        engine = entry.runtime_data.engine
    elif "rule" in data:
        engine = _engine_for_inline(hass, data.get("config_entry_id"))
        try:
            rule = rule_from_mapping("inline", {"name": "Simulated rule", **data["rule"]})
        except InvalidRule as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_rule",
                translation_placeholders={"field": err.field, "error": err.error},
            ) from err
    else:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="rule_or_entity_required"
        )
    now = data["now"].timestamp() if "now" in data else datetime.now(UTC).timestamp()
    live = engine.context_for(rule)
    context = replace(
        live,
        frigate_available=data.get("frigate_available", live.frigate_available),
        alarm_state=data.get("alarm_state", live.alarm_state),
    )
    if "observations" in data:
        observations = [
            _observation(index, item, now) for index, item in enumerate(data["observations"])
        ]
        # Who the simulated objects are is only what the call says (their sub_label).
        context = replace(context, objects=None)
        if isinstance(rule, Sequence):
            evaluation = evaluate_sequence_observations(
                rule, observations, now, context, explain=True
            )
        else:
            evaluation = evaluate_observations(rule, observations, now, context, explain=True)
        return _response(rule, evaluation, now, context, "call")
    # Everything the buffer holds for the rule's cameras, so the trace shows what the
    # window and label clauses dropped.
    if isinstance(rule, Sequence):
        evaluation = evaluate_sequence(rule, engine.buffer, now, context, explain=True)
    else:
        evaluation = evaluate(rule, engine.buffer, now, context, explain=True)
    return _response(rule, evaluation, now, context, "buffer")


def _observation(index: int, item: Mapping[str, Any], now: float) -> Observation:
    zones = tuple(item["zones"])
    return Observation(
        event_id=f"simulated-{index}",
        camera=item["camera"],
        label=item["label"],
        sub_label=item.get("sub_label"),
        confidence_pct=item["confidence_pct"],
        zones=zones,
        entered_zones=zones,
        stationary=item["stationary"],
        kind=Kind.UPDATE,
        source=Source.EVENTS,
        frame_time=None,
        observed_at=now - item["seconds_ago"],
    )


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def _plain(value: Any) -> Any:
    """JSON-safe copy of trace details (tuples, sets and enums become plain values)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(item) for item in value)
    if isinstance(value, Enum):
        return value.value
    return value


def _link(link: ChainLink) -> dict[str, Any]:
    return {**_plain(asdict(link)), "observed_at": _iso(link.observed_at)}


def _response(
    rule: Condition, evaluation: Evaluation, now: float, context: Context, source: str
) -> ServiceResponse:
    return {
        "matched": evaluation.matched,
        "reason": evaluation.reason.value,
        "camera": evaluation.camera,
        "confidence_pct": evaluation.confidence_pct,
        "candidates": evaluation.candidates,
        "now": _iso(now),
        "observations_from": source,
        "context": {
            "frigate_available": context.frigate_available,
            "alarm_state": context.alarm_state,
        },
        "next_change_at": _iso(evaluation.next_change_at),
        "per_camera": {
            camera: {
                "confidence_pct": aggregate.confidence_pct,
                "candidates": aggregate.candidates,
                "matched": aggregate.matched,
                "event_id": aggregate.observation.event_id,
            }
            for camera, aggregate in evaluation.per_camera.items()
        },
        "trace": [
            {"clause": clause.clause, "passed": clause.passed, "details": _plain(clause.details)}
            for clause in evaluation.trace
        ],
        "rule": _plain(
            sequence_to_mapping(rule) if isinstance(rule, Sequence) else rule_to_mapping(rule)
        ),
        **({"chain": [_link(link) for link in evaluation.chain]} if evaluation.chain else {}),
    }
