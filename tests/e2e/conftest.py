"""End-to-end fixtures: one real Mosquitto and one real hass per pytest run.

hass runs as its own process from this venv (so each venv tests its own HA version),
on a free loopback port, with a throw-away config dir holding a symlink to the
integration. It is onboarded and given an MQTT entry exactly as a user's browser would
do it. Tests talk to it over REST and websocket only; they never use PHACC's in-process
`hass` fixture.

Sockets: PHACC's plugin disables sockets before every test (pytest-socket) and allows
connections to 127.0.0.1 only. E2E tests opt in with pytest-socket's `socket_enabled`
fixture (see `pytestmark` in the test modules). Package fixtures are set up before any
function fixture, i.e. before `socket_enabled` ran, so `e2e_stack` re-enables socket
creation itself; the 127.0.0.1-only connect guard stays in force throughout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_socket  # type: ignore[import-untyped]

from scripts.devstack import (
    HOUSE_ALARM_YAML,
    HassClient,
    HassProcess,
    Mosquitto,
    free_port,
    onboard,
    wait_until_up,
    write_config,
)

T = TypeVar("T")

E2E_USER = ("E2E Tester", "e2e", "e2e-frigate-rules")
START_TIMEOUT = 90.0


@dataclass
class E2EStack:
    """The running broker and hass, and how to talk to them."""

    broker: Mosquitto
    hass: HassProcess
    token: str
    mqtt_entry_id: str

    @property
    def base_url(self) -> str:
        """The HTTP address of hass."""
        return self.hass.base_url

    def client(self) -> HassClient:
        """A new authenticated client (use with `async with`)."""
        return HassClient(self.base_url, self.token, broker=self.broker)

    async def restart_hass(self) -> int:
        """Restart hass on the same config dir and port; a broker log mark from before.

        For what needs a restart (DESIGN 2: YAML MQTT triggers made before the MQTT
        entry existed). Pass the mark to `HassClient.wait_for_subscriptions` before
        publishing: messages sent before HA re-subscribed are lost. Blocks the event
        loop while hass stops; hass is started from this (the main) thread, which its
        die-with-parent signal is tied to.
        """
        mark = self.broker.log_size()
        self.hass.stop()
        self.hass.start()
        await wait_until_up(self.hass, START_TIMEOUT, path="/auth/providers")
        async with self.client() as client:
            await client.wait_until_running(START_TIMEOUT)
        return mark

    def diagnostics(self) -> str:
        """The logs of hass and mosquitto, for failure reports."""
        return f"{self.hass.diagnostics()}\n--- mosquitto log ---\n{self.broker.log()[-6000:]}"


_STACK_KEY = pytest.StashKey[E2EStack]()


def run_in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    Keeps the stack setup off the main thread's event loop, which pytest-asyncio and
    PHACC manage per test. The thread has ended when this returns.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(make())
        except BaseException as err:  # re-raised in the caller's thread
            box["error"] = err

    thread = threading.Thread(target=target, name="e2e-bootstrap")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]


async def _bootstrap(hass: HassProcess, broker: Mosquitto) -> tuple[str, str]:
    """Onboard hass and give it an MQTT entry; (token, mqtt entry id)."""
    await wait_until_up(hass, START_TIMEOUT)
    async with HassClient(hass.base_url) as client:
        token = await onboard(client, *E2E_USER)
        await client.wait_until_running(START_TIMEOUT)
        mqtt_entry_id = await client.create_mqtt_entry(broker.host, broker.port)
    return token, mqtt_entry_id


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override tests/conftest.py's autouse fixture: it would pull in PHACC's `hass`.

    The hass under test here is a real process that finds the integration in its
    config dir's custom_components.
    """


@pytest.fixture(scope="package")
def e2e_stack(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[E2EStack]:
    """Mosquitto + onboarded hass with an MQTT entry, shared by every e2e test.

    Package scope: one hass per pytest run, stopped once the e2e tests are done rather
    than idling through the unit tests.
    """
    pytest_socket.enable_socket()  # see the module docstring
    workdir = tmp_path_factory.mktemp("e2e")
    broker = Mosquitto(workdir=workdir / "mosquitto", log_subscriptions=True)
    broker.start()
    hass = HassProcess(config_dir=workdir / "hass", port=free_port())
    write_config(hass.config_dir, hass.port, extra_yaml=HOUSE_ALARM_YAML)
    try:
        hass.start()
        token, mqtt_entry_id = run_in_thread(lambda: _bootstrap(hass, broker))
        stack = E2EStack(broker=broker, hass=hass, token=token, mqtt_entry_id=mqtt_entry_id)
        failures = hass.setup_failures()
        if failures:
            raise RuntimeError(
                "integrations the e2e tests need failed to set up:\n"
                + "\n".join(failures)
                + "\n"
                + stack.diagnostics()
            )
    except BaseException:
        hass.stop()
        broker.stop()
        raise
    request.config.stash[_STACK_KEY] = stack
    try:
        yield stack
    finally:
        hass.stop()
        broker.stop()


@pytest.fixture
async def hass_api(e2e_stack: E2EStack, socket_enabled: None) -> AsyncIterator[HassClient]:
    """An authenticated REST/websocket client of the shared hass, for one test.

    After the test, HA's log must hold no report of a deprecated call by us made
    during it (DESIGN 2: such a line is a defect).
    """
    mark = e2e_stack.hass.log_size()
    async with e2e_stack.client() as client:
        yield client
    reports = e2e_stack.hass.deprecation_reports(since=mark)
    assert reports == [], "HA reported deprecated calls:\n" + "\n".join(reports)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On an e2e failure, attach hass's and mosquitto's logs to the report."""
    report = yield
    stack = item.config.stash.get(_STACK_KEY, None)
    if report.failed and stack is not None and item.get_closest_marker("e2e"):
        report.sections.append(("e2e logs (hass, mosquitto)", stack.diagnostics()))
    return report


def fixture_path(name: str) -> Path:
    """A file under tests/fixtures."""
    return Path(__file__).resolve().parents[1] / "fixtures" / name
