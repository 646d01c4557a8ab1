#!/usr/bin/env python3
"""Core throughput, quotecast beside itch-book, on the same generated days in the same run.

For each day: quotecast's in-memory stages (decode; decode + books; the whole core with encoding)
from `quotecast bench-core`, quotecast's streaming replay from the file, and itch-book's parse and
apply (`tables=()`) and BBO (`tables=("bbo",)`), interleaved run by run so drift hits both. Medians
and ratios go to stdout as a Markdown table and to bench/results/ as JSON, with the machine."""

import argparse
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")

DAYS = {
    "5M/500": dict(messages=5_000_000, symbols=500, seed=1),
    "20M/2000": dict(messages=20_000_000, symbols=2000, seed=2),
    # The day of issue 13's shape (20,000 messages a symbol), called deep here.
    "10M/500 deep": dict(messages=10_000_000, symbols=500, seed=13),
    # Few symbols, each very busy (200,000 messages apiece): small working set, long books.
    "10M/50 few": dict(messages=10_000_000, symbols=50, seed=50),
}

ITCH_BOOK_RUN = r"""
import datetime, resource, sys, time, itch_book
path, tables = sys.argv[1], tuple(t for t in sys.argv[2].split(",") if t)
start = time.perf_counter()
feed = itch_book.Feed(path, date=datetime.date(2026, 1, 2))
for _ in feed.batches(tables=tables):
    pass
elapsed = time.perf_counter() - start
print(feed.stats["messages"], elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

PEAK_RSS_RUN = r"""
import resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    memory_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "kernel": platform.release(), "os": "Debian " + open("/etc/debian_version").read().strip()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotecast", default=str(ROOT / ".build" / "release" / "quotecast"))
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs per measurement (median reported)")
    parser.add_argument("--data", default=str(ROOT / "bench" / "data"))
    parser.add_argument("--days", default=",".join(DAYS), help="comma-separated days (messages/symbols) to run")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    data = pathlib.Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    results = {"date": datetime.date.today().isoformat(), "machine": machine(), "runs": args.runs, "days": {}}
    rows = []
    for name in args.days.split(","):
        spec = DAYS[name]
        path = data / f"day-{spec['messages']}-{spec['symbols']}-{spec['seed']}.itch"
        if not path.exists():
            subprocess.run([args.quotecast, "gen", "--messages", str(spec["messages"]), "--symbols",
                            str(spec["symbols"]), "--seed", str(spec["seed"]), "--out", str(path)], check=True)
        samples = {key: [] for key in ("decode", "decode+book", "decode+book+encode", "replay", "replay --output",
                                       "itch-book", "itch-book bbo")}
        rss = {"quotecast replay": [], "quotecast replay --output": [], "itch-book": [], "itch-book bbo": []}
        pcap = data / "core-throughput-output.pcap"
        messages = spec["messages"]
        for run in range(args.runs):
            core = json.loads(subprocess.run([args.quotecast, "bench-core", str(path), "--passes", "1", "--json"],
                                             check=True, capture_output=True, text=True).stdout)
            for stage, value in core["stages"].items():
                samples[stage].append(value["messages_per_second"])
            elapsed, peak = subprocess.run([PYTHON, "-c", PEAK_RSS_RUN, args.quotecast, "replay", str(path), "--quiet"],
                                           check=True, capture_output=True, text=True).stdout.split()
            samples["replay"].append(messages / float(elapsed))
            rss["quotecast replay"].append(int(peak) / 1024)
            elapsed, peak = subprocess.run([PYTHON, "-c", PEAK_RSS_RUN, args.quotecast, "replay", str(path), "--quiet",
                                            "--output", str(pcap)], check=True, capture_output=True, text=True).stdout.split()
            samples["replay --output"].append(messages / float(elapsed))
            rss["quotecast replay --output"].append(int(peak) / 1024)
            pcap.unlink()
            for label, tables in (("itch-book", ""), ("itch-book bbo", "bbo")):
                count, elapsed, peak = subprocess.run([PYTHON, "-c", ITCH_BOOK_RUN, str(path), tables], check=True,
                                                      capture_output=True, text=True).stdout.split()
                assert int(count) == messages, (count, messages)
                samples[label].append(messages / float(elapsed))
                rss[label].append(int(peak) / 1024)
            print(f"{name}: run {run + 1}/{args.runs} done", file=sys.stderr)
        medians = {key: statistics.median(values) for key, values in samples.items()}
        day = {
            "file": path.name, "messages": messages, "symbols": spec["symbols"],
            "messages_per_second": medians,
            "ns_per_message": {key: 1e9 / value for key, value in medians.items()},
            "peak_rss_mib": {key: statistics.median(values) for key, values in rss.items()},
            "ratios": {
                "decode+book / itch-book parse+apply": medians["decode+book"] / medians["itch-book"],
                "whole core / itch-book bbo": medians["decode+book+encode"] / medians["itch-book bbo"],
                "replay from file / itch-book parse+apply": medians["replay"] / medians["itch-book"],
                "replay --output (pcap written) / itch-book bbo": medians["replay --output"] / medians["itch-book bbo"],
            },
            "samples": samples,
        }
        results["days"][name] = day
        rows.append((name, day))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (out / f"core-throughput-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}, {m['os']}; "
          f"medians of {args.runs} interleaved runs.\n")
    print("| day | measurement | msg/s | ns/msg | peak RSS |")
    print("|---|---|---:|---:|---:|")
    for name, day in rows:
        mps, nspm, rss = day["messages_per_second"], day["ns_per_message"], day["peak_rss_mib"]
        for key, label, peak in (
            ("decode", "quotecast decode only (in memory)", ""),
            ("decode+book", "quotecast decode + books (in memory)", ""),
            ("decode+book+encode", "quotecast whole core, FlatBuffers out (in memory)", ""),
            ("replay", "quotecast replay from file, whole core", f"{rss['quotecast replay']:.0f} MiB"),
            ("replay --output", "quotecast replay from file to a pcap",
             f"{rss['quotecast replay --output']:.0f} MiB"),
            ("itch-book", "itch-book parse + apply, `tables=()`", f"{rss['itch-book']:.0f} MiB"),
            ("itch-book bbo", "itch-book with BBO, `tables=(\"bbo\",)`", f"{rss['itch-book bbo']:.0f} MiB"),
        ):
            print(f"| {name} | {label} | {mps[key] / 1e6:.2f}M | {nspm[key]:.1f} | {peak} |")
    print("\n| day | ratio | value |")
    print("|---|---|---:|")
    for name, day in rows:
        for label, value in day["ratios"].items():
            print(f"| {name} | {label} | {value:.2f} |")


if __name__ == "__main__":
    main()
