#!/usr/bin/env python3
"""The WebSocket edge under load: does it cost the multicast path anything, and what does it deliver?

For each round, twice (without clients, then with them, alternated so the machine's drift hits
both): a fresh `quotecast serve` (release build, single mode, `websocket.listen` on) is measured by
`quotecast bench --external` at a fixed open-loop rate (100k msg/s by default): wire-to-wire p50 and
p99 of the multicast path, from the intended send time. With clients, a second process holds N
WebSocket connections (200 by default, at nice 19, standing in for clients on other hosts): one subscribes to everything and never reads (its receive
buffer is 4 KB), one scout subscribes to everything and learns the symbols, and the rest subscribe
to two symbols each once the scout knows them, reading and counting frames and updates. The edge's
own counters (/metrics) give resyncs and stalled closes. Everything is bounded in count and time,
on loopback only."""

import argparse
import asyncio
import json
import os
import pathlib
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "schemas" / "generated" / "python"))
FEED_PORT, GROUP_PORT, SNAPSHOT_PORT, HTTP_PORT, WS_PORT = 36900, 36901, 36902, 36903, 36905
GROUP_BASE = "239.255.99.1"


def config_text(channels, edge_sched_idle=False):
    return f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
channels:
  count: {channels}
  group_base: "{GROUP_BASE}:{GROUP_PORT}"
snapshot:
  group: "239.255.100.1:{SNAPSHOT_PORT}"
operations:
  http: "127.0.0.1:{HTTP_PORT}"
  stats_interval_ms: 0
websocket:
  listen: "127.0.0.1:{WS_PORT}"
  max_connections: 1024
  stall_timeout_ms: 3000
  sched_idle: {"true" if edge_sched_idle else "false"}
