"""The gateway on a bad day, end to end over loopback: two lines with injected faults, a
re-request server, an unrecoverable loss published as stale, and the bounded soak."""

import importlib.util
import json
import os
import pathlib
import signal
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))

spec = importlib.util.spec_from_file_location("soak", ROOT / "scripts" / "soak.py")
soak = importlib.util.module_from_spec(spec)
spec.loader.exec_module(soak)


def test_two_faulty_lines_and_retransmission_give_the_clean_books(tmp_path):
    """A short run of the soak: every injected fault counted exactly, the books exact."""
    result = soak.soak(QUOTECAST, 3, tmp_path, rate=20000, log=lambda _: None)
    assert result["exit_code"] == 0
    assert result["books_equal"], "books differ from the clean day"
    assert result["counter_problems"] == []
    faults = result["faults"]
    assert faults["dropped_both"] > 0 and faults["truncated"] > 0 and faults["foreign"] > 0, faults


def test_an_unrecoverable_loss_is_published_as_stale(tmp_path):
    """Both lines lose packets and there is no re-request server: the gateway gives the gaps up,
    counts exactly the messages lost, and tells subscribers the feed is stale."""
    day = tmp_path / "day.itch"
    subprocess.run([QUOTECAST, "gen", "--messages", "20000", "--symbols", "10", "--seed", "3", "--out", str(day)],
                   check=True, capture_output=True)
    config = tmp_path / "gw.yaml"
    config.write_text("""
feed:
  inputs: ["127.0.0.1:35700", "127.0.0.1:35701"]
  gap_hold_us: 2000
channels:
  count: 2
  group_base: "239.255.83.1:35710"
snapshot:
  group: "239.255.84.1:35711"
  cycle_ms: 200
operations:
  http: off
  stats_interval_ms: 0
""")
    counters = tmp_path / "counters.json"
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config), "--counters-json", str(counters)],
                               stderr=open(tmp_path / "gw.err", "w"))
    out = tmp_path / "subscriber.out"
    try:
        time.sleep(0.4)
        with open(out, "w") as stdout:
            subscriber = subprocess.Popen(
                [QUOTECAST, "subscribe", "--format", "json", "--channels", "2", "--group-base", "239.255.83.1:35710",
                 "--snapshot-group", "239.255.84.1:35711", "--duration", "4"], stdout=stdout)
            time.sleep(0.3)
            report = tmp_path / "faults.json"
            subprocess.run([QUOTECAST, "replay", str(day), "--to", "127.0.0.1:35700", "--line-b", "127.0.0.1:35701",
                            "--rate", "20000", "--faults", "drop_both=0.01", "--fault-seed", "5", "--fault-report",
                            str(report), "--quiet"], check=True)
            assert subscriber.wait(timeout=30) == 0
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=30) == 0
    finally:
        for process in (gateway,):
            if process.poll() is None:
                process.kill()
    faults = json.loads(report.read_text())
    got = json.loads(counters.read_text())
    assert faults["dropped_both"] > 0
    assert got["quotecast_feed_stale"] == 1
    assert got["quotecast_gaps_abandoned_total"] == faults["dropped_both"]
    assert got["quotecast_lost_messages_total"] == faults["messages_dropped_both"]
    assert got["quotecast_gap_messages_total"] == faults["messages_dropped_both"]
    statuses = [json.loads(line) for line in out.read_text().splitlines() if '"feed_status"' in line]
    assert statuses and all(status["stale"] for status in statuses), "the subscriber was told"
    assert statuses[-1]["lost_messages"] == faults["messages_dropped_both"]
    assert "FEED STALE" in (tmp_path / "gw.err").read_text()


def test_soak(tmp_path):
    """The bounded soak (SOAK_SECONDS, 60 by default; `scripts/soak.py --minutes 10` for the long run)."""
    result = soak.soak(QUOTECAST, SOAK_SECONDS, tmp_path, rate=20000, log=print)
    assert result["exit_code"] == 0, "the gateway crashed or failed to stop"
    assert result["books_equal"], "books differ from the clean day"
    assert result["counter_problems"] == []
    assert result["rss_growth_mib"] < 32, f"RSS grew {result['rss_growth_mib']} MiB after warm-up"
