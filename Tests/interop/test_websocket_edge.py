"""The WebSocket edge as a client without multicast uses it: `quotecast serve` with `websocket.listen`,
read by Python (PyPI websockets + flatbuffers, flatc-generated code). Every client ends with exact
books for what it asked for (all, two symbols, or joining half-way through the day); a client that
never reads is resynchronized, then dropped with a log line, and nobody else notices."""

import asyncio
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "schemas" / "generated" / "python"))

websockets = pytest.importorskip("websockets")
from quotecast.feed.Packet import Packet  # noqa: E402
from levels import apply_level  # noqa: E402

QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
FEED_PORT, WS_PORT, HTTP_PORT = 36700, 36705, 36704
CHANNELS, DEPTH = 3, 5


def run(*args):
    result = subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


class Books:
    """A WebSocket subscriber's books: a snapshot replaces a book, level updates apply to it."""

    def __init__(self, snapshot_channel):
        self.snapshot_channel = snapshot_channel
        self.books, self.symbols, self.frames, self.snapshots = {}, {}, 0, 0

    def apply(self, payload):
        packet = Packet.GetRootAs(payload, 0)
        self.frames += 1
        for i in range(packet.UpdatesLength()):
            update = packet.Updates(i)
            if (definition := update.Definition()) is not None:
                self.symbols[definition.Locate()] = definition.Symbol().decode()
            elif (snapshot := update.Snapshot()) is not None:
                self.snapshots += 1
                self.books[snapshot.Locate()] = (
                    [(snapshot.Bids(j).Price(), snapshot.Bids(j).Shares(), snapshot.Bids(j).Orders())
                     for j in range(snapshot.BidsLength())],
                    [(snapshot.Asks(j).Price(), snapshot.Asks(j).Shares(), snapshot.Asks(j).Orders())
                     for j in range(snapshot.AsksLength())])
            elif (level := update.Level()) is not None:
                apply_level(self.books, level, DEPTH)


async def follow(subscription, feed_done, quiet_s=1.5, start_after=None):
    if start_after is not None:
        await start_after.wait()
    async with websockets.connect(f"ws://127.0.0.1:{WS_PORT}/feed", max_size=1 << 22, open_timeout=60) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello" and hello["channels"] == CHANNELS and hello["depth"] == DEPTH
        assert hello["schema_version"] == 1
        await ws.send(json.dumps({"subscribe": subscription}))
        books = Books(hello["snapshot_channel"])
        last = [time.monotonic()]

        async def pump():
            async for message in ws:
                assert isinstance(message, bytes), message
                books.apply(message)
                last[0] = time.monotonic()

        # Until the feed has ended and nothing has come for `quiet_s` (a loaded machine may pause
        # longer mid-day); the receiving task is never interrupted before then.
        task = asyncio.create_task(pump())
        deadline = time.monotonic() + 90
        while not (feed_done.is_set() and books.frames > 0 and time.monotonic() - last[0] > quiet_s):
            assert time.monotonic() < deadline, "the edge answers within 90 s"
            await asyncio.sleep(0.1)
            if task.done():
                task.result()
                break
        task.cancel()
        return books


def scrape():
    return urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/metrics", timeout=5).read().decode()


def expected_books(tmp_path, day):
    path = tmp_path / "expected.json"
    run("replay", day, "--channels", CHANNELS, "--depth", DEPTH, "--books-json", path, "--quiet")
    return {book["locate"]: book for book in json.loads(path.read_text())["books"]}


def as_levels(side):
    return [(round(level["price"] * 10000), level["shares"], level["orders"]) for level in side]


def test_websocket_clients_get_exact_books_and_a_slow_one_is_dropped(tmp_path):
    day = tmp_path / "day.itch"
    run("gen", "--messages", 150000, "--symbols", 24, "--seed", 17, "--out", day)
    expected = expected_books(tmp_path, day)
    chosen = sorted(book["symbol"] for book in expected.values())[:2]
    config = tmp_path / "gateway.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
channels:
  count: {CHANNELS}
  group_base: "239.255.95.1:36701"
  depth: {DEPTH}
snapshot:
  group: "239.255.96.1:36702"
  cycle_ms: 500
operations:
  http: "127.0.0.1:{HTTP_PORT}"
  stats_interval_ms: 0
websocket:
  listen: "127.0.0.1:{WS_PORT}"
  queue_bytes: 65536
  send_buffer_bytes: 65536
  stall_timeout_ms: 3000
""")
    log_path = tmp_path / "gateway.log"
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=open(log_path, "w"))
    try:
        time.sleep(1.0)
        assert gateway.poll() is None, log_path.read_text()

        async def scenario():
            half_way, feed_done = asyncio.Event(), asyncio.Event()
            # A client that subscribes to everything and then never reads.
            # Its kernel buffer is small, so the gateway's side fills soon.
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", WS_PORT))
            stuck = await websockets.connect(f"ws://127.0.0.1:{WS_PORT}/feed", max_size=1 << 22, sock=raw, open_timeout=60)
            await stuck.recv()
            await stuck.send(json.dumps({"subscribe": "all"}))
            stuck.transport.pause_reading()
            clients = [asyncio.create_task(follow("all", feed_done)), asyncio.create_task(follow(chosen, feed_done)),
                       asyncio.create_task(follow("all", feed_done, start_after=half_way))]
            await asyncio.sleep(0.3)
            feed = await asyncio.create_subprocess_exec(
                QUOTECAST, "replay", str(day), "--to", f"127.0.0.1:{FEED_PORT}", "--rate", "60000",
                stdout=asyncio.subprocess.DEVNULL)
            await asyncio.sleep(1.0)
            half_way.set()
            assert await feed.wait() == 0
            feed_done.set()
            results = await asyncio.gather(*clients)
            # The stuck client is closed once it has taken nothing for the stall timeout.
            deadline = time.monotonic() + 15
            while "quotecast_websocket_stalled_closes_total 1" not in scrape() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            stuck.transport.abort()
            return results

        everything, narrow, late = asyncio.run(scenario())
        metrics = scrape()
    finally:
        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=15) == 0
    log = log_path.read_text()

    def metric(name):
        line = next(line for line in metrics.splitlines() if line.startswith(name + " "))
        return int(float(line.split()[1]))

    # The gateway itself lost nothing (else no client could be exact).
    assert metric("quotecast_gaps_total") == 0 and metric("quotecast_feed_stale") == 0, metrics
    assert metric("quotecast_websocket_tap_refused_total") == 0
    for name, books, wanted in [("all", everything, None), ("narrow", narrow, set(chosen)),
                                ("late", late, None)]:
        compared = 0
        for locate, book in expected.items():
            if wanted is not None and book["symbol"] not in wanted:
                assert locate not in books.books or books.books[locate] == ([], []), (name, book["symbol"])
                continue
            got = books.books.get(locate, ([], []))
            assert got == (as_levels(book["bids"]), as_levels(book["asks"])), (
                name, book["symbol"], books.snapshots, books.frames)
            compared += 1
        assert compared == (len(wanted) if wanted else len(expected)), name
    assert late.snapshots >= len(expected), "the late joiner started from snapshots"
    assert set(narrow.symbols.values()) == set(chosen), "a narrow client hears only its own definitions"

    assert metric("quotecast_websocket_resyncs_total") >= 1, metrics
    assert metric("quotecast_websocket_stalled_closes_total") == 1, metrics
    assert log.count("websocket: closed connection 1 (") == 1 and "took nothing for 3000 ms" in log, log