"""


def metrics():
    return benchlib.metrics(HTTP_PORT)


async def hold_clients(count, seconds, report_path):
    """Holds `count` connections for `seconds`, then writes what they received as JSON."""
    import websockets
    from quotecast.feed.Packet import Packet

    url = f"ws://127.0.0.1:{WS_PORT}/feed"
    totals = {"frames": 0, "updates": 0, "connected": 0, "errors": 0}
    symbols = []
    known = asyncio.Event()

    async def stuck():
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", WS_PORT))
        ws = await websockets.connect(url, sock=raw, max_size=1 << 22)
        await ws.recv()
        await ws.send(json.dumps({"subscribe": "all"}))
        ws.transport.pause_reading()
        totals["connected"] += 1
        await asyncio.sleep(seconds)
        ws.transport.abort()

    async def reader(subscription):
        try:
            async with websockets.connect(url, max_size=1 << 22) as ws:
                await ws.recv()
                if subscription is None:
                    await known.wait()
                    subscription = symbols[reader.next % len(symbols): reader.next % len(symbols) + 2]
                    reader.next += 2
                await ws.send(json.dumps({"subscribe": subscription}))
                totals["connected"] += 1
                scout = subscription == "all"
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    try:
                        message = await asyncio.wait_for(ws.recv(), timeout=max(0.01, end - time.monotonic()))
                    except asyncio.TimeoutError:
                        break
                    packet = Packet.GetRootAs(message, 0)
                    totals["frames"] += 1
                    totals["updates"] += packet.UpdatesLength()
                    if scout and not known.is_set():
                        for i in range(packet.UpdatesLength()):
                            definition = packet.Updates(i).Definition()
                            if definition is not None:
                                symbols.append(definition.Symbol().decode())
                        if len(symbols) >= 100:
                            known.set()
        except Exception:  # noqa: BLE001 - counted: a refused or dropped connection is a result
            totals["errors"] += 1

    reader.next = 0
    tasks = [asyncio.create_task(stuck()), asyncio.create_task(reader("all"))]
    tasks += [asyncio.create_task(reader(None)) for _ in range(count - 2)]
    await asyncio.sleep(seconds * 0.6)
    known.set()  # whatever the scout found by then
    await asyncio.gather(*tasks)
    totals["seconds"] = seconds
    pathlib.Path(report_path).write_text(json.dumps(totals))


def run_round(quotecast, channels, rate, seconds, clients, tmp, edge_sched_idle=False, clients_sched_idle=False):
    config = tmp / "gateway.yaml"
    config.write_text(config_text(channels, edge_sched_idle))
    gateway = subprocess.Popen([quotecast, "serve", "--config", str(config)], stderr=open(tmp / "gw.log", "a"))
    holder = None
    try:
        time.sleep(1.0)
        if gateway.poll() is not None:
            raise SystemExit("the gateway did not start: " + (tmp / "gw.log").read_text()[-2000:])
        report = tmp / "clients.json"
        if clients:
            hold_s = seconds + 4
            holder = subprocess.Popen(
                [sys.executable, __file__, "--hold-clients", str(clients), "--hold-seconds", str(hold_s),
                 "--hold-report", str(report)] + (["--clients-sched-idle"] if clients_sched_idle else []))
            time.sleep(2.0)  # connected and subscribed before the measured run starts
        groups = ",".join(f"239.255.99.{n + 1}:{GROUP_PORT}" for n in range(channels))
        out = tmp / "bench"
        result = subprocess.run(
            [quotecast, "bench", "--external", f"127.0.0.1:{FEED_PORT}", "--external-groups", groups,
             "--rate", str(rate), "--seconds", str(seconds), "--warmup", "1", "--rounds", "1",
             "--channels", str(channels), "--out", str(out)],
            capture_output=True, text=True, timeout=seconds * 10 + 60)
        if result.returncode != 0:
            raise SystemExit("bench failed: " + result.stderr[-2000:])
        latest = sorted(out.glob("latency-*.json"))[-1]
        measured = next(r for r in json.loads(latest.read_text())["results"] if r["target"] == "external")
        edge = metrics()
        delivered = None
        if holder:
            holder.wait(timeout=seconds + 60)
            delivered = json.loads(report.read_text())
        return {"p50_us": measured["p50_us"], "p99_us": measured["p99_us"], "lost": measured.get("lost", 0),
                "clients": clients, "delivered": delivered,
                "resyncs": edge.get("quotecast_websocket_resyncs_total", 0),
                "stalled_closes": edge.get("quotecast_websocket_stalled_closes_total", 0),
                "tap_refused": edge.get("quotecast_websocket_tap_refused_total", 0),
                "frames_sent": edge.get("quotecast_websocket_frames_sent_total", 0)}
    finally:
        if holder and holder.poll() is None:
            holder.kill()
        gateway.send_signal(signal.SIGTERM)
        try:
            gateway.wait(timeout=15)
        except subprocess.TimeoutExpired:
            gateway.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quotecast", default=str(ROOT / ".build" / "release" / "quotecast"))
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    parser.add_argument("--hold-clients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hold-seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--hold-report", help=argparse.SUPPRESS)
    parser.add_argument("--clients-sched-idle", action="store_true", help="clients under SCHED_IDLE, not nice 19")
    parser.add_argument("--edge-sched-idle", action="store_true", help="websocket.sched_idle: true (the edge threads)")
    args = parser.parse_args()
    if args.hold_clients:
        # Standing in for clients on other hosts: on these shared cores they yield to the gateway (nice 19), or
        # with --clients-sched-idle run only on time nothing else wants.
        if args.clients_sched_idle:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.nice(19)
        asyncio.run(hold_clients(args.hold_clients, args.hold_seconds, args.hold_report))
        return
    if not (1 <= args.rounds <= 10 and 0 < args.seconds <= 60 and 2 <= args.clients <= 1000):
        raise SystemExit("rounds 1...10, seconds up to 60, clients 2...1000: every run is bounded")
    runs = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as folder:
        tmp = pathlib.Path(folder)
        for round_index in range(args.rounds):
            for key, clients in (("without", 0), ("with", args.clients)):
                run = run_round(args.quotecast, args.channels, args.rate, args.seconds, clients, tmp,
                                args.edge_sched_idle, args.clients_sched_idle)
                runs[key].append(run)
                print(f"round {round_index + 1} {key:7} clients: p50 {run['p50_us']:.2f} µs, p99 {run['p99_us']:.2f} µs"
                      + (f", {run['delivered']['updates'] / run['delivered']['seconds']:,.0f} updates/s to "
                         f"{run['delivered']['connected']} connections, {run['resyncs']:.0f} resyncs, "
                         f"{run['stalled_closes']:.0f} stalled closes" if run["delivered"] else ""), flush=True)
    median = {key: {name: statistics.median(r[name] for r in value) for name in ("p50_us", "p99_us")}
              for key, value in runs.items()}
    summary = {
        "machine": benchlib.machine(),
        "rate": args.rate, "seconds": args.seconds, "clients": args.clients, "channels": args.channels,
        "edge": "SCHED_IDLE" if args.edge_sched_idle else "nice 10",
        "clients_policy": "SCHED_IDLE" if args.clients_sched_idle else "nice 19",
        "rounds": args.rounds, "runs": runs, "median": median,
        "p99_ratio": median["with"]["p99_us"] / median["without"]["p99_us"],
        "p50_ratio": median["with"]["p50_us"] / median["without"]["p50_us"],
    }
    path = benchlib.write_result(args.out, "websocket-fanout", summary)
    print(f"median p99 without {median['without']['p99_us']:.2f} µs, with {median['with']['p99_us']:.2f} µs: "
          f"ratio {summary['p99_ratio']:.3f} (p50 ratio {summary['p50_ratio']:.3f}); {path}")


if __name__ == "__main__":
    main()
