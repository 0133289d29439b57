"""One real `hass` process on loopback: its configuration, start/stop and its log.

Part of the dev stack that the end-to-end tests, the browser tests, the demo and the
bench share (see scripts/devstack/__init__.py). Nothing here imports pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from .http_settings import http_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
INTEGRATION_DIR = REPO_ROOT / "custom_components" / "frigate_rules"
FIXTURES_DIR = REPO_ROOT / "tests" / "fixtures"
REPLAY = REPO_ROOT / "scripts" / "replay"

DOMAIN = "frigate_rules"
# Frigate topics the integration subscribes to (under its topic prefix); issue 2.
SUBSCRIBED_SUFFIXES = (
    "events",
    "reviews",
    "available",
    "stats",
    "tracked_object_update",
    "+/status/detect",
    "+/detect/state",
)
# Integrations a test or the demo relies on; a failed setup of any of them is fatal.
NEEDED_DOMAINS = frozenset(
    {
        "http",
        "api",
        "auth",
        "config",
        "onboarding",
        "websocket_api",
        "frontend",
        "mqtt",
        "alarm_control_panel",
        "manual",
        DOMAIN,
    }
)

HOUSE_ALARM_YAML = """\
alarm_control_panel:
  - platform: manual
    name: House
    code_arm_required: false
    arming_time: 0
    delay_time: 0
    trigger_time: 60
"""

# What the frontend needs beyond the API, for the browser tests and the demo: a lean
# stand-in for `default_config`, which does not load offline (cloud, stream, dhcp,
# mobile_app ... need packages that are not in the venv). Enough for dashboards,
# history, the logbook and the automation editor (device triggers of rules).
UI_YAML = """\
recorder:
history:
logbook:
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml
person:
sun:
system_health:
my:
"""


def write_ui_files(config_dir: Path) -> None:
    """The files UI_YAML includes (the automation/script/scene editors write them)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    for name, empty in (
        ("automations.yaml", "[]\n"),
        ("scripts.yaml", "{}\n"),
        ("scenes.yaml", "[]\n"),
    ):
        path = config_dir / name
        if not path.exists():
            path.write_text(empty)


# Environment variables pytest-cov sets to follow subprocesses. hass is measured by no
# one: coverage comes from the in-process tests, the same in both venvs.
_COVERAGE_ENV = re.compile(r"^(COV_CORE_|COVERAGE_)")
_SETUP_FAILED = re.compile(
    r"(?:Setup failed for '?(?P<a>[\w.]+)'?|Error during setup of component (?P<b>[\w.]+)"
    r"|Unable to set up dependencies of '?(?P<c>[\w.]+)'?"
    r"|Unable to prepare setup for platform '?(?P<d>[\w.]+)'?)"
)


_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [A-Z]+ ")
_ERROR_RECORD = re.compile(r"^\S+ \S+ (?:ERROR|CRITICAL) ")


def write_config(
    config_dir: Path,
    port: int,
    extra_yaml: str = "",
    debug: bool = True,
    host: str = "127.0.0.1",
) -> None:
    """A configuration.yaml that loads only what the tests and the demo need, offline.

    `frontend` is always set up by hass itself; listing it keeps the intent visible.
    The integration under test is linked, not copied, so edits are picked up on restart.
    Host and port go where this HA reads them from (see `http_settings`).
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    http = http_settings(config_dir, host, port)
    logs = "\n".join(f"    {name}: debug" for name in ("custom_components.frigate_rules",) if debug)
    (config_dir / "configuration.yaml").write_text(
        f"""\
homeassistant:
  name: Frigate Rules
  time_zone: UTC
  unit_system: metric
  currency: EUR
  country: NL
  latitude: 52.37
  longitude: 4.89
  elevation: 0
{http}api:
auth:
config:
frontend:
onboarding:
websocket_api:
logger:
  default: info
  logs:
{logs or "    homeassistant.core: info"}
{extra_yaml}"""
    )
    components = config_dir / "custom_components"
    components.mkdir(exist_ok=True)
    link = components / DOMAIN
    if link.is_symlink() or link.exists():
        if link.resolve() == INTEGRATION_DIR.resolve():
            return
        link.unlink()
    link.symlink_to(INTEGRATION_DIR, target_is_directory=True)


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux prctl).

    A pytest or demo that is killed outright then takes its hass down with it. Must be
    run from the thread that lives as long as the parent (the main thread).
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def child_env() -> dict[str, str]:
    """The environment for child processes, without coverage's subprocess hooks."""
    return {k: v for k, v in os.environ.items() if not _COVERAGE_ENV.match(k)}


