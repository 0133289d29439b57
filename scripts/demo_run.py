"""The demo behind scripts/demo: Mosquitto, a real hass with the UI, and replayed Frigate.

Run by scripts/demo with the main venv's Python after the bootstrap. It
1. starts Mosquitto on a loopback port and hass on `.demo/` (the config dir, git-ignored;
   the integration is symlinked into its custom_components),
2. onboards the demo user on the first run, logs in with it on later runs,
3. creates (or, on later runs, re-points) the MQTT entry and the frigate_rules entry
   through the REST config-flow API, then the demo rules (see `create_demo_rules`)
   and the dashboard of docs/dashboard.yaml,
4. replays every fixture in tests/fixtures in a loop with scripts/replay,
and stops everything it started on Ctrl-C (or SIGTERM/SIGHUP).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scripts.devstack import (  # noqa: E402
    FIXTURES_DIR,
    HOUSE_ALARM_YAML,
    REPLAY,
    UI_YAML,
    HassApiError,
    HassClient,
    HassProcess,
    Mosquitto,
    child_env,
    free_port,
    is_onboarded,
    login,
    onboard,
    save_dashboard,
    wait_until_up,
    write_config,
    write_ui_files,
)

DEMO_DIR = REPO / ".demo"
# What a later run needs to know: ports used and whether onboarding is done.
STATE_FILE = DEMO_DIR / "demo_state.json"
USER_NAME = "Demo"
USERNAME = "demo"
PASSWORD = "demo-frigate-rules"  # printed in the banner: a demo login, loopback only
PREFIX = "frigate"
DASHBOARD = REPO / "docs" / "dashboard.yaml"
DASHBOARD_PATH = "frigate-rules"

DEMO_YAML = UI_YAML + HOUSE_ALARM_YAML

# Rules the demo creates, each the user input of the `rule` subentry flow's steps
# (one dict per step); see `create_demo_rules`. Together they show both aggregations
# going on and off with the replay, and an alarm rule that triggers the House panel.
# The first two are the README's rules, which docs/dashboard.yaml shows.
ALARM_ENTITY = "alarm_control_panel.house"
DEMO_RULES: list[list[dict[str, Any]]] = [
    [
        {
            "name": "Backyard person",
            "cameras": ["backyard"],
            "labels": ["person"],
            "zones": ["patio"],
            "min_confidence_pct": 90,
            "aggregation": "max",
            "within_seconds": 10,
            "cooldown_seconds": 60,
        }
    ],
    [
        {
            "name": "Front door person",
            "cameras": ["front_door"],
            "labels": ["person"],
            "min_confidence_pct": 75,
            "aggregation": "percentile",
            "percentile": 50,
            "within_seconds": 15,
            "on_unavailable": "treat_as_match",
            "cooldown_seconds": 60,
        }
    ],
    [
        {
            "name": "Backyard intruder (armed away)",
            "cameras": ["backyard"],
            "labels": ["person"],
            "zones": ["yard", "patio"],
            "min_confidence_pct": 80,
            "aggregation": "max",
            "within_seconds": 10,
            "alarm_entity": ALARM_ENTITY,
            # "triggered" too, so the sensor stays on while the panel it triggered rings.
            "alarm_states": ["armed_away", "triggered"],
            "action": "alarm_trigger",
            "cooldown_seconds": 120,
        }
    ],
    [
        {
            "name": "Driveway car moving",
            "cameras": ["driveway", "side_yard"],
            "labels": ["car"],
            "min_confidence_pct": 80,
            "aggregation": "latest",
            "within_seconds": 10,
        }
    ],
    # Who and how long (README "Who and how long"): alice is family, the replay's
    # other person at the front door is not; someone stays on the porch for 40 s.
    [
        {
            "name": "Stranger at the front door",
            "cameras": ["front_door"],
            "zones": ["porch"],
            "sub_label_mode": "unknown_only",
            "known_sub_labels": ["alice"],
            "recognition_wait_seconds": 3,
            "cooldown_seconds": 60,
        }
    ],
    [
        {
            "name": "Lingering at the front door",
            "cameras": ["front_door"],
            "zones": ["porch"],
            "min_dwell_seconds": 30,
            "within_seconds": 10,
            "cooldown_seconds": 60,
        }
    ],
]
# Sequences the demo creates, like DEMO_RULES (README "Sequences").
DEMO_SEQUENCES: list[list[dict[str, Any]]] = [
    [
        {
            "name": "Driveway then back door",
            "step_1_cameras": ["driveway"],
            "step_1_zones": ["drive"],
            "step_2_cameras": ["backdoor"],
            "step_2_zones": ["steps"],
            "min_confidence_pct": 70,
            "within_seconds": 30,
            "cooldown_seconds": 60,
        }
    ],
]


class Stop(Exception):
    """Raised in the main thread by SIGTERM/SIGHUP so that cleanup runs."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port (so we may bind it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(*preferred: int | None) -> int:
    """The first free preferred port, else any free one."""
    for port in preferred:
        if port and port_is_free(port):
            return port
    return free_port()


