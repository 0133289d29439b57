"""A real Mosquitto on a free loopback port, for tests that need a broker.

Used by the publisher tests and the end-to-end harness alike, so that both talk to
the broker a user would run instead of a mock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 10.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Block until something accepts TCP connections on host:port.

    With `process`, give up as soon as that process has exited.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ConnectionRefusedError(f"process exited with {process.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class Mosquitto:
    """One broker process; `stop` + `start` restart it on the same port."""

    workdir: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    users: dict[str, str] | None = None
    # With users: whether clients without credentials are let in too.
    allow_anonymous: bool = False
    process: subprocess.Popen[bytes] | None = None
    # Log every SUBSCRIBE, so a test can wait until a client's subscriptions are live
    # at the broker before publishing (see `subscriptions`).
    log_subscriptions: bool = False

    def start(self) -> None:
        """Write the config and start the broker; returns once it accepts TCP."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            # Root would drop to the `mosquitto` user, which cannot read our files.
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} {self.host}",
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            *(["log_type subscribe", "log_type unsubscribe"] if self.log_subscriptions else []),
        ]
        if self.users:
            passwd = self.workdir / "passwd"
            passwd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
            subprocess.run(
                ["mosquitto_passwd", "-U", str(passwd)],
                check=True,
                capture_output=True,
            )
            anonymous = "true" if self.allow_anonymous else "false"
            lines += [f"allow_anonymous {anonymous}", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n")
        log = (self.workdir / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(self.host, self.port, process=self.process)
        except OSError as err:
            raise RuntimeError(f"mosquitto did not start:\n{self.log()}") from err

    def stop(self) -> None:
        """Stop the broker and wait until it is gone."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        """What the broker logged so far (handy in assertion messages)."""
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_size(self) -> int:
        """Characters logged so far: a mark for `subscriptions(since=...)`."""
        return len(self.log())

    def subscriptions(self, since: int = 0) -> list[tuple[str, str]]:
        """`(client_id, topic filter)` of each SUBSCRIBE logged after offset `since`.

        Needs `log_subscriptions`; Mosquitto logs `<time>: <client id> <qos> <filter>`
        when it has processed the SUBSCRIBE, so later publishes reach that client.
        """
        found: list[tuple[str, str]] = []
        for line in self.log()[since:].splitlines():
            parts = line.split(" ")
            if len(parts) == 4 and parts[0].endswith(":") and parts[2] in ("0", "1", "2"):
                found.append((parts[1], parts[3]))
        return found


@contextlib.contextmanager
def running_mosquitto(workdir: Path, users: dict[str, str] | None = None) -> Iterator[Mosquitto]:
    """A started broker that is stopped on exit."""
    broker = Mosquitto(workdir=workdir, users=users)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
