"""Never deaf: Frigate's HTTP API while MQTT is down or silent, and a catch-up after.

`FrigateApi` talks to Frigate with Home Assistant's shared aiohttp session (5 s
timeouts). On Frigate's authenticated port (8971) it logs in with `POST /api/login`
and sends the JWT as a bearer token (HA's cookie jar drops cookies of hosts given as
IP addresses, so the cookie is read once and not relied on), logging in again on 401.

`RestFallback` polls while the engine says the MQTT path is down: every poll asks
for the events in progress (each is a continuing sighting, observed at the poll's
time with the event's current score) and for the events that ended since the last
poll (each counted once, at its end on HA's clock). Errors back off up to a minute.
When MQTT is back, one catch-up request fetches what ended in between; the
(event id, Frigate time) memory keeps anything from being counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

import aiohttp

from .core.frigate_api import ClockSkew, SeenEvents, parse_api_event
from .core.model import Observation

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT: Final = 5.0
MAX_BACKOFF: Final = 60.0
EVENTS_LIMIT: Final = 100
TOKEN_COOKIE: Final = "frigate_token"


class FrigateApiError(Exception):
    """Frigate's API did not answer as documented (or not at all)."""


class FrigateAuthError(FrigateApiError):
    """Frigate refused the credentials (or asked for some and none are configured)."""


class FrigateApi:
    """The few documented endpoints the fallback needs."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._token: str | None = None
        self._timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    async def version(self) -> str:
        """Frigate's version string (proves the API answers)."""
        return str(await self._get("/api/version", {}, text=True)).strip()

    async def events(self, params: Mapping[str, str | int | float]) -> list[dict[str, Any]]:
        """`/api/events` rows for these query parameters (newest first)."""
        data = await self._get("/api/events", params, text=False)
        if not isinstance(data, list):
            raise FrigateApiError("/api/events did not answer a list")
        return [row for row in data if isinstance(row, dict)]

    async def login(self) -> None:
        """`POST /api/login`; keeps the JWT for the bearer header."""
        if not self._username:
            raise FrigateAuthError("Frigate asks for a login and no credentials are set")
        try:
            async with self._session.post(
                f"{self._base}/api/login",
                json={"user": self._username, "password": self._password or ""},
                timeout=self._timeout,
            ) as resp:
                if resp.status in (400, 401, 403, 422):
                    raise FrigateAuthError(f"login refused (HTTP {resp.status})")
                if resp.status >= 400:
                    raise FrigateApiError(f"login failed (HTTP {resp.status})")
                cookie = resp.cookies.get(TOKEN_COOKIE)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise FrigateApiError(f"login failed: {err!r}") from err
        if cookie is None or not cookie.value:
            raise FrigateApiError(f"login answered without a {TOKEN_COOKIE} cookie")
        self._token = cookie.value

    async def _get(self, path: str, params: Mapping[str, str | int | float], *, text: bool) -> Any:
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
            try:
                async with self._session.get(
                    f"{self._base}{path}",
                    params={key: str(value) for key, value in params.items()},
                    headers=headers,
                    timeout=self._timeout,
                ) as resp:
                    if resp.status == 401 and attempt == 1:
                        self._token = None
                        await self.login()
                        continue
                    if resp.status >= 400:
                        raise FrigateApiError(f"{path}: HTTP {resp.status}")
                    return await resp.text() if text else await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as err:
                raise FrigateApiError(f"{path}: {err!r}") from err
        raise FrigateApiError(f"{path}: still unauthorized after a new login")  # pragma: no cover


type ObservationsSink = Callable[[list[Observation]], None]
type ReachabilitySink = Callable[[bool], None]
# (delay in seconds, callback) -> cancel; HA's `async_call_later` in the glue, so the
# next poll is a timer HA (and its tests' clock) knows about.
type CallLater = Callable[[float, Callable[[], None]], Callable[[], None]]
type CreateTask = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]


