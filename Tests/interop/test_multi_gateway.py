"""Two gateways on one multicast feed, each owning half of the channels, in network namespaces
the test builds (a bridge with veth pairs, 198.18.0.0/24, no route out): a feed sender, two
gateways and a subscriber, each in its own namespace. The subscriber joins every channel of both
and ends with exactly a single gateway's offline books. Mid-day one gateway is stopped and
restarted: it catches up from the re-request server, and the subscriber recovers that gateway's
channels from the snapshot channel while the other half never goes stale."""

import json
import os
import pathlib
import signal
import sys
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import netns  # noqa: E402
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))

CHANNELS, DEPTH = 8, 5
FEED_GROUP, REREQUEST_PORT = "239.192.1.1:36400", 36409
GROUP_BASE, SNAPSHOT_GROUP = "239.192.2.1:36401", "239.192.3.1:36402"
ROLES = {"feed": "198.18.0.1", "a": "198.18.0.2", "b": "198.18.0.3", "sub": "198.18.0.4"}


@pytest.fixture
def namespaces():
    try:
        with netns.namespaces(ROLES) as names:
            yield names
    except netns.Unavailable as reason:
        pytest.skip(str(reason))


def gateway_config(role, owned):
    address = ROLES[role]
    return f"""
feed:
  inputs: ["{FEED_GROUP}"]
  interface: {address}
  rerequest: "{ROLES['feed']}:{REREQUEST_PORT}"
  max_held_packets: 65536
channels:
  count: {CHANNELS}
  owned: {owned}
  group_base: "{GROUP_BASE}"
  interface: {address}
  depth: {DEPTH}
  heartbeat_interval_ms: 100
snapshot:
  group: "{SNAPSHOT_GROUP}"
  depth: {DEPTH}
  cycle_ms: 200
operations:
  http: off
  stats_interval_ms: 0
"""


def start_gateway(namespaces, role, tmp_path, run):
    config = tmp_path / f"gateway-{role}.yaml"
    config.write_text(gateway_config(role, "[0, 1, 2, 3]" if role == "a" else '["4-7"]'))
    counters = tmp_path / f"counters-{role}-{run}.json"
    log = open(tmp_path / f"gateway-{role}-{run}.log", "w")
    process = subprocess.Popen(
        ["ip", "netns", "exec", namespaces[role], QUOTECAST, "serve", "--config", str(config),
         "--counters-json", str(counters)], stderr=log)
    return process, counters, tmp_path / f"gateway-{role}-{run}.log"


def stop(process, timeout=15):
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def test_two_gateways_on_disjoint_channels_and_a_restart_mid_day(namespaces, tmp_path):
    day = tmp_path / "day.itch"
    subprocess.run([QUOTECAST, "gen", "--messages", "60000", "--symbols", "40", "--seed", "5", "--out", str(day)],
                   check=True, capture_output=True, timeout=120)
    expected_json = tmp_path / "expected.json"
    subprocess.run([QUOTECAST, "replay", str(day), "--channels", str(CHANNELS), "--depth", str(DEPTH),
                    "--books-json", str(expected_json), "--quiet"], check=True, capture_output=True, timeout=120)
    expected = json.loads(expected_json.read_text())

    processes = []
    try:
        gateway_a, counters_a, log_a = start_gateway(namespaces, "a", tmp_path, 1)
        gateway_b, counters_b1, log_b1 = start_gateway(namespaces, "b", tmp_path, 1)
        processes += [gateway_a, gateway_b]
        books_json = tmp_path / "subscriber.json"
        subscriber = subprocess.Popen(
            ["ip", "netns", "exec", namespaces["sub"], QUOTECAST, "subscribe", "--format", "lines",
             "--channels", str(CHANNELS), "--group-base", GROUP_BASE, "--snapshot-group", SNAPSHOT_GROUP,
             "--interface", ROLES["sub"], "--book-depth", str(DEPTH), "--duration", "9",
             "--books-json", str(books_json)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(subscriber)
        time.sleep(0.8)
        assert gateway_a.poll() is None and gateway_b.poll() is None, (log_a.read_text(), log_b1.read_text())
        feed = subprocess.Popen(
            ["ip", "netns", "exec", namespaces["feed"], QUOTECAST, "replay", str(day), "--to", FEED_GROUP,
             "--interface", ROLES["feed"], "--rate", "20000", "--rerequest-port", str(REREQUEST_PORT),
             "--rerequest-linger", "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(feed)
        feed_started = time.monotonic()
        # Mid-day, gateway B goes away for a moment and comes back.
        time.sleep(1.2)
        assert stop(gateway_b) == 0, log_b1.read_text()
        time.sleep(0.3)
        gateway_b, counters_b2, log_b2 = start_gateway(namespaces, "b", tmp_path, 2)
        processes.append(gateway_b)
        # The scenario needs the feed still sending when B is back (it sends for about 3 s).
        restart = f"B restarted {time.monotonic() - feed_started:.2f} s into the feed"
        assert feed.poll() is None, f"the feed ended before gateway B restarted ({restart})"
        out, err = feed.communicate(timeout=60)
        assert feed.returncode == 0, err
        _, sub_err = subscriber.communicate(timeout=30)
        assert subscriber.returncode == 0, sub_err
        assert stop(gateway_a) == 0, log_a.read_text()
        assert stop(gateway_b) == 0, log_b2.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    counters = {name: json.loads(path.read_text()) for name, path in
                [("a", counters_a), ("b1", counters_b1), ("b2", counters_b2)]}
    for name, values in counters.items():
        assert values["quotecast_feed_stale"] == 0, (name, values)
        assert values["quotecast_lost_messages_total"] == 0, (name, values)
    assert counters["b2"]["quotecast_catch_ups_total"] == 1, (restart, counters["b2"], log_b2.read_text())
    assert counters["b2"]["quotecast_rerequests_total"] >= 1
    assert counters["a"]["quotecast_catch_ups_total"] == 0
    assert counters["a"]["quotecast_gaps_total"] == 0

    mirror = json.loads(books_json.read_text())
    got = {book["locate"]: book for book in mirror["books"]}
    compared = 0
    for book in expected["books"]:
        mine = got.get(book["locate"], {"bids": [], "asks": [], "synced": True})
        assert mine["synced"], book["symbol"]
        assert (mine["bids"], mine["asks"]) == (book["bids"], book["asks"]), book["symbol"]
        compared += 1
    assert compared >= 30
    assert mirror["stale_instruments"] == 0 and not mirror["feed_stale"]
    # B's four channels began a new session; only their instruments were recovered, once each.
    assert mirror["publisher_restarts"] == 4, mirror
    assert mirror["gaps"] == 0, "channels 0-3 never lost a packet"
    on_b = [book for book in mirror["books"] if book["locate"] % CHANNELS >= 4]
    assert mirror["recoveries"] == len(on_b), (mirror["recoveries"], len(on_b))
    assert "owning 4-7" in log_b2.read_text()
