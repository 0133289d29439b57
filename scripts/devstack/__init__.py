"""The development stack: a real Mosquitto, a real `hass`, and clients that drive them.

One implementation, imported by the end-to-end tests (tests/e2e), the browser tests
(tests/ui), the demo (scripts/demo_run.py) and the bench (scripts/bench_*.py), so they
start, onboard and configure Home Assistant the same way a user's browser does.

* `broker`: Mosquitto on a free loopback port (optionally with users, logging
  SUBSCRIBEs so a client can wait until its subscriptions are live);
* `hass`: one `hass` process from the current venv, its configuration.yaml, its log;
* `client`: the REST and websocket APIs and config flows (`forms`: filled as the
  frontend fills them; `onboarding`: onboarding and login; `dashboards`);
* `replay`: scripts/replay driven from Python.
"""

from __future__ import annotations

from .broker import MOSQUITTO, Mosquitto, free_port, running_mosquitto, wait_for_port
from .client import HassApiError, HassClient, WsClient
from .dashboards import save_dashboard
from .forms import with_form_defaults
from .hass import (
    DOMAIN,
    FIXTURES_DIR,
    HOUSE_ALARM_YAML,
    INTEGRATION_DIR,
    NEEDED_DOMAINS,
    REPLAY,
    REPO_ROOT,
    SUBSCRIBED_SUFFIXES,
    UI_YAML,
    HassProcess,
    child_env,
    wait_until_up,
    write_config,
    write_ui_files,
)
from .onboarding import is_onboarded, login, onboard
from .replay import count_subscribed, fixture_topics, run_replay

__all__ = [
    "DOMAIN",
    "FIXTURES_DIR",
    "HOUSE_ALARM_YAML",
    "INTEGRATION_DIR",
    "MOSQUITTO",
    "NEEDED_DOMAINS",
    "REPLAY",
    "REPO_ROOT",
    "SUBSCRIBED_SUFFIXES",
    "UI_YAML",
    "HassApiError",
    "HassClient",
    "HassProcess",
    "Mosquitto",
    "WsClient",
    "child_env",
    "count_subscribed",
    "fixture_topics",
    "free_port",
    "is_onboarded",
    "login",
    "onboard",
    "run_replay",
    "running_mosquitto",
    "save_dashboard",
    "wait_for_port",
    "wait_until_up",
    "with_form_defaults",
    "write_config",
    "write_ui_files",
]
