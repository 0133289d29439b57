"""Browser tests: Debian's chromium driven by Playwright against a real hass + Mosquitto.

One stack per package, started like the end-to-end tests' (tests/e2e/conftest.py):
Mosquitto, and hass with what a user's frontend needs (`UI_YAML`: recorder, history,
logbook, the automation editor) plus the House alarm panel, onboarded so the UI opens
past the wizard, with HA's MQTT entry. Each test gets a fresh browser, logged in
through the login page as a person would. The browser is `/usr/bin/chromium` (Debian's
package, installed by the scripts); Playwright never downloads one.

HA's frontend lives in shadow DOM. Tests find things by role, label and text, which
Playwright looks up through open shadow roots; a dialog's content is slotted into
it, so it is looked up from the page, not from the dialog element.

Screenshots of every step go to `.ui-screenshots/` (git-ignored), named after the
test; the ones the README shows are copied to docs/images/ by hand.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_socket  # type: ignore[import-untyped]
from playwright.async_api import Page, async_playwright, expect

from scripts.devstack import (
    HOUSE_ALARM_YAML,
    REPO_ROOT,
    UI_YAML,
    HassClient,
    HassProcess,
    Mosquitto,
    free_port,
    write_config,
    write_ui_files,
)
from tests.e2e.conftest import E2EStack, _bootstrap, run_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / ".ui-screenshots"
# The e2e bootstrap onboards this user (tests/e2e/conftest.py E2E_USER).
USERNAME, PASSWORD = "e2e", "e2e-frigate-rules"
# lit-virtualizer (the frontend's long lists) rejects a layout promise with this when
# a list leaves the page before it was laid out; nothing awaits it, so it surfaces as
# an uncaught error on the integrations dashboard now and then. Harmless, not ours.
VIRTUALIZER_QUIRK = "disconnected"
# Generous: two cores, and the first visit of a panel loads its code.
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override tests/conftest.py's autouse fixture: it would pull in PHACC's `hass`."""


@pytest.fixture(scope="package")
def ui_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EStack]:
    """Mosquitto + onboarded hass with an MQTT entry and the frontend's integrations."""
    pytest_socket.enable_socket()  # as in tests/e2e/conftest.py: package fixtures run first
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run ./scripts/test (it apt-installs it)")
    workdir = tmp_path_factory.mktemp("ui")
    broker = Mosquitto(workdir=workdir / "mosquitto", log_subscriptions=True)
    broker.start()
    hass = HassProcess(config_dir=workdir / "hass", port=free_port())
    write_config(hass.config_dir, hass.port, extra_yaml=UI_YAML + HOUSE_ALARM_YAML)
    write_ui_files(hass.config_dir)
    try:
        hass.start()
        token, mqtt_entry_id = run_in_thread(lambda: _bootstrap(hass, broker))
        stack = E2EStack(broker=broker, hass=hass, token=token, mqtt_entry_id=mqtt_entry_id)
        failures = hass.setup_failures(
            {"recorder", "history", "logbook", "automation", "lovelace", "mqtt", "frigate_rules"}
        )
        if failures:
            raise RuntimeError("integrations the UI needs failed:\n" + "\n".join(failures))
    except BaseException:
        hass.stop()
        broker.stop()
        raise
    try:
        yield stack
    finally:
        hass.stop()
        broker.stop()


@pytest.fixture
async def hass_api(ui_stack: E2EStack, socket_enabled: None) -> AsyncIterator[HassClient]:
    """An authenticated REST/websocket client of the shared hass, for one test."""
    mark = ui_stack.hass.log_size()
    async with ui_stack.client() as client:
        yield client
    reports = ui_stack.hass.deprecation_reports(since=mark)
    assert reports == [], "HA reported deprecated calls:\n" + "\n".join(reports)
    errors = ui_stack.hass.errors_mentioning("frigate_rules", since=mark)
    assert errors == [], "HA logged errors of ours:\n" + "\n".join(errors)


@dataclass
class Shots:
    """Numbered screenshots of one test under .ui-screenshots/."""

    prefix: str
    taken: list[Path] = field(default_factory=list)

    async def __call__(self, page: Page, step: str) -> Path:
        """Save what the page shows now as `<test>-<n>-<step>.png`."""
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{self.prefix}-{len(self.taken) + 1}-{step}.png"
        await page.screenshot(path=str(path), animations="disabled")  # transitions finished
        self.taken.append(path)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    """Numbered, named screenshots of this test (call it with the page and a step name)."""
    name = re.sub(r"^test_", "", request.node.name)
    return Shots(prefix=re.sub(r"[^a-z0-9_]+", "-", name.lower()))


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember a failed test body, so `page` can photograph what the browser showed."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


@pytest.fixture
async def page(
    ui_stack: E2EStack, socket_enabled: None, shot: Shots, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A chromium page, logged in through HA's login page; closed after the test.

    Fails the test on any uncaught error in the page's scripts (but VIRTUALIZER_QUIRK);
    a failed test leaves a screenshot of the page named `...-failed.png`.
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            # Reduced motion: what a screenshot shows has finished moving.
            context = await browser.new_context(
                viewport={"width": 1280, "height": 900}, locale="en-US", reduced_motion="reduce"
            )
            context.set_default_timeout(TIMEOUT_MS)
            new_page = await context.new_page()
            page_errors: list[str] = []
            new_page.on(
                "pageerror",
                lambda error: page_errors.append(f"{error} at {new_page.url}")
                if error.message != VIRTUALIZER_QUIRK
                else None,
            )
            await log_in(new_page, ui_stack.base_url)
            yield new_page
            if request.node.stash.get(_FAILED, False):
                await shot(new_page, "failed")
            assert page_errors == [], f"errors in the page: {page_errors}"
        finally:
            await browser.close()


async def log_in(page: Page, base_url: str) -> None:
    """Log in on HA's login page and wait until the sidebar shows Settings."""
    await page.goto(base_url + "/")
    await page.get_by_role("textbox", name="Username").fill(USERNAME)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("link", name="Settings")).to_be_visible()