class RestFallback:
    """Polls Frigate's API while MQTT cannot be heard; catches up when it can again."""

    def __init__(
        self,
        api: FrigateApi,
        poll_seconds: float,
        skew: ClockSkew,
        clock: Callable[[], float],
        call_later: CallLater,
        create_task: CreateTask,
        on_observations: ObservationsSink,
        on_reachable: ReachabilitySink,
        on_login_refused: Callable[[], None] = lambda: None,
    ) -> None:
        self.api = api
        self._on_login_refused = on_login_refused
        self._call_later = call_later
        self._create_task = create_task
        self.poll_seconds = float(poll_seconds)
        self._skew = skew
        self._clock = clock
        self._on_observations = on_observations
        self._on_reachable = on_reachable
        self._seen = SeenEvents()
        self._polling = False
        self._task: asyncio.Task[None] | None = None
        self._cancel_next: Callable[[], None] | None = None
        self._cursor = 0.0  # HA time: ended events after this are still to count
        self.reachable: bool | None = None
        self.failures = 0
        self._login_refused = False  # reauth asked for this run of refusals
        self.polls = 0
        self.catch_ups = 0
        self.observations = 0
        self.last_error: str | None = None

    @property
    def polling(self) -> bool:
        """Whether polls are scheduled (from `start` until `async_stop`)."""
        return self._polling

    def start(self, since: float) -> None:
        """Poll now and every `poll_seconds`; events that ended after `since` (HA time) count."""
        if self._polling:
            return
        self._polling = True
        self._cursor = since
        self.failures = 0
        self._login_refused = False  # a new outage: ask again if Frigate still refuses
        self._poll_now()

    async def async_stop(self) -> None:
        """Stop polling (the last poll's observations stay in the buffer)."""
        self._polling = False
        if self._cancel_next is not None:
            self._cancel_next()
            self._cancel_next = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._set_reachable(None)

    async def async_catch_up(self, since: float) -> int:
        """One request for what ended after `since` (HA time); how many were new."""
        try:
            rows = await self.api.events(self._ended_query(since))
        except FrigateApiError as err:
            _LOGGER.info("Catch-up from Frigate's API failed: %s", err)
            return 0
        observations = self._ended(rows, since)
        self._deliver(observations)
        self.catch_ups += 1
        return len(observations)

    # -- polling -------------------------------------------------------------------------

    def _poll_now(self) -> None:
        self._cancel_next = None
        if self._polling:
            self._task = self._create_task(self._poll_and_reschedule(), "frigate_rules REST poll")

    async def _poll_and_reschedule(self) -> None:
        try:
            await self._poll()
        except FrigateApiError as err:
            self.failures += 1
            self.last_error = str(err)
            if self.failures == 1:
                _LOGGER.warning("Frigate's API does not answer (%s); retrying", err)
            if isinstance(err, FrigateAuthError) and not self._login_refused:
                # Polling on cannot fix credentials; the user can (HA's reauth flow). Once
                # per run of refusals, even when Frigate was unreachable before it refused.
                self._login_refused = True
                self._on_login_refused()
            self._set_reachable(False)
        else:
            if self.failures:
                _LOGGER.info("Frigate's API answers again")
            self.failures = 0
            self._login_refused = False
            self._set_reachable(True)
        if self._polling:
            self._cancel_next = self._call_later(self._delay(), self._poll_now)

    def _delay(self) -> float:
        if not self.failures:
            return self.poll_seconds
        return float(min(self.poll_seconds * 2.0 ** min(self.failures, 8), MAX_BACKOFF))

    async def _poll(self) -> None:
        started = self._clock()
        current = await self.api.events(
            {"in_progress": 1, "include_thumbnails": 0, "limit": EVENTS_LIMIT}
        )
        ended = await self.api.events(self._ended_query(self._cursor))
        now = self._clock()
        observations = self._ended(ended, self._cursor)
        for row in current:
            if row.get("end_time") is None:
                observation = parse_api_event(row, now)
                if isinstance(observation, Observation):
                    observations.append(observation)
        self.polls += 1
        # What ends from now on counts at the next poll; a little overlap, no gap (the
        # seen-pairs memory drops the repeats).
        self._cursor = started - 1.0
        self._deliver(observations)

    def _ended_query(self, since: float) -> dict[str, str | int | float]:
        # `after` compares Frigate's start_time; an event that ended after `since` may
        # have started long before, so look back an hour and filter on end_time.
        return {
            "after": round(self._skew.to_frigate(since) - 3600.0, 3),
            "include_thumbnails": 0,
            "limit": EVENTS_LIMIT,
        }

    def _ended(self, rows: list[dict[str, Any]], since: float) -> list[Observation]:
        """Rows that ended after `since` (HA time), each once, observed at its end."""
        found: list[Observation] = []
        since_frigate = self._skew.to_frigate(since)
        now = self._clock()
        for row in sorted(rows, key=_end_time):
            end = row.get("end_time")
            if not isinstance(end, int | float) or end < since_frigate:
                continue
            event_id = row.get("id")
            if not isinstance(event_id, str) or not self._seen.first_time(event_id, end):
                continue
            observation = parse_api_event(row, min(self._skew.to_ha(end), now))
            if isinstance(observation, Observation):
                found.append(observation)
        return found

    def _deliver(self, observations: list[Observation]) -> None:
        if observations:
            self.observations += len(observations)
            self._on_observations(observations)

    def _set_reachable(self, reachable: bool | None) -> None:
        if reachable != self.reachable:
            self.reachable = reachable
            self._on_reachable(bool(reachable))

    def diagnostics(self) -> dict[str, Any]:
        """For the diagnostics download (no credentials)."""
        return {
            "polling": self.polling,
            "reachable": self.reachable,
            "poll_seconds": self.poll_seconds,
            "polls": self.polls,
            "catch_ups": self.catch_ups,
            "observations": self.observations,
            "consecutive_failures": self.failures,
            "last_error": self.last_error,
            "clock_skew_seconds": round(self._skew.seconds, 3),
        }


def _end_time(row: dict[str, Any]) -> float:
    end = row.get("end_time")
    return float(end) if isinstance(end, int | float) else 0.0
