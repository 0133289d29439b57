"""End-to-end budget figures (DESIGN 6): latency and CPU in a real hass behind Mosquitto.

One broker and one hass process on loopback, one run. Latency (bench_latency.py): the
same Frigate messages to frigate_rules, to the hand-written template sensor +
automation a user would write instead, and to HA's floor (an automation with a bare
MQTT trigger); publish and arrival are stamped in this process on one clock. CPU
(bench_cpu.py): hass's CPU seconds over one burst of fixture messages with 10 rules,
or with their 10 hand-written twins. Prints figures and ratios against the budgets;
never fails on a budget miss, only when the run itself breaks.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import bench_cpu  # noqa: E402
import bench_latency  # noqa: E402
from bench_mqtt import BenchClient, Echo  # noqa: E402
from bench_stack import BenchStack  # noqa: E402
from bench_stats import load_average  # noqa: E402

ATTRS_NOTE = {
    True: "a state template and 2 attribute templates (camera and event_id,\n"
    "                   what the alert needs); the automation's event carries both",
    False: "a state template only (--lean-handwritten); the automation's event\n"
    "                   carries the rule name only",
}

DESIGN_NOTE = """\
  what is compared (same hass, same run, same messages):
    frigate_rules  one rule per alert condition (aggregation latest, cooldown 0)
                   -> `frigate_rules_alert`
    hand-written   a trigger-based template binary_sensor with an MQTT trigger on
                   frigate/events: the rule's scope and threshold in Jinja, keeping its
                   state for messages out of scope, auto_off = the rule's window, with
                   {attrs}
                   + an automation on the sensor turning on -> `bench_handwritten_alert`
    HA floor       an automation with a bare MQTT trigger on frigate/events -> an event
  `latest` is what a template sensor computes (it sees only the triggering message).
  latency rule: 4 cameras, person >= 80 %. Per timed sample, a Frigate 0.17 `new`
  event (person 93 %) on the next camera; then, untimed, an `update` of that object at
  45 % turns the rule and the sensor off (the floor fires on both); the next sample
  waits until every active path has taken it. Each timed message is exactly one
  off -> on, i.e. one alert, on every active path. Each path has its own websocket.
    together  all three paths active at once: each message runs all three in hass
    isolated  blocks of --block samples with one path active (the others unloaded),
              rotating through every order of the three"""


async def run(args: argparse.Namespace, workdir: Path) -> None:
    """Start the stack, run latency and CPU, report."""
    started = time.monotonic()
    stack = BenchStack(workdir)
    pub: BenchClient | None = None
    echo: Echo | None = None
    try:
        await stack.start()
        import homeassistant.const as ha_const  # the venv's HA version

        print(
            f"e2e bench: Home Assistant {ha_const.__version__}, Python "
            f"{sys.version.split()[0]}, hass pid {stack.pid}, Mosquitto on 127.0.0.1:"
            f"{stack.broker.port}; stack up in {time.monotonic() - started:.0f} s"
        )
        print(f"  load average at start: {load_average()}")
        pub = BenchClient(
            stack.broker.host, stack.broker.port, f"bench-frigate-{time.time_ns()}", False
        )
        echo = Echo(stack.broker.host, stack.broker.port, asyncio.get_running_loop())
        pub.publish("frigate/available", b"online", retain=True)
        if args.publisher != "on":
            await stack.set_publishing(args.publisher == "qos0", qos=0)
        publish = {
            "on": "defaults (its own MQTT publisher on: rule states and alerts, QoS 1)",
            "qos0": "its own MQTT publisher on with QoS 0 (--publisher qos0)",
            "off": "its own MQTT publisher off (--publisher off)",
        }[args.publisher]
        print(DESIGN_NOTE.format(attrs=ATTRS_NOTE[args.handwritten_attrs], publish=publish))

        if args.samples > 0:
            latency = bench_latency.Latency(stack, pub, echo, args)
            await latency.setup()
            try:
                modes = {
                    "together": latency.together,
                    "isolated": latency.isolated,
                }
                results = []
                for mode in args.modes:
                    result = await modes[mode]()
                    results.append(result)
                    bench_latency.report(result, args)
                    print(f"  load average: {load_average()}")
                if args.samples_out:
                    bench_latency.write_samples(results, args.samples_out)
            finally:
                await latency.close()

        if args.cpu_messages > 0:
            cpu = bench_cpu.Cpu(stack, pub, args)
            await cpu.setup()
            phases = await cpu.run()
            bench_cpu.report(phases, args)
            print(f"  load average: {load_average()}")
        print(f"  e2e bench total {time.monotonic() - started:.0f} s")
    except BaseException:
        print(stack.diagnostics(), file=sys.stderr)
        raise
    finally:
        for client in (pub, echo):
            if client is not None:
                client.stop()
        await stack.stop()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--samples", type=int, default=300, help="timed samples per path and mode (0: none)"
    )
    parser.add_argument("--warmup", type=int, default=30, help="untimed samples first")
    parser.add_argument("--timeout", type=float, default=5.0, help="per sample, seconds")
    parser.add_argument(
        "--modes",
        default="together,isolated",
        type=lambda text: [m for m in text.split(",") if m],
        help="latency modes, comma separated: together, isolated",
    )
    parser.add_argument("--block", type=int, default=50, help="samples per isolated block")
    parser.add_argument(
        "--cpu-messages", type=int, default=2500, help="messages per CPU burst (0: no CPU part)"
    )
    parser.add_argument("--cpu-rate", type=float, default=250.0, help="messages/s in a burst")
    parser.add_argument(
        "--cpu-rounds", type=int, default=2, help="bursts of each path (alternating order)"
    )
    parser.add_argument(
        "--lean-handwritten",
        dest="handwritten_attrs",
        action="store_false",
        help="hand-written sensors without the camera/event_id attributes",
    )
    parser.add_argument(
        "--publisher",
        choices=("on", "qos0", "off"),
        default="on",
        help="the frigate_rules entry's own MQTT publisher: on (as shipped: QoS 1), "
        "on with QoS 0, or off",
    )
    parser.add_argument(
        "--samples-out",
        metavar="FILE",
        help="write every timed latency sample (publish stamp, arrivals) as JSON lines",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the work dir (hass logs)")
    args = parser.parse_args(argv)
    unknown = set(args.modes) - {"together", "isolated"}
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")
    return args


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="frigate_rules_bench_"))
    ok = False
    try:
        asyncio.run(run(args, workdir))
        ok = True
    finally:
        if args.keep or not ok:
            print(f"  work dir kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
