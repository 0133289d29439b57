"""The fake Frigate against Frigate's documented API, so tests built on it test the real thing.

Facts checked (docs.frigate.video: integrations/api, configuration/authentication; the
OpenAPI file): `/api/version` is plain text; `POST /api/login` takes `{"user",
"password"}`, answers 401 `{"message": "Login failed"}` or sets the JWT cookie
`frigate_token`, also accepted as `Authorization: Bearer`; on port 8971 everything else
under `/api/` needs it; `/api/events` filters `after`/`before` on the start time, newest
first, `in_progress=1` is `end_time` null, and each event has `data.score`/`data.top_score`
from 0.13 (a `top_score` column before).
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fake_frigate import FakeFrigate
from tests.fake_frigate_fixtures import (
    FakeFrigateServer,
    ThreadedFakeFrigate,
    fake_frigate,
    fake_frigate_thread,
    start_process,
)

# Fixtures are found by module attribute; naming them here also tells ruff they are used.
SHARED_FIXTURES = (fake_frigate, fake_frigate_thread)

REPO = Path(__file__).parent.parent
FIXTURES = REPO / "tests" / "fixtures"
KNOWN = "g_known_face_v017.jsonl"
PASSWORD = "correct-horse-battery"
DOCUMENTED_KEYS = {
    *("id", "label", "sub_label", "camera", "start_time", "end_time", "false_positive"),
    *("zones", "thumbnail", "has_clip", "has_snapshot", "retain_indefinitely", "plus_id"),
    "data",
}


def fixture_lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (FIXTURES / name).read_text().splitlines()]


async def until(predicate: Callable[[], bool]) -> None:
    """Wait for a condition the server reaches on its own (bounded)."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def get(server: FakeFrigateServer, path: str, **kwargs: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.url + path, **kwargs) as response,
    ):
        body = await response.text()
        is_json = response.content_type == "application/json"
        return response.status, json.loads(body) if is_json else body


async def login(server: FakeFrigateServer, password: str = PASSWORD) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        body = {"user": "admin", "password": password}
        async with session.post(server.url + "/api/login", json=body) as response:
            await response.read()
            return response


async def test_version_is_plain_text(fake_frigate: FakeFrigateServer) -> None:
    fake_frigate.frigate.version = "0.16.4-ab12cd3"
    assert await get(fake_frigate, "/api/version") == (200, "0.16.4-ab12cd3")


async def test_auth_needs_the_login_cookie_or_bearer(fake_frigate: FakeFrigateServer) -> None:
    fake_frigate.frigate.auth = True
    status, body = await get(fake_frigate, "/api/events")
    assert status == 401
    assert "401" in body
    assert (await get(fake_frigate, "/api/version"))[0] == 401
    wrong = await login(fake_frigate, "wrong")
    assert wrong.status == 401
    response = await login(fake_frigate)
    assert response.status == 200
    cookie = response.cookies["frigate_token"]
    assert cookie["httponly"]
    token = cookie.value
    header, claims, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["sub"] == "admin"
    assert signature
    assert (await get(fake_frigate, "/api/events", cookies={"frigate_token": token}))[0] == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert await get(fake_frigate, "/api/version", headers=bearer) == (200, "0.17.2-4a1c2b3")
    assert (await get(fake_frigate, "/api/events", cookies={"frigate_token": "x.y.z"}))[0] == 401


async def test_wrong_login_body(fake_frigate: FakeFrigateServer) -> None:
    async with aiohttp.ClientSession() as session:
        url = fake_frigate.url + "/api/login"
        async with session.post(url, json={"user": "admin"}) as response:
            assert response.status == 422
        async with session.post(url, json={"user": "admin", "password": "no"}) as response:
            assert await response.json() == {"message": "Login failed"}
        headers = {"Origin": "http://elsewhere"}
        body = {"user": "admin", "password": PASSWORD}
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["message"] == "Missing CSRF header"


async def test_a_cookie_from_an_ip_needs_an_unsafe_jar(fake_frigate: FakeFrigateServer) -> None:
    """The default aiohttp jar drops cookies from IP hosts: send the token as Bearer."""
    fake_frigate.frigate.auth = True
    for unsafe, status in ((False, 401), (True, 200)):
        jar = aiohttp.CookieJar(unsafe=unsafe)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            body = {"user": "admin", "password": PASSWORD}
            async with session.post(fake_frigate.url + "/api/login", json=body) as response:
                assert response.status == 200
            async with session.get(fake_frigate.url + "/api/events") as response:
                assert response.status == status


