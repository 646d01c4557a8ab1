#!/usr/bin/env python3
"""Fault-injection soak: a generated day replayed over two lines (A/B) into `quotecast serve`,
with drops on either line and on both, duplicates, reordering, truncation, unknown order
references and packets from a foreign source, and a MoldUDP64 re-request server for what both
lines lost. Bounded: it stops by itself after the given time.

Checks, at the end:
- the gateway never crashed and exits 0 on SIGTERM;
- its RSS stayed flat after warm-up;
- its books equal those of the clean day (`quotecast replay --books-json`);
- every fault counter equals what was injected (exactly, see `check_counters`).

    scripts/soak.py --seconds 60          # the CI run
    scripts/soak.py --minutes 10          # the long run
"""

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAULTS = ("drop_a=0.01,drop_b=0.01,drop_both=0.002,duplicate=0.01,reorder=0.01,truncate=0.005,"
          "unknown_reference=0.002,foreign=0.005")
PORTS = {"a": 35600, "b": 35601, "rerequest": 35602, "channels": 35610, "snapshots": 35611}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def check_counters(counters, faults):
    """Each counter against what was injected; returns a list of problems."""
    expected = {
        # Every copy sent reaches the gateway over loopback: both lines, the foreign source and
        # the retransmissions.
        "quotecast_datagrams_in_total": faults["sent_a"] + faults["sent_b"] + faults["foreign"]
        + faults["datagrams_retransmitted"],
        "quotecast_source_rejected_datagrams_total": faults["foreign"],
        "quotecast_book_anomalies_total": faults["unknown_references"],
        # Both-line losses are never back to back, so each is one re-request.
        "quotecast_rerequests_total": faults["dropped_both"],
        "quotecast_gaps_abandoned_total": 0,
        "quotecast_lost_messages_total": 0,
        "quotecast_feed_stale": 0,
        "quotecast_gaps_total": 0,
        "quotecast_messages_total": faults["messages"],
        # A cut copy is delivered (a framing fault), or replaced by the whole one while held, or
        # arrives after the whole one (a damaged duplicate).
        "quotecast_truncated_blocks_total+quotecast_count_mismatches_total+quotecast_truncated_copies_replaced_total"
        "+quotecast_damaged_duplicates_total": faults["truncated"],
    }
    problems = []
    for key, want in expected.items():
        got = sum(counters[name] for name in key.split("+"))
        if got != want:
            problems.append(f"{key}: {got}, injected {want}")
    if counters["quotecast_duplicate_packets_total"] < faults["duplicated"]:
        problems.append("fewer duplicate packets counted than injected")
    return problems


def soak(binary, seconds, workdir, rate=20000, log=print):
    workdir = pathlib.Path(workdir)
    messages = int(rate * seconds)
    day = workdir / "soak-day.itch"
    subprocess.run([binary, "gen", "--messages", str(messages), "--symbols", "200", "--seed", "17", "--out", str(day)],
                   check=True, capture_output=True)
    config = workdir / "soak.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:{PORTS['a']}", "127.0.0.1:{PORTS['b']}"]
  sources: ["127.0.0.1"]
  gap_hold_us: 50000             # generous: a stalled VM must not turn a one-line loss into a re-request
  rerequest: "127.0.0.1:{PORTS['rerequest']}"
  rerequest_timeout_ms: 1000     # no retry on a slow machine: one re-request per loss, exactly
channels:
  count: 4
  group_base: "239.255.81.1:{PORTS['channels']}"
snapshot:
  group: "239.255.82.1:{PORTS['snapshots']}"
operations:
  http: off
  stats_interval_ms: 10000
""")
    books, counters_path, fault_report = workdir / "gw-books.json", workdir / "gw-counters.json", workdir / "faults.json"
    err = open(workdir / "gateway.err", "w")
    gateway = subprocess.Popen([binary, "serve", "--config", str(config), "--books-json", str(books),
                                "--counters-json", str(counters_path)], stderr=err)
    samples = []
    try:
        time.sleep(0.5)
        replay = subprocess.Popen([binary, "replay", str(day), "--to", f"127.0.0.1:{PORTS['a']}", "--line-b",
                                   f"127.0.0.1:{PORTS['b']}", "--rate", str(rate), "--faults", FAULTS,
                                   "--fault-seed", "23", "--rerequest-port", str(PORTS["rerequest"]),
                                   "--fault-report", str(fault_report), "--rerequest-linger", "1", "--quiet"])
        deadline = time.monotonic() + seconds * 3 + 60
        while replay.poll() is None:
            assert gateway.poll() is None, "the gateway died"
            samples.append(rss_kib(gateway.pid))
            assert time.monotonic() < deadline, "the replay overran its time"
            time.sleep(1)
        assert replay.returncode == 0, "replay failed"
        time.sleep(0.5)
        gateway.send_signal(signal.SIGTERM)
        code = gateway.wait(timeout=30)
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
        err.close()
    clean = workdir / "clean-books.json"
    subprocess.run([binary, "replay", str(day), "--channels", "4", "--books-json", str(clean), "--quiet"],
                   check=True, capture_output=True)
    faults = json.loads(fault_report.read_text())
    counters = json.loads(counters_path.read_text())
    ours = {book["symbol"]: book for book in json.loads(books.read_text())["books"]}
    theirs = {book["symbol"]: book for book in json.loads(clean.read_text())["books"]}
    # RSS after warm-up (the first fifth of the run): the growth over the rest, in MiB.
    steady = samples[len(samples) // 5:] or samples
    growth_mib = (max(steady) - steady[0]) / 1024 if steady else 0
    result = {
        "seconds": seconds, "rate": rate, "messages": faults["messages"], "exit_code": code,
        "books_equal": ours == theirs, "instruments": len(theirs),
        "rss_mib_first": round(steady[0] / 1024, 1) if steady else None,
        "rss_mib_max": round(max(steady) / 1024, 1) if steady else None,
        "rss_growth_mib": round(growth_mib, 1), "faults": faults,
        "counter_problems": check_counters(counters, faults),
        "counters": {k: v for k, v in counters.items() if v and "stage" not in k},
    }
    log(json.dumps(result, indent=1))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--minutes", type=float)
    parser.add_argument("--rate", type=int, default=20000, help="messages per second")
    parser.add_argument("--binary", default=os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast")))
    args = parser.parse_args()
    seconds = args.minutes * 60 if args.minutes else args.seconds
    with tempfile.TemporaryDirectory() as workdir:
        result = soak(args.binary, seconds, workdir, rate=args.rate)
    ok = (result["exit_code"] == 0 and result["books_equal"] and not result["counter_problems"]
          and result["rss_growth_mib"] < 32)
    print("soak: " + ("ok" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
