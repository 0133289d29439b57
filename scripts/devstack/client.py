"""Home Assistant's REST and websocket APIs, driven the way the frontend drives them.

Config flows (forms filled with their defaults as ha-form does), registries, states,
bus events, onboarding and login. Part of the dev stack (scripts/devstack/__init__.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

import aiohttp

from .forms import with_form_defaults
from .hass import DOMAIN, SUBSCRIBED_SUFFIXES


class HassApiError(RuntimeError):
    """A REST or websocket call that Home Assistant answered with an error."""


class SubscriptionLog(Protocol):
    """A broker that reports the subscriptions it processed (tests.brokers.Mosquitto)."""

    def log_size(self) -> int:
        """A mark in the log."""

    def subscriptions(self, since: int = 0) -> list[tuple[str, str]]:
        """`(client_id, topic filter)` subscribed after the mark."""


class HassClient:
    """REST + websocket client for one hass, authenticated with a bearer token."""

    def __init__(
        self, base_url: str, token: str | None = None, broker: SubscriptionLog | None = None
    ) -> None:
        self.base_url = base_url
        self.token = token
        # With a broker that logs subscriptions, entry creation waits until HA's MQTT
        # client has really subscribed: HA batches and sends SUBSCRIBEs after setup
        # returns, and a publish before then is lost (plain MQTT semantics).
        self.broker = broker
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (and with it every pooled connection)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open aiohttp session."""
        if self._session is None:
            raise RuntimeError("use HassClient as `async with`")
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self.session.request(
            method, self.base_url + path, headers=self._headers(), **kwargs
        ) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise HassApiError(f"{method} {path} -> {resp.status}: {text}")
            return json.loads(text) if text else None

    async def get_bytes(self, path: str) -> tuple[int, bytes]:
        """GET a path as the browser does (with the token); status and raw body."""
        async with self.session.get(self.base_url + path, headers=self._headers()) as resp:
            return resp.status, await resp.read()

    async def rest_get(self, path: str) -> Any:
        """GET a REST path (e.g. `/api/states/sensor.x`); HassApiError on >= 400."""
        return await self._request("GET", path)

    async def rest_post(self, path: str, data: Any = None) -> Any:
        """POST JSON to a REST path; HassApiError on >= 400."""
        return await self._request("POST", path, json=data if data is not None else {})

    async def rest_delete(self, path: str) -> Any:
        """DELETE a REST path; HassApiError on >= 400."""
        return await self._request("DELETE", path)

    async def post_form(self, path: str, data: dict[str, str]) -> Any:
        """POST a form (the OAuth token endpoint wants one)."""
        return await self._request("POST", path, data=data)

    # -- config flows -----------------------------------------------------------------

    async def run_flow(
        self, start_path: str, start: dict[str, Any], steps: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """Start a flow and answer each form with the next of `steps`; the last result.

        Menus are answered too: a step `{"next_step_id": "..."}` picks a menu option.
        """
        result: dict[str, Any] = await self.rest_post(start_path, start)
        for step in steps:
            if result.get("type") not in ("form", "menu"):
                break
            user_input = step
            if result.get("type") == "form":
                user_input = with_form_defaults(result.get("data_schema") or [], step)
            result = await self.rest_post(f"{start_path}/{result['flow_id']}", user_input)
        return result

    async def create_flow_entry(
        self, handler: str, user_input_steps: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """Run a config flow to the end; the created entry (HassApiError otherwise)."""
        result = await self.run_flow(
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
            user_input_steps,
        )
        if result.get("type") != "create_entry":
            raise HassApiError(f"{handler} flow did not create an entry: {result}")
        entry: dict[str, Any] = result["result"]
        return entry

    async def create_subentry(
        self, entry_id: str, subentry_type: str, user_input_steps: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        """Run a subentry flow (e.g. a `rule`) to the end; its final flow result."""
        result = await self.run_flow(
            "/api/config/config_entries/subentries/flow",
            {"handler": [entry_id, subentry_type], "show_advanced_options": False},
            user_input_steps,
        )
        if result.get("type") != "create_entry":
            raise HassApiError(f"{subentry_type} subentry flow did not finish: {result}")
        return result

    async def config_entries(self, domain: str | None = None) -> list[dict[str, Any]]:
        """Config entries, optionally of one domain."""
        path = "/api/config/config_entries/entry"
        if domain:
            path += f"?domain={domain}"
        entries: list[dict[str, Any]] = await self.rest_get(path)
        return entries

    async def create_mqtt_entry(self, host: str, port: int) -> str:
        """HA's MQTT integration pointed at a broker, made the way the UI makes it."""
        entry = await self.create_flow_entry("mqtt", [{"broker": host, "port": port}])
        return str(entry["entry_id"])

    async def create_frigate_rules_entry(
        self, prefix: str = "frigate", frigate_url: str | None = None
    ) -> str:
        """A frigate_rules entry through its config flow; its entry_id."""
        user_input: dict[str, Any] = {"topic_prefix": prefix}
        if frigate_url:
            user_input["frigate_url"] = frigate_url
        mark = self.broker.log_size() if self.broker is not None else 0
        entry = await self.create_flow_entry(DOMAIN, [user_input])
        if entry.get("state") != "loaded":
            raise HassApiError(f"frigate_rules entry created but not loaded: {entry}")
        if self.broker is not None:
            await self.wait_for_subscriptions(
                [f"{prefix}/{suffix}" for suffix in SUBSCRIBED_SUFFIXES], since=mark
            )
        return str(entry["entry_id"])

    async def wait_for_subscriptions(
        self,
        topics: Iterable[str],
        since: int = 0,
        timeout: float = 30.0,  # noqa: ASYNC109
    ) -> None:
        """Until the broker has processed a SUBSCRIBE for each of `topics` after `since`."""
        if self.broker is None:
            raise RuntimeError("HassClient has no broker to watch")
        wanted = set(topics)
        deadline = time.monotonic() + timeout
        while True:
            seen = {topic for _client, topic in self.broker.subscriptions(since)}
            if wanted <= seen:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"broker saw no SUBSCRIBE for {sorted(wanted - seen)} within {timeout} s "
                    f"(saw {sorted(seen)})"
                )
            await asyncio.sleep(0.05)

    # -- websocket ----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[WsClient]:
        """An authenticated websocket connection, closed on exit."""
        ws = WsClient(self)
        await ws.connect()
        try:
            yield ws
        finally:
            await ws.close()

    async def entities_of_entry(self, entry_id: str) -> dict[str, str]:
        """`{unique_id: entity_id}` of a config entry, from the entity registry."""
        async with self.websocket() as ws:
            entries = await ws.command("config/entity_registry/list")
        return {
            item["unique_id"]: item["entity_id"]
            for item in entries
            if item.get("config_entry_id") == entry_id
        }

    async def wait_for_entities(
        self,
        entry_id: str,
        unique_ids: Iterable[str],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> dict[str, str]:
        """`{unique_id: entity_id}` once every one of `unique_ids` is registered."""
        wanted = set(unique_ids)
        deadline = time.monotonic() + timeout
        while True:
            found = await self.entities_of_entry(entry_id)
            if wanted <= found.keys():
                return {uid: found[uid] for uid in wanted}
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"entities {sorted(wanted - found.keys())} of {entry_id} not registered; "
                    f"registered: {found}"
                )
            await asyncio.sleep(0.1)

    # -- states -------------------------------------------------------------------------

    async def get_state(self, entity_id: str) -> dict[str, Any] | None:
        """The REST state object of an entity, None if it has none."""
        try:
            state: dict[str, Any] = await self.rest_get(f"/api/states/{entity_id}")
        except HassApiError as err:
            if "-> 404" in str(err):
                return None
            raise
        return state

    async def wait_for_state(
        self,
        entity_id: str,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - a polling deadline, reported on expiry
        interval: float = 0.05,
    ) -> dict[str, Any]:
        """Poll the REST state until `predicate(state)` holds; TimeoutError shows the last."""
        deadline = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            last = await self.get_state(entity_id)
            if last is not None and predicate(last):
                return last
            if time.monotonic() > deadline:
                raise TimeoutError(f"{entity_id} did not reach the condition; last state {last}")
            await asyncio.sleep(interval)

    async def wait_until_running(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        """Until hass reports it has finished starting (`/api/config` state RUNNING)."""
        deadline = time.monotonic() + timeout
        while True:
            config = await self.rest_get("/api/config")
            if config.get("state") == "RUNNING":
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"hass still {config.get('state')} after {timeout} s")
            await asyncio.sleep(0.1)


@dataclass
class WsClient:
    """The websocket API as the frontend uses it: commands with ids, event subscriptions."""

    client: HassClient
    events: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _ws: aiohttp.ClientWebSocketResponse | None = None
    _next_id: int = 1
    _pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    _reader: asyncio.Task[None] | None = None
    _new_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def connect(self) -> None:
        """Open and authenticate; starts the reader task."""
        ws = await self.client.session.ws_connect(self.client.base_url + "/api/websocket")
        self._ws = ws
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise HassApiError(f"unexpected websocket greeting {hello}")
        await ws.send_json({"type": "auth", "access_token": self.client.token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise HassApiError(f"websocket auth failed: {answer}")
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        """Stop reading and close the socket."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(msg.data)
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item)
        error = HassApiError("websocket closed by hass")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    def _dispatch(self, item: dict[str, Any]) -> None:
        if item.get("type") == "event":
            self.events.setdefault(item["id"], []).append(item["event"])
            self._new_event.set()
            return
        future = self._pending.pop(item.get("id", -1), None)
        if future is None or future.done():
            return
        if item.get("success", True):
            future.set_result(item.get("result"))
        else:
            future.set_exception(HassApiError(f"websocket command failed: {item.get('error')}"))

    async def command(
        self,
        command_type: str,
        timeout: float = 10.0,  # noqa: ASYNC109
        **data: Any,
    ) -> Any:
        """Send a command; its `result` (HassApiError if it failed)."""
        if self._ws is None:
            raise RuntimeError("websocket not connected")
        msg_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({"id": msg_id, "type": command_type, **data})
        return await asyncio.wait_for(future, timeout)

    async def subscribe_events(self, event_type: str | None = None) -> int:
        """Subscribe to bus events (all, or one type); events collect in `events[id]`."""
        msg_id = self._next_id
        data: dict[str, Any] = {"event_type": event_type} if event_type else {}
        self.events[msg_id] = []
        await self.command("subscribe_events", **data)
        return msg_id

    async def wait_for_event(
        self,
        subscription: int,
        predicate: Callable[[dict[str, Any]], bool] = lambda _event: True,
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """The first collected event of a subscription matching `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events.get(subscription, []):
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no matching event within {timeout} s; got {self.events.get(subscription)}"
                )
            self._new_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_event.wait(), remaining)
