"""Serving `FakeFrigate` over HTTP: the aiohttp app, servers, pytest fixtures, CLI.

Three ways to run it, all on 127.0.0.1 (PHACC lets tests open loopback sockets only
with `socket_enabled`):
* `fake_frigate` fixture: a `FakeFrigateServer` on the test's own event loop;
* `fake_frigate_thread` fixture / `ThreadedFakeFrigate`: its own loop in a thread, for
  a `hass` process started by an e2e test (steer it with Python calls);
* `python -m tests.fake_frigate --port N --fixture FILE --auth`: a process, steered over
  HTTP with the `/_control/` routes (see `_control`). It prints `READY <url>` once
  listening; `start_process` waits for that line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from email.utils import formatdate
from typing import Any, Self

import pytest
from aiohttp import web

from tests.fake_frigate import COOKIE, FakeFrigate

FRIGATE = web.AppKey("frigate", FakeFrigate)
CLOSING = web.AppKey("closing", asyncio.Event)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNAUTHORIZED = "<html><body><center><h1>401 Authorization Required</h1></center></body></html>"


def _invalid(name: str, raw: str, kind: str = "float_parsing") -> web.Response:
    """FastAPI's 422 for a query or body field it cannot parse."""
    detail = {"type": kind, "loc": ["query", name], "msg": f"invalid {name}", "input": raw}
    return web.json_response({"detail": [detail]}, status=422)