@dataclass
class HassProcess:
    """One `hass` process on a loopback port; `start`/`stop` may repeat (restart)."""

    config_dir: Path
    port: int
    python: str = sys.executable
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def base_url(self) -> str:
        """Where its HTTP server listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """HA's own log file in the config dir."""
        return self.config_dir / "home-assistant.log"

    @property
    def console_path(self) -> Path:
        """stdout/stderr of the process (tracebacks before logging is set up)."""
        return self.config_dir / "hass.console.log"

    def start(self) -> None:
        """Start hass; returns at once (see `wait_until_up`)."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("hass is already running")
        console = self.console_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "homeassistant",
                    "--config",
                    str(self.config_dir),
                    # Everything it needs is in the venv already; never pip at runtime.
                    "--skip-pip",
                    "--log-no-color",
                ],
                cwd=self.config_dir,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no locks taken
            )
        finally:
            console.close()
        self.started_at = time.monotonic()

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop hass gracefully (SIGTERM to its process group), kill after `timeout`."""
        proc, self.process = self.process, None
        if proc is None:
            return None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return proc.returncode

    def exited(self) -> int | None:
        """Exit code if the process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def log(self) -> str:
        """HA's log so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def diagnostics(self, lines: int = 200) -> str:
        """The tail of the log and of the console, for failure messages."""
        console = (
            self.console_path.read_text(errors="replace") if self.console_path.exists() else ""
        )
        log_tail = "\n".join(self.log().splitlines()[-lines:])
        return (
            f"--- hass console ({self.console_path}) ---\n{console[-4000:]}\n"
            f"--- last {lines} lines of {self.log_path} ---\n{log_tail}"
        )

    def log_records(self, since: int = 0) -> list[str]:
        """The log split into records: a timestamped line plus its traceback lines."""
        records: list[str] = []
        for line in self.log()[since:].splitlines():
            if _RECORD_START.match(line) or not records:
                records.append(line)
            else:
                records[-1] += "\n" + line
        return records

    def errors_mentioning(self, needle: str = DOMAIN, since: int = 0) -> list[str]:
        """ERROR/CRITICAL records (tracebacks included) that mention `needle`.

        Catches what escapes the integration's callbacks: HA logs those at ERROR with
        a traceback through custom_components/frigate_rules.
        """
        return [
            record
            for record in self.log_records(since)
            if _ERROR_RECORD.match(record) and needle in record
        ]

    def deprecation_reports(self, since: int = 0, domain: str = DOMAIN) -> list[str]:
        """HA's reports of deprecated or soon-broken calls made by `domain`.

        HA logs "Detected that custom integration '<domain>' calls/accesses ..." for
        every use of an API it is about to remove; each one is a defect of ours.
        `since` is a mark from `log_size()`.
        """
        needle = f"Detected that custom integration '{domain}'"
        return [record for record in self.log_records(since) if needle in record]

    def log_size(self) -> int:
        """Characters logged so far: a mark for `log_records` and friends."""
        return len(self.log())

    def setup_failures(self, domains: Iterable[str] = NEEDED_DOMAINS) -> list[str]:
        """Log lines saying that one of `domains` failed to set up."""
        wanted = set(domains)
        found: list[str] = []
        for line in self.log().splitlines():
            match = _SETUP_FAILED.search(line)
            if match is None:
                continue
            domain = next(g for g in match.groups() if g)
            if domain in wanted or domain.split(".")[0] in wanted:
                found.append(line)
        return found


async def wait_until_up(
    hass: HassProcess,
    timeout: float = 60.0,  # noqa: ASYNC109
    path: str = "/api/onboarding",
) -> None:
    """Until `path` answers 200 (hass may still be starting other integrations).

    The default suits a fresh instance: the onboarding views exist until onboarding
    is complete. An onboarded instance answers `/auth/providers` instead.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with aiohttp.ClientSession() as session:
        while True:
            if (code := hass.exited()) is not None:
                raise RuntimeError(f"hass exited with {code}\n{hass.diagnostics()}")
            try:
                async with session.get(hass.base_url + path) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (aiohttp.ClientError, OSError) as err:
                last = repr(err)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"hass: GET {path} not 200 after {timeout} s ({last})\n{hass.diagnostics()}"
                )
            await asyncio.sleep(0.1)