async def test_expired_tokens_need_a_new_login(fake_frigate: FakeFrigateServer) -> None:
    frigate = fake_frigate.frigate
    frigate.auth, frigate.session_length = True, 3600
    token = (await login(fake_frigate)).cookies["frigate_token"].value
    cookies = {"frigate_token": token}
    frigate.expire_tokens()
    assert (await get(fake_frigate, "/api/events", cookies=cookies))[0] == 401
    token = (await login(fake_frigate)).cookies["frigate_token"].value
    cookies = {"frigate_token": token}
    frigate.skew = 3600 - 1000  # within Frigate's 30 min refresh window
    async with (
        aiohttp.ClientSession(cookies=cookies) as session,
        session.get(fake_frigate.url + "/api/events") as response,
    ):
        assert response.status == 200
        assert response.cookies["frigate_token"].value != token
    frigate.skew = 3601
    assert (await get(fake_frigate, "/api/events", cookies=cookies))[0] == 401


async def test_events_filters_and_order(fake_frigate: FakeFrigateServer) -> None:
    frigate = fake_frigate.frigate
    old = frigate.add_event("backyard", start_time=1000.0, end_time=1010.0, zones=["yard"])
    car = frigate.add_event("driveway", "car", start_time=1020.0, score=0.71)
    now = frigate.add_event("front_door", start_time=1030.0, zones=["porch"], sub_label="alice")

    async def ids(query: str) -> list[str]:
        status, rows = await get(fake_frigate, "/api/events" + query)
        assert status == 200
        return [row["id"] for row in rows]

    assert await ids("") == [now, car, old]
    assert await ids("?sort=date_asc") == [old, car, now]
    assert await ids("?after=1020&include_thumbnails=0") == [now]
    assert await ids("?after=1000&before=1030") == [car]
    assert await ids("?in_progress=1") == [now, car]
    assert await ids("?in_progress=0") == [old]
    assert await ids("?camera=driveway") == [car]
    assert await ids("?cameras=driveway,backyard&labels=person") == [old]
    assert await ids("?label=car") == [car]
    assert await ids("?zones=porch,yard&limit=1") == [now]
    assert await ids("?sub_label=alice") == [now]
    status, rows = await get(fake_frigate, "/api/events?camera=driveway")
    assert set(rows[0]) >= DOCUMENTED_KEYS
    assert rows[0]["thumbnail"] is None
    assert rows[0]["data"]["score"] == rows[0]["data"]["top_score"] == 0.71
    _, rows = await get(fake_frigate, "/api/events?include_thumbnails=0")
    assert "thumbnail" not in rows[0]
    status, body = await get(fake_frigate, "/api/events?after=yesterday")
    assert status == 422
    assert body["detail"][0]["loc"] == ["query", "after"]


async def test_one_event_and_a_missing_one(fake_frigate: FakeFrigateServer) -> None:
    event_id = fake_frigate.frigate.add_event("backyard", start_time=5.0)
    status, row = await get(fake_frigate, f"/api/events/{event_id}")
    assert (status, row["start_time"]) == (200, 5.0)
    assert (await get(fake_frigate, "/api/events/nope"))[0] == 404


def test_in_progress_event_updates_and_ends() -> None:
    frigate = FakeFrigate(clock=lambda: 2000.0, skew=-3.0)
    event_id = frigate.add_event("backyard", score=0.75, zones=["yard"])
    assert event_id.startswith("1997.000000-")
    assert len(event_id.split("-")[1]) == 6
    frigate.update_event(event_id, score=0.9, zones=["patio", "yard"])
    frigate.update_event(event_id, score=0.8, sub_label="bob", sub_label_score=0.95)
    row = frigate.event(event_id)
    assert row["end_time"] is None
    assert row["zones"] == ["yard", "patio"]
    assert (row["data"]["score"], row["data"]["top_score"]) == (0.8, 0.9)
    assert (row["sub_label"], row["data"]["sub_label_score"]) == ("bob", 0.95)
    frigate.end_event(event_id)
    assert frigate.event(event_id)["end_time"] == 1997.0


