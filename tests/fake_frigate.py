"""A fake Frigate HTTP API, so REST fallback and catch-up (DESIGN 4.10) are testable.

It answers the documented shapes of `/api/version`, `POST /api/login` and `/api/events`
from an in-memory copy of Frigate's events table, fed by Python calls or by folding a
fixture's `frigate/events` messages the way Frigate's event processor writes them. With
`auth` on it behaves like port 8971 (nginx asks `/auth` first, so every `/api/` path but
login needs the JWT, as cookie `frigate_token` or `Authorization: Bearer`); with it off,
like the internal port 5000. Failures (status, hang, refused connection), a request log
and a skewed clock are there for backoff and clock-mapping tests. `/_control/` lets a test
in another process steer it. The HTTP app, servers, pytest fixtures and the command line
(`python -m tests.fake_frigate`) are in `tests.fake_frigate_fixtures`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COOKIE = "frigate_token"
REFRESH_S = 1800  # Frigate re-issues the cookie this long before it expires
ID_CHARS = string.ascii_lowercase + string.digits
Event = dict[str, Any]


@dataclass(frozen=True)
class LoggedRequest:
    """One API request as the fake saw it (control requests are not logged)."""

    method: str
    path: str
    query: dict[str, str]
    at: float  # the fake's own clock, without skew
    status: int
    authorized: bool


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


JWT_HEADER = _b64(b'{"alg":"HS256","typ":"JWT"}')


def _relative(box: list[int], size: tuple[int, int]) -> list[float]:
    """Frigate's database box: x, y, width, height as fractions of the frame."""
    width, height = size
    return [
        box[0] / width,
        box[1] / height,
        (box[2] - box[0]) / width,
        (box[3] - box[1]) / height,
    ]


