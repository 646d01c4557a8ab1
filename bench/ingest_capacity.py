#!/usr/bin/env python3
"""Ingest capacity: the highest sustained rate (messages/s) the live gateway takes with zero loss
over a fixed window, at ~20 ITCH messages per MoldUDP64 packet, over loopback.

The gateway (`quotecast serve`, release build) busy-polls on one core; `quotecast replay --to`
sends at a fixed open-loop rate, pinned to the other core with taskset. After each run the
gateway's own counters (/metrics) must show every message sent decoded and no sequence gap.
Rates are searched upward, then bisected. Every run is bounded in count and time."""

import argparse
import datetime
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
FEED_PORT, HTTP_PORT = 36400, 36403


def metrics():
    text = urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def run_once(quotecast, day, rate, seconds, gateway_cpu, replay_cpu, work):
    config = work / "capacity.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
  receive_buffer_bytes: 33554432
channels:
  group_base: "239.255.66.1:36401"
snapshot:
  group: "239.255.67.1:36402"
threading:
  cpu: {gateway_cpu}
  idle: busy
ingest:
  buffer_count: 8192
operations:
  stats_interval_ms: 0
  http: "127.0.0.1:{HTTP_PORT}"
""")
    gateway = subprocess.Popen([quotecast, "serve", "--config", str(config), "--duration", str(seconds + 30)],
                               stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.7)
        assert gateway.poll() is None, gateway.stderr.read()
        sent = subprocess.run(["taskset", "-c", str(replay_cpu), quotecast, "replay", str(day), "--to",
                               f"127.0.0.1:{FEED_PORT}", "--rate", str(rate), "--loop", "--duration", str(seconds)],
                              capture_output=True, text=True, timeout=seconds + 60)
        assert sent.returncode == 0, sent.stderr
        # "sent       N MoldUDP64 packets, M messages to ..."
        sent_messages = int(sent.stdout.split(" MoldUDP64 packets, ")[1].split(" messages")[0].replace(",", ""))
        time.sleep(0.5)
        values = metrics()
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    received = int(values["quotecast_messages_total"])
    gaps = int(values["quotecast_gaps_total"])
    return {"rate": rate, "received": received, "gaps": gaps, "gap_messages": int(values["quotecast_gap_messages_total"]),
            "enobufs": int(values["quotecast_ingest_enobufs_total"]), "stalls": int(values["quotecast_duty_cycle_stalls_total"]),
            "longest_cycle_us": values["quotecast_longest_duty_cycle_nanoseconds"] / 1000,
            "achieved": sent_messages / seconds, "zero_loss": gaps == 0 and received == sent_messages,
            "sent_messages": sent_messages}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotecast", default=str(ROOT / ".build" / "release" / "quotecast"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--start", type=float, default=500_000)
    parser.add_argument("--max", type=float, default=8_000_000)
    parser.add_argument("--data", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    # Looped with continuing sequence numbers when a run needs more than one pass.
    day = data / "day-5000000-500-1.itch"
    if not day.exists():
        subprocess.run([args.quotecast, "gen", "--messages", "5000000", "--symbols", "500", "--seed", "1",
                        "--out", str(day)], check=True)
    work = data
    runs = []
    good, bad = None, None
    rate = args.start
    while rate <= args.max:  # grow until the first loss
        result = run_once(args.quotecast, day, rate, args.seconds, 0, 1, work)
        runs.append(result)
        print(json.dumps(result), file=sys.stderr)
        if not result["zero_loss"]:
            bad = min(rate, result["achieved"])
            break
        if result["achieved"] < rate * 0.97:
            print(f"the replayer reached only {result['achieved']:,.0f} msg/s: stopping the search", file=sys.stderr)
            break
        good = rate
        rate *= 2
    for _ in range(3):  # then bisect
        if good is None or bad is None:
            break
        rate = (good + bad) / 2
        result = run_once(args.quotecast, day, rate, args.seconds, 0, 1, work)
        runs.append(result)
        print(json.dumps(result), file=sys.stderr)
        if result["zero_loss"]:
            good = rate
        else:
            bad = rate
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    summary = {"date": datetime.date.today().isoformat(), "machine": {"cpu": cpu, "cores": os.cpu_count(),
               "kernel": platform.release()}, "seconds": args.seconds, "messages_per_packet": 20,
               "highest_zero_loss_rate": good, "first_lossy_rate": bad, "runs": runs}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"ingest-capacity-{stamp}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"highest zero-loss rate over {args.seconds:g} s: {good:,.0f} msg/s"
          f" (first loss at {bad:,.0f} msg/s)" if bad else f"no loss up to {good:,.0f} msg/s")
    print("| target rate (msg/s) | sent rate | sent | received | gaps | ENOBUFS | stalls | longest cycle |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['rate']:,.0f} | {r['achieved']:,.0f} | {r['sent_messages']:,} | {r['received']:,} | {r['gaps']} | "
              f"{r['enobufs']} | {r['stalls']} | {r['longest_cycle_us']:.0f} µs |")


if __name__ == "__main__":
    main()