async def create_demo_rules(client: HassClient, entry_id: str) -> list[str]:
    """Hook for the demo rules: add each of DEMO_RULES and DEMO_SEQUENCES missing; titles.

    Goes through the subentry flow (`/api/config/config_entries/subentries/flow`) as the
    UI does. Rules already present (a second run) are left alone.
    """
    async with client.websocket() as ws:
        existing = await ws.command("config_entries/subentries/list", entry_id=entry_id)
    titles = {item["title"] for item in existing}
    created: list[str] = []
    wanted = [("rule", steps) for steps in DEMO_RULES]
    wanted += [("sequence", steps) for steps in DEMO_SEQUENCES]
    for kind, steps in wanted:
        name = str(steps[0]["name"])
        if name in titles:
            continue
        await client.create_subentry(entry_id, kind, steps)
        created.append(name)
    return created


async def configure(
    hass: HassProcess, broker: Mosquitto, onboarded: bool, mqtt_moved: bool
) -> dict[str, Any]:
    """Onboard or log in, make sure the entries exist; what the banner shows.

    `onboarded` comes from our own record of an earlier run: once onboarding is complete
    hass drops the onboarding API, so there is nothing to ask.
    """
    await wait_until_up(
        hass, timeout=180, path="/auth/providers" if onboarded else "/api/onboarding"
    )
    async with HassClient(hass.base_url, broker=broker) as client:
        if onboarded or await is_onboarded(client):
            try:
                await login(client, USERNAME, PASSWORD)
            except HassApiError as err:
                raise SystemExit(
                    f"cannot log in as {USERNAME} on the existing .demo ({err}); "
                    "start over with ./scripts/demo --reset"
                ) from err
        else:
            await onboard(client, USER_NAME, USERNAME, PASSWORD)
        await client.wait_until_running(timeout=180)

        mqtt_entries = await client.config_entries("mqtt")
        if not mqtt_entries:
            await client.create_mqtt_entry(broker.host, broker.port)
        elif mqtt_moved:
            # The broker got a different port than last time: re-point the entry.
            result = await client.run_flow(
                "/api/config/config_entries/flow",
                {"handler": "mqtt", "entry_id": mqtt_entries[0]["entry_id"]},
                [{"broker": broker.host, "port": broker.port}],
            )
            if result.get("reason") != "reconfigure_successful":
                raise HassApiError(f"could not re-point the MQTT entry: {result}")

        entries = await client.config_entries("frigate_rules")
        if entries:
            entry_id = str(entries[0]["entry_id"])
        else:
            entry_id = await client.create_frigate_rules_entry(prefix=PREFIX)
        # Replay only once hass listens, or the first pass would be partly lost.
        await client.wait_for_subscriptions([f"{PREFIX}/events", f"{PREFIX}/available"])
        rules = await create_demo_rules(client, entry_id)
        # Armed away, so the intruder rule can trigger the panel (it re-arms itself
        # after its trigger time, and the next replay loop triggers it again).
        panel = await client.get_state(ALARM_ENTITY)
        if panel is not None and panel["state"] == "disarmed":
            await client.rest_post(
                "/api/services/alarm_control_panel/alarm_arm_away", {"entity_id": ALARM_ENTITY}
            )
        await save_dashboard(client, DASHBOARD_PATH, yaml.safe_load(DASHBOARD.read_text()))
        entities = await client.entities_of_entry(entry_id)
    return {"entry_id": entry_id, "new_rules": rules, "entities": entities, "token": client.token}


async def entity_states(hass: HassProcess, token: str, entity_ids: list[str]) -> str:
    """One line per entity: id, state and attributes (for --exit-after-setup)."""
    lines = []
    async with HassClient(hass.base_url, token) as client:
        for entity_id in sorted(entity_ids):
            state = await client.get_state(entity_id)
            if state is None:
                lines.append(f"    {entity_id}: no state (disabled by default)")
                continue
            attrs = {k: v for k, v in state["attributes"].items() if k != "friendly_name"}
            lines.append(f"    {entity_id} = {state['state']}  {json.dumps(attrs)}")
    return "\n".join(lines)