class FakeFrigate:
    """Frigate's state as its API shows it; thread-safe, any attribute may be changed."""

    def __init__(
        self,
        *,
        version: str = "0.17.2-4a1c2b3",
        auth: bool = False,
        user: str = "admin",
        password: str = "correct-horse-battery",
        session_length: float = 86400,
        skew: float = 0.0,
        clock: Callable[[], float] | None = None,
        detect_size: tuple[int, int] = (1280, 720),
    ) -> None:
        self.version, self.auth, self.user, self.password = version, auth, user, password
        self.session_length, self.skew, self.detect_size = session_length, skew, detect_size
        # Read at call time, so a test's frozen clock (freezegun) is Frigate's too.
        self._clock = clock or (lambda: time.time())
        self.requests: list[LoggedRequest] = []
        self.fail_mode: str | None = None  # "error" or "hang"
        self.fail_status = 500
        self.fail_times: int | None = None  # None: until `recover()`
        self.fail_paths: tuple[str, ...] = ("/api/",)
        self.released = 0  # bumped by `recover()`: requests hanging before it answer
        self._lock = threading.RLock()
        self._events: dict[str, Event] = {}
        self._folded: dict[str, Event] = {}  # last `after` per id, as Frigate keeps it
        self._tokens: dict[str, int] = {}  # token -> expiry, Frigate's clock
        self._secret = random.randbytes(32)

    # -- clock -----------------------------------------------------------------------

    def now(self) -> float:
        """Frigate's clock: the fake's clock plus `skew` seconds."""
        return self._clock() + self.skew

    # -- events ----------------------------------------------------------------------

    @property
    def legacy(self) -> bool:
        """Frigate < 0.13 has `top_score` as a column and no `data`."""
        major, minor = (int(part) for part in self.version.split("-")[0].split(".")[:2])
        return (major, minor) < (0, 13)

    def add_event(
        self,
        camera: str,
        label: str = "person",
        *,
        score: float = 0.8,
        top_score: float | None = None,
        zones: Iterable[str] = (),
        sub_label: str | None = None,
        sub_label_score: float | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
        event_id: str | None = None,
    ) -> str:
        """Insert an event (in progress unless `end_time`); returns its id."""
        start = self.now() if start_time is None else start_time
        event_id = event_id or f"{start:.6f}-" + "".join(random.choices(ID_CHARS, k=6))
        row: Event = {
            "id": event_id,
            "camera": camera,
            "label": label,
            "zones": list(zones),
            "start_time": start,
            "end_time": end_time,
            "has_clip": True,
            "has_snapshot": True,
            "plus_id": None,
            "retain_indefinitely": False,
            "sub_label": None,
            "top_score": None,
            "false_positive": None,
            "box": None,
            "data": {
                "box": [0.4, 0.3, 0.08, 0.4],
                "region": [0.35, 0.2, 0.25, 0.45],
                "score": score,
                "top_score": score if top_score is None else max(score, top_score),
                "attributes": [],
                "average_estimated_speed": 0,
                "velocity_angle": 0,
                "type": "object",
                "max_severity": "alert",
                "path_data": [],
            },
        }
        with self._lock:
            self._events[event_id] = row
        if sub_label is not None:
            self.update_event(event_id, sub_label=sub_label, sub_label_score=sub_label_score)
        return event_id

    def update_event(
        self,
        event_id: str,
        *,
        score: float | None = None,
        zones: Iterable[str] = (),
        sub_label: str | None = None,
        sub_label_score: float | None = None,
        end_time: float | None = None,
    ) -> None:
        """Change an event: new snapshot score, zones entered, sub label, end."""
        with self._lock:
            row = self._events[event_id]
            data = row["data"]
            if score is not None:
                data["score"] = score
                data["top_score"] = max(data["top_score"], score)
            row["zones"] += [zone for zone in zones if zone not in row["zones"]]
            if sub_label is not None:
                row["sub_label"] = sub_label
                data["sub_label_score"] = sub_label_score
            if end_time is not None:
                row["end_time"] = end_time

    def end_event(self, event_id: str, end_time: float | None = None) -> None:
        """End an event now (Frigate's clock) or at `end_time`."""
        self.update_event(event_id, end_time=self.now() if end_time is None else end_time)

    def ids(self) -> list[str]:
        """Ids of the stored events, oldest insert first."""
        with self._lock:
            return list(self._events)

    def event(self, event_id: str) -> Event:
        """A copy of one stored event, as the API returns it."""
        with self._lock:
            return self._render(self._events[event_id], thumbnails=False)

    def simulate_restart(self) -> None:
        """What Frigate does at startup: events left open end 30 s after they started."""
        with self._lock:
            for row in self._events.values():
                if row["end_time"] is None:
                    row["end_time"] = row["start_time"] + 30

    def fold(self, message: dict[str, Any], shift: float = 0.0) -> str:
        """Apply one `frigate/events` payload as Frigate's event processor would.

        An object reaches the table once it has a clip or snapshot; later messages
        rewrite it only when what Frigate compares changed (top score, zones entered,
        end, path). A sub label is written at once, as recognition does.
        """
        after = message["after"]
        event_id = str(after["id"])
        keys = ("top_score", "entered_zones", "end_time", "path_data")
        with self._lock:
            prev = self._folded.get(event_id)
            self._folded[event_id] = after
            if not (after["has_clip"] or after["has_snapshot"]):
                return event_id
            if prev is None or event_id not in self._events:
                prev = {}  # first time with a clip or snapshot: insert
            if any(prev.get(key, ...) != after.get(key) for key in keys):
                self._store(after, shift)
            if after.get("sub_label") and event_id in self._events:
                sub = after["sub_label"]  # a string up to 0.12, [name, score] since 0.13
                name, name_score = (sub, None) if isinstance(sub, str) else sub
                self._events[event_id]["sub_label"] = name
                self._events[event_id]["data"]["sub_label_score"] = name_score
        return event_id

    def _store(self, after: Event, shift: float) -> None:
        if after["id"] not in self._events:
            start = after["start_time"] + shift
            self.add_event(after["camera"], after["label"], start_time=start, event_id=after["id"])
            self._events[after["id"]].update(has_clip=False, has_snapshot=False)
        row, snap, end = self._events[after["id"]], after.get("snapshot") or {}, after["end_time"]
        row["has_clip"] |= after["has_clip"]  # Frigate never sets these back to false
        row["has_snapshot"] |= after["has_snapshot"]
        row["zones"], row["end_time"] = list(after["entered_zones"]), end and end + shift
        row["data"].update(
            score=snap.get("score", after["score"]),
            top_score=after["top_score"],
            max_severity=after.get("max_severity"),
            path_data=[[point, at + shift] for point, at in after.get("path_data", [])],
        )
        if "box" in snap:
            row["data"]["box"] = _relative(snap["box"], self.detect_size)
            row["data"]["region"] = _relative(snap["region"], self.detect_size)

    def load_fixture(
        self, path: str | Path, *, until_ms: float | None = None, first_start: float | None = None
    ) -> list[str]:
        """Fold a JSONL fixture's `frigate/events` lines up to `until_ms` into the table.

        `first_start` moves every time so that the file's first event starts then
        (fixtures date from 2024); returns the event ids in order of appearance.
        """
        lines = [json.loads(raw) for raw in Path(path).read_text().splitlines() if raw.strip()]
        messages, elapsed = [], 0.0
        for line in lines:
            elapsed += line["delay_ms"]
            if until_ms is not None and elapsed > until_ms:
                break
            if line["topic"].endswith("/events") and isinstance(line["payload"], dict):
                messages.append(line["payload"])
        shift = 0.0
        if first_start is not None and messages:
            shift = first_start - min(m["after"]["start_time"] for m in messages)
        ids: list[str] = []
        for message in messages:
            event_id = self.fold(message, shift)
            if event_id not in ids:
                ids.append(event_id)
        return ids

    def query(
        self,
        *,
        cameras: set[str] | None = None,
        labels: set[str] | None = None,
        zones: set[str] | None = None,
        sub_labels: set[str] | None = None,
        after: float | None = None,
        before: float | None = None,
        in_progress: bool | None = None,
        limit: int = 100,
        oldest_first: bool = False,
        thumbnails: bool = True,
    ) -> list[Event]:
        """`GET /api/events`: Frigate's filters (`after`/`before` on start), newest first."""
        with self._lock:
            rows = [
                row
                for row in self._events.values()
                if (cameras is None or row["camera"] in cameras)
                and (labels is None or row["label"] in labels)
                and (zones is None or zones & set(row["zones"]))
                and (sub_labels is None or row["sub_label"] in sub_labels)
                and (after is None or row["start_time"] > after)
                and (before is None or row["start_time"] < before)
                and (in_progress is None or (row["end_time"] is None) == in_progress)
            ]
            rows.sort(key=lambda row: row["start_time"], reverse=not oldest_first)
            return [self._render(row, thumbnails) for row in rows[:limit]]

    def _render(self, row: Event, thumbnails: bool) -> Event:
        out: Event = json.loads(json.dumps(row))
        if self.legacy:
            out["top_score"] = out["data"]["top_score"]
            for key in ("false_positive", "box", "data"):
                del out[key]
        if thumbnails:
            out["thumbnail"] = "/9j/4AAQSkZJRgABAQAAAQABAAD/2w==" if self.legacy else None
        return out

    # -- auth ------------------------------------------------------------------------

    def login(self, user: str, password: str) -> str | None:
        """A new token when the credentials are right."""
        ok = hmac.compare_digest(user, self.user) & hmac.compare_digest(password, self.password)
        return self._issue() if ok else None

    def _issue(self) -> str:
        now = self.now()
        expiry = int(now + self.session_length)
        claims = {"sub": self.user, "role": "admin", "exp": expiry, "iat": int(now)}
        body = JWT_HEADER + "." + _b64(json.dumps(claims).encode())
        token = body + "." + _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
        with self._lock:
            self._tokens[token] = expiry
        return token

    def check(self, token: str | None) -> tuple[bool, str | None]:
        """(valid, refreshed token or None) for a token found on a request."""
        expiry = self._tokens.get(token or "")
        if expiry is None or expiry <= self.now():
            return False, None
        return True, self._issue() if expiry - REFRESH_S <= self.now() else None

    def expire_tokens(self) -> None:
        """Invalidate every issued token (as a new JWT secret or password change does)."""
        with self._lock:
            self._tokens.clear()

    # -- failures and log ---------------------------------------------------------------

    def fail(
        self,
        mode: str = "error",
        *,
        status: int = 500,
        times: int | None = None,
        paths: tuple[str, ...] = ("/api/",),
    ) -> None:
        """Make the next `times` (default: all) requests under `paths` fail.

        `error` answers `status`; `hang` holds the request until `recover()` or the
        server stops, as an overloaded Frigate would (the client's timeout fires).
        """
        if mode not in ("error", "hang"):
            raise ValueError(mode)
        with self._lock:
            self.fail_mode, self.fail_status, self.fail_times = mode, status, times
            self.fail_paths = paths

    def recover(self) -> None:
        """Answer normally again (hanging requests are then answered too)."""
        with self._lock:
            self.fail_mode = None
            self.released += 1

    def failure_for(self, path: str) -> str | None:
        """The failure mode for this request, counting it against `times`."""
        with self._lock:
            if self.fail_mode is None or not path.startswith(self.fail_paths):
                return None
            mode = self.fail_mode
            if self.fail_times is not None:
                self.fail_times -= 1
                if self.fail_times <= 0:
                    self.fail_mode = None
            return mode

    def log(self, method: str, path: str, query: dict[str, str], status: int, ok: bool) -> None:
        """Record one API request."""
        with self._lock:
            self.requests.append(LoggedRequest(method, path, query, self._clock(), status, ok))


if __name__ == "__main__":
    from tests.fake_frigate_fixtures import main

    raise SystemExit(main())