def test_before_0_13_top_score_is_a_column() -> None:
    frigate = FakeFrigate(version="0.12.1-367d724")
    frigate.add_event("front_door", score=0.8, start_time=1.0)
    (row,) = frigate.query()
    assert row["top_score"] == 0.8
    assert "data" not in row
    assert row["thumbnail"]


def test_fixture_folds_like_frigate_database() -> None:
    frigate = FakeFrigate()
    (event_id,) = frigate.load_fixture(FIXTURES / KNOWN, until_ms=23000)
    row = frigate.event(event_id)
    assert row["end_time"] is None
    assert row["sub_label"] is None
    assert row["zones"] == ["walkway", "porch"]
    frigate.load_fixture(FIXTURES / KNOWN)
    row = frigate.event(event_id)
    assert row["sub_label"] == "alice"
    assert round(row["data"]["sub_label_score"], 2) == 0.93
    assert row["end_time"] == pytest.approx(1718112035.452455)
    last = [line for line in fixture_lines(KNOWN) if line["topic"] == "frigate/events"][-1]
    assert row["data"]["top_score"] == last["payload"]["after"]["top_score"]
    snapshot_score = last["payload"]["after"]["snapshot"]["score"]
    assert snapshot_score != last["payload"]["after"]["score"]
    assert row["data"]["score"] == snapshot_score  # Frigate stores the snapshot's score
    assert all(0 <= value <= 1 for value in row["data"]["box"])


def test_fixture_folding_edge_cases() -> None:
    frigate = FakeFrigate()
    assert frigate.load_fixture(FIXTURES / "b_car_false_positive_v017.jsonl")
    assert frigate.query() == []  # no clip, no snapshot: never in the database
    ids = frigate.load_fixture(FIXTURES / "k_driveway_to_backdoor_v017.jsonl", first_start=500.0)
    assert [row["id"] for row in frigate.query()] == ids[::-1]
    assert min(row["start_time"] for row in frigate.query()) == 500.0
    (open_id,) = frigate.load_fixture(FIXTURES / "f_offline_mid_event_v017.jsonl")
    assert [row["id"] for row in frigate.query(in_progress=True)] == [open_id]
    frigate.simulate_restart()
    row = frigate.event(open_id)
    assert row["end_time"] == row["start_time"] + 30


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.jsonl")), ids=lambda path: path.name)
def test_every_fixture_folds(path: Path) -> None:
    frigate = FakeFrigate(version="0.12.1-367d724" if "v012" in path.name else "0.17.2-4a1c2b3")
    ids = frigate.load_fixture(path)
    stored = {row["id"] for row in frigate.query(limit=1000)}
    assert stored <= set(ids)
    events = [line for line in fixture_lines(path.name) if line["topic"] == "frigate/events"]
    ended = {line["payload"]["after"]["id"] for line in events if line["payload"]["type"] == "end"}
    for event_id in stored:
        assert (frigate.event(event_id)["end_time"] is None) == (event_id not in ended)


async def test_errors_then_recovery(fake_frigate: FakeFrigateServer) -> None:
    fake_frigate.frigate.fail("error", status=503, times=2, paths=("/api/events",))
    assert (await get(fake_frigate, "/api/events"))[0] == 503
    assert (await get(fake_frigate, "/api/version"))[0] == 200
    assert (await get(fake_frigate, "/api/events"))[0] == 503
    assert (await get(fake_frigate, "/api/events"))[0] == 200


async def test_hang_until_recovered(fake_frigate: FakeFrigateServer) -> None:
    frigate = fake_frigate.frigate
    frigate.fail("hang")
    with pytest.raises(TimeoutError):
        await get(fake_frigate, "/api/version", timeout=aiohttp.ClientTimeout(total=0.2))
    frigate.fail("hang", times=1)
    pending = asyncio.ensure_future(get(fake_frigate, "/api/version"))
    await until(lambda: frigate.fail_mode is None)  # the request is in and held
    assert not pending.done()
    frigate.recover()
    assert (await pending)[0] == 200