def banner(url: str, broker: Mosquitto, info: dict[str, Any], replay_args: list[str]) -> str:
    """What the user needs to look at the demo."""
    entities = "\n".join(f"    {eid}" for eid in sorted(info["entities"].values()))
    return f"""
  Frigate Rules demo is running.

    Home Assistant  {url}
    login           {USERNAME} / {PASSWORD}
    dashboard       {url}/{DASHBOARD_PATH}   (docs/dashboard.yaml)
    MQTT broker     {broker.host}:{broker.port}  (anonymous)
    watch it        mosquitto_sub -p {broker.port} -t '#' -v
    config dir      {DEMO_DIR}   (hass log: {DEMO_DIR / "home-assistant.log"})
    replaying       {" ".join(replay_args)}

  Entities of the frigate_rules entry:
{entities or "    (none yet)"}

  Press Ctrl-C to stop everything.
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, help="hass HTTP port (default: last one, else 8123)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address hass listens on (0.0.0.0 to expose it)"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="replay speed (default 1)")
    parser.add_argument("--reset", action="store_true", help="delete .demo and start over")
    parser.add_argument(
        "--exit-after-setup",
        action="store_true",
        help="stop once everything is set up and one replay pass is done (for checks)",
    )
    return parser.parse_args()


def stop_process_group(proc: subprocess.Popen[Any] | None, sig: int, timeout: float) -> None:
    """Signal a child's process group, wait, kill if it does not go."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main() -> int:
    args = parse_args()
    # Ctrl-C must work even when started in the background (SIGINT then arrives ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    if args.reset and DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    DEMO_DIR.mkdir(exist_ok=True)
    last: dict[str, int] = json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}
    mqtt_port = pick_port(last.get("mqtt"))
    hass_port = args.port or pick_port(last.get("hass"), 8123)
    if args.port and not port_is_free(args.port):
        print(f"demo: port {args.port} is in use", file=sys.stderr)
        return 1

    broker = Mosquitto(workdir=DEMO_DIR / "mosquitto", port=mqtt_port, log_subscriptions=True)
    hass = HassProcess(config_dir=DEMO_DIR, port=hass_port)
    replay: subprocess.Popen[bytes] | None = None
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{hass_port}"
    try:
        broker.start()
        write_config(DEMO_DIR, hass_port, extra_yaml=DEMO_YAML, host=args.host)
        write_ui_files(DEMO_DIR)
        print(f"demo: starting Home Assistant on {url} (first start takes a while) ...")
        hass.start()
        info = asyncio.run(
            configure(
                hass,
                broker,
                onboarded=bool(last.get("onboarded")),
                mqtt_moved=last.get("mqtt") != mqtt_port,
            )
        )
        STATE_FILE.write_text(json.dumps({"mqtt": mqtt_port, "hass": hass_port, "onboarded": 1}))
        fixtures = sorted(FIXTURES_DIR.glob("*.jsonl"))
        replay_args = [
            *(str(path.relative_to(REPO)) for path in fixtures),
            "--port",
            str(broker.port),
            "--speed",
            str(args.speed),
        ]
        if not args.exit_after_setup:
            replay_args.append("--loop")
        print(banner(url, broker, info, ["scripts/replay", *replay_args]))
        replay = subprocess.Popen(
            [str(REPLAY), *replay_args],
            cwd=REPO,
            env={**child_env(), "REPLAY_PYTHON": sys.executable},
            start_new_session=True,
        )
        # Supervise: the demo ends when something it started dies (or on Ctrl-C).
        while True:
            if replay.poll() is not None:
                if args.exit_after_setup and replay.returncode == 0:
                    states = asyncio.run(
                        entity_states(hass, info["token"], list(info["entities"].values()))
                    )
                    print(f"\n  States after one replay pass:\n{states}\n")
                    return 0
                print(f"demo: replay exited with {replay.returncode}", file=sys.stderr)
                return 1
            if (code := hass.exited()) is not None:
                print(f"demo: hass exited with {code}\n{hass.diagnostics(60)}", file=sys.stderr)
                return 1
            if broker.process is None or broker.process.poll() is not None:
                print(f"demo: mosquitto exited\n{broker.log()[-2000:]}", file=sys.stderr)
                return 1
            time.sleep(1)
    except (KeyboardInterrupt, Stop):
        print("\ndemo: stopping ...")
        return 0
    finally:
        # SIGINT lets replay print its per-topic counts before it goes.
        stop_process_group(replay, signal.SIGINT, timeout=10)
        hass.stop()
        broker.stop()
        print("demo: stopped (Mosquitto, Home Assistant, replay)")


if __name__ == "__main__":
    sys.exit(main())
