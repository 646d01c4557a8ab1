"""The WebSocket edge's page, in headless Chromium (Debian `chromium`): its depth ladder, read with
flatc's generated TypeScript (compiled by tsc) over the page's FlatBuffers runtime, equals the
gateway's book after a replayed day, for a page open during the day and for one opened after it.
Chromium is kept on loopback: every host name but 127.0.0.1 fails to resolve and background
networking is off. With QUOTECAST_SCREENSHOT=FILE the test saves a screenshot of the page."""

import asyncio
import base64
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
websockets = pytest.importorskip("websockets")
CHROMIUM = shutil.which("chromium")
FEED_PORT, WS_PORT, CDP_PORTS = 36800, 36805, (36890, 36891)
CHANNELS, DEPTH = 2, 5


def run(*args):
    result = subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def open_page(url, port, profile):
    return subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", f"--remote-debugging-port={port}",
         f"--user-data-dir={profile}", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-domain-reliability",
         "--no-pings", "--disable-breakpad", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--window-size=900,600", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def evaluate(port, expression, screenshot=None):
    deadline = time.monotonic() + 20
    while True:
        try:
            pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2))
            page = next(p for p in pages if p["type"] == "page" and p["url"].startswith("http://127.0.0.1"))
            break
        except (OSError, StopIteration):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    async with websockets.connect(page["webSocketDebuggerUrl"], max_size=1 << 26) as cdp:
        await cdp.send(json.dumps({"id": 1, "method": "Runtime.evaluate",
                                   "params": {"expression": expression, "returnByValue": True}}))
        value = json.loads(await cdp.recv())["result"]["result"].get("value")
        if screenshot:
            await cdp.send(json.dumps({"id": 2, "method": "Page.captureScreenshot", "params": {"format": "png"}}))
            pathlib.Path(screenshot).write_bytes(base64.b64decode(json.loads(await cdp.recv())["result"]["data"]))
        return value


def page_book(port, screenshot=None, wait_for_frames=1):
    deadline = time.monotonic() + 20
    while True:
        text = asyncio.run(evaluate(port, "document.getElementById('book-json').textContent", screenshot))
        book = json.loads(text) if text else {"frames": 0}
        if book["frames"] >= wait_for_frames or time.monotonic() > deadline:
            return book
        time.sleep(0.3)


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/setup.sh installs it)")
def test_the_page_shows_the_gateways_book(tmp_path):
    day = tmp_path / "day.itch"
    run("gen", "--messages", 40000, "--symbols", 12, "--seed", 21, "--out", day)
    expected_path = tmp_path / "expected.json"
    run("replay", day, "--channels", CHANNELS, "--depth", DEPTH, "--books-json", expected_path, "--quiet")
    books = json.loads(expected_path.read_text())["books"]
    book = max(books, key=lambda b: len(b["bids"]) + len(b["asks"]))
    want = {side: [{"price": round(level["price"] * 10000), "shares": level["shares"], "orders": level["orders"]}
                   for level in book[side]] for side in ("bids", "asks")}
    config = tmp_path / "gateway.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
channels:
  count: {CHANNELS}
  group_base: "239.255.97.1:36801"
  depth: {DEPTH}
snapshot:
  group: "239.255.98.1:36802"
operations:
  http: off
  stats_interval_ms: 0
websocket:
  listen: "127.0.0.1:{WS_PORT}"
""")
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=open(tmp_path / "gw.log", "w"))
    pages = []
    try:
        time.sleep(1.0)
        assert gateway.poll() is None, (tmp_path / "gw.log").read_text()
        url = f"http://127.0.0.1:{WS_PORT}/?symbol={book['symbol']}"
        pages.append(open_page(url, CDP_PORTS[0], tempfile.mkdtemp(dir=tmp_path)))
        # The target exists before its document does: wait for the page itself.
        deadline = time.monotonic() + 15
        while not asyncio.run(evaluate(CDP_PORTS[0], "document.getElementById('book-json') !== null")):
            assert time.monotonic() < deadline, "the page loads"
            time.sleep(0.2)
        assert asyncio.run(evaluate(CDP_PORTS[0], "document.title")) == "quotecast — depth ladder"
        time.sleep(1.0)  # the page has connected and subscribed
        run("replay", day, "--to", f"127.0.0.1:{FEED_PORT}", "--rate", 50000)
        time.sleep(1.0)
        live = page_book(CDP_PORTS[0], screenshot=os.environ.get("QUOTECAST_SCREENSHOT"))
        # A page opened after the day: everything comes from the snapshot the edge sends it.
        pages.append(open_page(url, CDP_PORTS[1], tempfile.mkdtemp(dir=tmp_path)))
        late = page_book(CDP_PORTS[1])
        health = asyncio.run(evaluate(CDP_PORTS[0], "document.getElementById('health').textContent"))
        rows = asyncio.run(evaluate(CDP_PORTS[0], "document.querySelectorAll('#ladder tbody tr').length"))
    finally:
        for page in pages:
            page.kill()
            page.wait(timeout=10)
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=15)
    assert live["symbol"] == book["symbol"] and live["frames"] > 10
    assert {"bids": live["bids"], "asks": live["asks"]} == want
    assert late["snapshots"] == 1 and {"bids": late["bids"], "asks": late["asks"]} == want
    assert health.startswith("connected · feed exact"), health
    assert rows == max(len(want["bids"]), len(want["asks"]))