async def test_refused_while_stopped(fake_frigate: FakeFrigateServer) -> None:
    port = fake_frigate.port
    await fake_frigate.stop()
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(fake_frigate, "/api/version")
    await fake_frigate.start()
    assert fake_frigate.port == port
    assert (await get(fake_frigate, "/api/version"))[0] == 200


async def test_request_log(socket_enabled: None) -> None:
    async with FakeFrigateServer(FakeFrigate(clock=lambda: 42.0, skew=100.0, auth=True)) as server:
        await get(server, "/api/events?after=1.5&in_progress=1")
        async with aiohttp.ClientSession() as session:
            await session.post(server.url + "/_control/set", json={"auth": False})
        await get(server, "/api/version")
        log = server.frigate.requests
        assert [(entry.path, entry.status, entry.authorized) for entry in log] == [
            ("/api/events", 401, False),
            ("/api/version", 200, True),
        ]
        assert log[0].query == {"after": "1.5", "in_progress": "1"}
        assert (log[0].method, log[0].at, server.frigate.now()) == ("GET", 42.0, 142.0)


async def test_control_api(fake_frigate: FakeFrigateServer) -> None:
    async def control(action: str, **body: Any) -> Any:
        async with aiohttp.ClientSession() as session:
            url = f"{fake_frigate.url}/_control/{action}"
            async with session.post(url, json=body) as response:
                assert response.status == 200
                return await response.json()

    event_id = (await control("event", camera="backyard", score=0.8, start_time=10.0))["id"]
    await control("event", id=event_id, score=0.95, zones=["patio"])
    await control("end", id=event_id, end_time=20.0)
    fixture = await control("fixture", path=str(FIXTURES / "h_unknown_person_v017.jsonl"))
    _, rows = await get(fake_frigate, "/api/events?sort=date_asc")
    assert [row["id"] for row in rows] == [event_id, *fixture["ids"]]
    assert (rows[0]["data"]["top_score"], rows[0]["zones"], rows[0]["end_time"]) == (
        0.95,
        ["patio"],
        20.0,
    )
    await control("fail", mode="error", status=502)
    assert (await get(fake_frigate, "/api/version"))[0] == 502
    await control("fail", mode="off")
    await control("set", skew=-7.5)
    assert fake_frigate.frigate.skew == -7.5
    log = (await control("requests", clear=True))["requests"]
    assert [entry["status"] for entry in log] == [200, 502]
    assert fake_frigate.frigate.requests == []
    await control("refuse", seconds=0.3)
    await until(lambda: not fake_frigate.listening)
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(fake_frigate, "/api/version")
    await until(lambda: fake_frigate.listening)
    assert (await get(fake_frigate, "/api/version"))[0] == 200


def fetch(url: str, token: str | None = None, data: bytes | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status = response.status
            return status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_threaded_server(fake_frigate_thread: ThreadedFakeFrigate) -> None:
    fake_frigate_thread.frigate.add_event("backyard", start_time=3.0)
    status, body = fetch(fake_frigate_thread.url + "/api/events?in_progress=1")
    assert status == 200
    assert json.loads(body)[0]["camera"] == "backyard"
    fake_frigate_thread.refuse()
    with pytest.raises(urllib.error.URLError):
        fetch(fake_frigate_thread.url + "/api/version")
    fake_frigate_thread.accept()
    assert fetch(fake_frigate_thread.url + "/api/version") == (200, b"0.17.2-4a1c2b3")


def test_process_with_fixture_and_auth(socket_enabled: None) -> None:
    fixture = str(FIXTURES / "l_backdoor_to_driveway_v017.jsonl")
    args = ("--fixture", fixture, "--auth", "--password", "s3cret", "--first-start", "100")
    process, url = start_process(*args, cwd=str(REPO))
    try:
        assert fetch(url + "/api/events")[0] == 401
        body = json.dumps({"user": "admin", "password": "s3cret"}).encode()
        with urllib.request.urlopen(urllib.request.Request(url + "/api/login", data=body)) as reply:
            cookie = reply.headers["Set-Cookie"]
        token = cookie.split(";")[0].split("=", 1)[1]
        status, body = fetch(url + "/api/events?after=99", token)
        rows = json.loads(body)
        assert status == 200
        assert [row["camera"] for row in rows] == ["driveway", "backdoor"]
        assert rows[1]["start_time"] == 100.0
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