def _token(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    return request.cookies.get(COOKIE)


def _set_token(response: web.StreamResponse, token: str, frigate: FakeFrigate) -> None:
    expires = formatdate(frigate.now() + frigate.session_length, usegmt=True)
    response.set_cookie(COOKIE, token, httponly=True, path="/", samesite="lax", expires=expires)


@web.middleware
async def _api(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What happens before Frigate's handler: failures, CSRF, nginx's auth check; log."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    frigate, refreshed, authorized = request.app[FRIGATE], None, True
    response: web.StreamResponse | None = None
    mode = frigate.failure_for(request.path)
    if mode == "hang":
        released, closing = frigate.released, request.app[CLOSING]
        while frigate.released == released and not closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(closing.wait(), 0.05)
    csrf = "Origin" not in request.headers or "X-CSRF-TOKEN" in request.headers
    if mode == "error":
        response = web.Response(status=frigate.fail_status, text="Internal Server Error")
    elif request.method == "POST" and not csrf:
        payload = {"success": False, "message": "Missing CSRF header"}
        response = web.json_response(payload, status=401)
    elif frigate.auth and request.path != "/api/login":
        authorized, refreshed = frigate.check(_token(request))
        if not authorized:
            headers = {"Location": "/login"}
            response = web.Response(status=401, text=UNAUTHORIZED, headers=headers)
            response.content_type = "text/html"
    if response is None:
        response = await handler(request)
        if refreshed:
            _set_token(response, refreshed, frigate)
    frigate.log(request.method, request.path, dict(request.query), response.status, authorized)
    return response


async def _version(request: web.Request) -> web.Response:
    return web.Response(text=request.app[FRIGATE].version, content_type="text/plain")


async def _login(request: web.Request) -> web.Response:
    frigate = request.app[FRIGATE]
    try:
        body = await request.json()
    except json.JSONDecodeError:
        return _invalid("body", await request.text(), "json_invalid")
    for field in ("user", "password"):
        if not isinstance(body, dict) or not isinstance(body.get(field), str):
            return _invalid(field, str(body), "missing")
    token = frigate.login(body["user"], body["password"])
    if token is None:
        return web.json_response({"message": "Login failed"}, status=401)
    response = web.Response(text="")
    _set_token(response, token, frigate)
    return response


async def _events(request: web.Request) -> web.Response:
    query, numbers = request.query, {}
    for name in ("after", "before", "in_progress", "limit", "include_thumbnails"):
        if query.get(name, "") != "":
            try:
                numbers[name] = float(query[name])
            except ValueError:
                return _invalid(name, query[name])

    def names(single: str, plural: str) -> set[str] | None:
        raw = query.get(plural, "all")
        raw = query.get(single, "all") if raw == "all" else raw
        return None if raw == "all" else set(raw.split(","))

    progress = numbers.get("in_progress")
    rows = request.app[FRIGATE].query(
        cameras=names("camera", "cameras"),
        labels=names("label", "labels"),
        zones=names("zone", "zones"),
        sub_labels=names("sub_label", "sub_labels"),
        after=numbers.get("after"),
        before=numbers.get("before"),
        in_progress=None if progress is None else bool(progress),
        limit=int(numbers.get("limit", 100)),
        oldest_first=query.get("sort") == "date_asc",
        thumbnails=numbers.get("include_thumbnails", 1) != 0,
    )
    return web.json_response(rows)


async def _event(request: web.Request) -> web.Response:
    try:
        return web.json_response(request.app[FRIGATE].event(request.match_info["event_id"]))
    except KeyError:
        return web.json_response({"success": False, "message": "Event not found"}, status=404)


async def _control(request: web.Request) -> web.Response:
    """`POST /_control/<action>`, JSON in and out (`now`: Frigate's clock), never logged.

    event {id?, camera, label?, score?, top_score?, zones?, sub_label?, sub_label_score?,
    start_time?, end_time?} adds (or updates a known id) -> {id}; end {id, end_time?};
    fixture {path, until_ms?, first_start?} -> {ids}; fail {mode: error|hang|off,
    status?, times?, paths?}; set {auth?, skew?, version?, session_length?, user?,
    password?}; expire_tokens; simulate_restart; refuse {seconds} (connections refused
    meanwhile); requests {clear?} -> {requests: [{method, path, query, at, status,
    authorized}]}.
    """
    frigate, action = request.app[FRIGATE], request.match_info["action"]
    body: dict[str, Any] = await request.json() if request.can_read_body else {}
    result: dict[str, Any] = {"now": frigate.now()}
    if action == "event":
        event_id = body.pop("id", None)
        if event_id is not None and event_id in frigate.ids():
            frigate.update_event(event_id, **body)
        else:
            event_id = frigate.add_event(event_id=event_id, **body)
        result["id"] = event_id
    elif action == "end":
        frigate.end_event(body["id"], body.get("end_time"))
    elif action == "fixture":
        result["ids"] = frigate.load_fixture(
            body["path"], until_ms=body.get("until_ms"), first_start=body.get("first_start")
        )
    elif action == "fail":
        if body.get("mode", "error") == "off":
            frigate.recover()
        else:
            paths = tuple(body.get("paths", ["/api/"]))
            fail = {"status": body.get("status", 500), "times": body.get("times"), "paths": paths}
            frigate.fail(body.get("mode", "error"), **fail)
    elif action == "set":  # auth, skew, version, session_length
        for key, value in body.items():
            setattr(frigate, key, value)
    elif action in ("expire_tokens", "simulate_restart"):
        getattr(frigate, action)()
    elif action == "refuse":  # stop listening for `seconds`, then listen again
        request.app[SERVER].refuse_later(float(body.get("seconds", 5)))
    elif action == "requests":
        result["requests"] = [vars(entry) for entry in frigate.requests]
        if body.get("clear"):
            frigate.requests.clear()
    else:
        raise web.HTTPNotFound
    return web.json_response(result)


def make_app(
    frigate: FakeFrigate, closing: asyncio.Event, server: FakeFrigateServer
) -> web.Application:
    """Frigate's routes we fake, plus the control routes; state lives in `frigate`."""
    app = web.Application(middlewares=[_api])
    app[FRIGATE], app[CLOSING], app[SERVER] = frigate, closing, server
    app.router.add_get("/api/version", _version)
    app.router.add_post("/api/login", _login)
    app.router.add_get("/api/events", _events)
    app.router.add_get("/api/events/{event_id}", _event)
    app.router.add_post("/_control/{action}", _control)
    return app


class FakeFrigateServer:
    """A `FakeFrigate` on 127.0.0.1, served from the running loop; stop/start keep the port."""

    def __init__(self, frigate: FakeFrigate | None = None, port: int = 0) -> None:
        self.frigate = frigate or FakeFrigate()
        self.port = port
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._refusing: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def listening(self) -> bool:
        """True from the end of `start()` to the end of `stop()`."""
        return self._runner is not None

    async def start(self) -> None:
        """Listen (again): connections succeed from now on."""
        self._closing = asyncio.Event()
        app = make_app(self.frigate, self._closing, self)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def stop(self) -> None:
        """Close every connection and stop listening: clients get connection refused."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def refuse_later(self, seconds: float) -> None:
        async def refuse() -> None:
            await self.stop()
            await asyncio.sleep(seconds)
            await self.start()

        task = asyncio.get_running_loop().create_task(refuse())
        self._refusing.add(task)
        task.add_done_callback(self._refusing.discard)

    async def close(self) -> None:
        """Stop for good, also cancelling a pending `refuse`."""
        for task in list(self._refusing):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


SERVER = web.AppKey("server", FakeFrigateServer)


class ThreadedFakeFrigate:
    """A `FakeFrigateServer` on its own loop and thread, driven from synchronous code."""

    def __init__(self, frigate: FakeFrigate | None = None, port: int = 0) -> None:
        self.frigate = frigate or FakeFrigate()
        self.server = FakeFrigateServer(self.frigate, port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None, "use it as a context manager"
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    def refuse(self) -> None:
        """Stop listening (connection refused) until `accept()`."""
        self._run(self.server.stop())

    def accept(self) -> None:
        """Listen again on the same port."""
        self._run(self.server.start())

    def __enter__(self) -> Self:
        self._loop = loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="fake-frigate")
        self._thread.start()
        self._run(self.server.start())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._thread is not None
        self._run(self.server.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None


@pytest.fixture
async def fake_frigate(socket_enabled: None) -> AsyncIterator[FakeFrigateServer]:
    """A fake Frigate on the test's loop; `.frigate` holds its state, `.url` its address."""
    async with FakeFrigateServer() as server:
        yield server


@pytest.fixture
def fake_frigate_thread(socket_enabled: None) -> Iterator[ThreadedFakeFrigate]:
    """A fake Frigate in a thread, for a hass process that polls it."""
    with ThreadedFakeFrigate() as server:
        yield server


def start_process(*args: str, cwd: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m tests.fake_frigate *args`; returns it and its URL once it listens.

    Stop it with `process.terminate()` then `process.wait()`.
    """
    command = [sys.executable, "-m", "tests.fake_frigate", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=cwd)
    assert process.stdout is not None
    line = process.stdout.readline()  # READY is its first line; "" if it died
    if not line.startswith("READY "):
        process.kill()
        process.wait()
        raise RuntimeError(f"fake Frigate did not start: {line!r}")
    return process, line.split()[1]


async def _serve(args: argparse.Namespace) -> None:
    frigate = FakeFrigate(
        version=args.version, auth=args.auth, user=args.user, password=args.password, skew=args.skew
    )
    for path in args.fixture:
        frigate.load_fixture(path, first_start=args.first_start)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    async with FakeFrigateServer(frigate, args.port) as server:
        print(f"READY {server.url}", flush=True)
        await done.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_frigate")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fixture", action="append", default=[], help="JSONL to fold in")
    parser.add_argument("--first-start", type=float, help="Frigate time the first event starts")
    parser.add_argument("--auth", action="store_true", help="behave like port 8971")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", default="correct-horse-battery")
    parser.add_argument("--version", default="0.17.2-4a1c2b3")
    parser.add_argument("--skew", type=float, default=0.0, help="Frigate clock minus real time")
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0
