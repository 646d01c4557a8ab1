"""The live gateway as a user runs it: `quotecast serve` fed by `quotecast replay --to` over
loopback, read by a Python multicast subscriber (PyPI flatbuffers + flatc-generated code)."""

import json
import os
import pathlib
import select
import signal
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "schemas" / "generated" / "python"))

from quotecast.feed.Packet import Packet  # noqa: E402
from levels import apply_level  # noqa: E402

QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
FEED_PORT, CHANNEL_PORT, SNAPSHOT_PORT = 35400, 35401, 35402
CHANNELS, DEPTH = 2, 5
GROUPS = [f"239.255.77.{n + 1}" for n in range(CHANNELS)]

CONFIG = f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
channels:
  count: {CHANNELS}
  group_base: "{GROUPS[0]}:{CHANNEL_PORT}"
  depth: {DEPTH}
  heartbeat_interval_ms: 100
snapshot:
  group: "239.255.78.1:{SNAPSHOT_PORT}"
operations:
  stats_interval_ms: 0
  http: "127.0.0.1:35403"
"""


def run(*args, check=True):
    result = subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def join(group, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
    return sock


def test_print_config_round_trips(tmp_path):
    printed = run("serve", "--print-config").stdout
    assert "interface: 127.0.0.1" in printed
    path = tmp_path / "effective.yaml"
    path.write_text(printed)
    assert run("serve", "--config", path, "--print-config").stdout == printed


@pytest.mark.parametrize("yaml,key", [
    ("channels:\n  colour: blue\n", "channels.colour"),
    ("threading:\n  cpu: 4095\n", "threading.cpu"),
    ("ingest:\n  buffer_count: 1000\n", "ingest.buffer_count"),
    ("channels:\n  count: many\n", "channels.count"),
    ("feed: [", "yaml"),
])
def test_bad_configs_are_refused_before_anything_starts(tmp_path, yaml, key):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml)
    started = time.monotonic()
    result = run("serve", "--config", path, check=False)
    assert result.returncode == 2
    assert key in result.stderr
    assert "serving" not in result.stderr
    assert time.monotonic() - started < 10


def test_live_feed_reaches_a_python_subscriber_and_sigterm_drains(tmp_path):
    day = tmp_path / "day.itch"
    run("gen", "--messages", 40000, "--symbols", 16, "--seed", 11, "--out", day)
    expected_json = tmp_path / "books.json"
    run("replay", day, "--channels", CHANNELS, "--depth", DEPTH, "--books-json", expected_json, "--quiet")
    expected = json.loads(expected_json.read_text())

    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG)
    sockets = [join(group, CHANNEL_PORT) for group in GROUPS]
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert gateway.poll() is None, gateway.stderr.read()
        run("replay", day, "--to", f"127.0.0.1:{FEED_PORT}", "--rate", 100000)

        books, next_sequence, heartbeats, updates = {}, {}, 0, 0
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 1.0:
            ready, _, _ = select.select(sockets, [], [], 0.2)
            for sock in ready:
                payload = sock.recv(65536)
                packet = Packet.GetRootAs(payload, 0)
                channel = packet.Channel()
                if packet.UpdatesLength() == 0:
                    heartbeats += 1
                    assert packet.Sequence() == next_sequence.get(channel, 1) - 1
                    continue
                assert packet.Sequence() == next_sequence.get(channel, 1), "no gap on loopback at this rate"
                next_sequence[channel] = packet.Sequence() + 1
                quiet_since = time.monotonic()
                for i in range(packet.UpdatesLength()):
                    level = packet.Updates(i).Level()
                    updates += 1
                    if level is None:
                        continue
                    apply_level(books, level, DEPTH)
        assert updates > 10000
        assert heartbeats >= CHANNELS, "idle channels heartbeat"
        for book in expected["books"]:
            want = tuple([(round(l["price"] * 10000), l["shares"], l["orders"]) for l in book[s]] for s in ("bids", "asks"))
            assert books.get(book["locate"], ([], [])) == want, book["symbol"]

        import urllib.request
        metrics = urllib.request.urlopen("http://127.0.0.1:35403/metrics", timeout=5).read().decode()
        assert "quotecast_messages_total 40000" in metrics
        assert "quotecast_gaps_total 0" in metrics
        health = json.loads(urllib.request.urlopen("http://127.0.0.1:35403/health", timeout=5).read())
        assert health["status"] == "serving" and health["messages"] == 40000

        gateway.send_signal(signal.SIGTERM)
        assert gateway.wait(timeout=10) == 0
        log = gateway.stderr.read()
        assert "quotecast serving 127.0.0.1:%d" % FEED_PORT in log
        assert "stopped after draining" in log and "40000 messages" in log
    finally:
        if gateway.poll() is None:
            gateway.kill()
        for sock in sockets:
            sock.close()


def test_looping_replay_continues_the_sequence(tmp_path):
    day = tmp_path / "small.itch"
    run("gen", "--messages", 3000, "--symbols", 4, "--seed", 2, "--out", day)
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG.replace(str(FEED_PORT), "35410").replace("35403", "35413"))
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        sent = run("replay", day, "--to", "127.0.0.1:35410", "--rate", 30000, "--loop", "--duration", 1).stdout
        messages = int(sent.split(" MoldUDP64 packets, ")[1].split(" messages")[0].replace(",", ""))
        assert messages > 3000 * 5, "several passes"
        time.sleep(0.3)
        import urllib.request
        metrics = urllib.request.urlopen("http://127.0.0.1:35413/metrics", timeout=5).read().decode()
        assert f"quotecast_messages_total {messages}" in metrics
        assert "quotecast_gaps_total 0" in metrics and "quotecast_duplicate_packets_total 0" in metrics
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)


def test_subscribe_cli_and_the_python_subscriber(tmp_path):
    """`quotecast subscribe` in json and lines with a symbol filter, and bench/python_subscriber.py,
    all against a live gateway; the last top of book the Python subscriber prints equals the replay's."""
    day = tmp_path / "day.itch"
    run("gen", "--messages", 30000, "--symbols", 8, "--seed", 13, "--out", day)
    books_json = tmp_path / "books.json"
    run("replay", day, "--channels", CHANNELS, "--depth", DEPTH, "--books-json", books_json, "--quiet")
    books = {book["symbol"]: book for book in json.loads(books_json.read_text())["books"]}
    symbol = max(books, key=lambda name: len(books[name]["bids"]) + len(books[name]["asks"]))
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG.replace(str(FEED_PORT), "35420").replace("35403", "35423"))
    group_args = ["--channels", str(CHANNELS), "--group-base", f"{GROUPS[0]}:{CHANNEL_PORT}",
                  "--snapshot-group", f"239.255.78.1:{SNAPSHOT_PORT}", "--duration", "4"]
    commands = [
        [QUOTECAST, "subscribe", "--format", "json", "--symbols", symbol, *group_args],
        [QUOTECAST, "subscribe", "--format", "lines", *group_args],
        [QUOTECAST, "subscribe", "--format", "table", "--symbols", symbol, *group_args],
        [sys.executable, str(ROOT / "bench" / "python_subscriber.py"), "--channels", str(CHANNELS),
         "--depth", str(DEPTH), "--group-base", f"{GROUPS[0]}:{CHANNEL_PORT}", "--duration", "30", "--quiet-exit", "1.5"],
    ]
    # Files, not pipes: an unread pipe fills up and blocks a subscriber on its own output.
    outs = [tmp_path / f"client{n}.out" for n in range(len(commands))]
    errs = [tmp_path / f"client{n}.err" for n in range(len(commands))]
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=subprocess.DEVNULL)
    clients = []
    try:
        time.sleep(0.4)
        for command, out, err in zip(commands, outs, errs):
            with open(out, "w") as stdout, open(err, "w") as stderr:
                clients.append(subprocess.Popen(command, stdout=stdout, stderr=stderr))
        time.sleep(0.4)
        run("replay", day, "--to", "127.0.0.1:35420", "--rate", 30000)
        for client in clients:
            assert client.wait(timeout=40) == 0
    finally:
        for process in [*clients, gateway]:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    outputs = [out.read_text() for out in outs]
    json_lines = [json.loads(line) for line in outputs[0].splitlines()]
    assert len(json_lines) > 100
    assert {line["symbol"] for line in json_lines} == {symbol}, "the filter keeps one symbol"
    assert {"definition", "level"} <= {line["type"] for line in json_lines}
    lines = outputs[1].splitlines()
    assert len(lines) > 1000 and any(" level bid new #0 " in line for line in lines)
    assert len({line.split()[1] for line in lines}) == len(books), "every symbol appears unfiltered"
    # The table: redrawn in place, the chosen symbol's ladder with feed health, exact at the end.
    frames = outputs[2].split("\x1b[H\x1b[2J")
    assert len(frames) > 4, "redrawn several times"
    last_frame = frames[-1]
    assert "quotecast subscribe" in last_frame and "gaps 0" in last_frame and "stale 0" in last_frame, last_frame
    assert symbol in last_frame and "STALE" not in last_frame, last_frame
    best_bid = books[symbol]["bids"][0]
    assert f"{best_bid['price']:.4f}".rstrip("0").rstrip(".") in last_frame, last_frame
    summary = errs[3].read_text()
    assert " gaps 0 " in summary and "first sequences {0: 1, 1: 1}" in summary, summary

    def top(text):
        """("bid", shares, price) from "bid 100 @ 189.52", or ("bid", None, None) from "bid - @ -"."""
        side, shares, _, price = text.split()
        return (side, None, None) if shares == "-" else (side, int(shares), round(float(price) * 10000))

    last = {}
    for line in outputs[3].splitlines():
        name, rest = line.split(" ", 1)
        last[name] = rest
    for name, book in books.items():
        got_bid, got_ask = (top(part) for part in last[name].split("  "))
        for got, side, levels in ((got_bid, "bid", book["bids"]), (got_ask, "ask", book["asks"])):
            want = (side, levels[0]["shares"], round(levels[0]["price"] * 10000)) if levels else (side, None, None)
            assert got == want, name


def layout_packet(schema_version, channel_count, group_base, snapshot_group, owned, instance, channel):
    """A FeedLayout packet built in Python (flatbuffers + flatc code): what a gateway publishes."""
    import flatbuffers
    from quotecast.feed import FeedLayout, Group, Packet as PacketModule, Update

    def address(text):
        return int.from_bytes(socket.inet_aton(text), "big")

    builder = flatbuffers.Builder(256)
    name = builder.CreateString(instance)
    mask = bytearray((channel_count + 7) // 8)
    for n in owned:
        mask[n // 8] |= 1 << (n % 8)
    owned_vector = builder.CreateByteVector(bytes(mask))
    FeedLayout.Start(builder)
    FeedLayout.AddSchemaVersion(builder, schema_version)
    FeedLayout.AddChannelCount(builder, channel_count)
    FeedLayout.AddGroupBase(builder, Group.CreateGroup(builder, address(group_base[0]), group_base[1]))
    FeedLayout.AddSnapshotGroup(builder, Group.CreateGroup(builder, address(snapshot_group[0]), snapshot_group[1]))
    FeedLayout.AddOwned(builder, owned_vector)
    FeedLayout.AddDepth(builder, 5)
    FeedLayout.AddInstance(builder, name)
    layout = FeedLayout.End(builder)
    Update.Start(builder)
    Update.AddLayout(builder, layout)
    update = Update.End(builder)
    PacketModule.StartUpdatesVector(builder, 1)
    builder.PrependUOffsetTRelative(update)
    updates = builder.EndVector()
    PacketModule.Start(builder)
    PacketModule.AddChannel(builder, channel)
    PacketModule.AddSequence(builder, 1)
    PacketModule.AddUpdates(builder, updates)
    packet = PacketModule.End(builder)
    builder.Finish(packet, file_identifier=b"QCF1")
    return bytes(builder.Output())


def test_a_subscriber_learns_the_layout_and_stops_on_a_newer_schema(tmp_path):
    """The gateway's layout on the snapshot group, read by Python; `quotecast subscribe` with no
    --channels learns it (and joins only the channel of --symbols); a layout of a newer schema,
    forged in Python, makes it stop with a clear message instead of misreading."""
    snapshot = ("239.255.79.1", 35512)
    day = tmp_path / "day.itch"
    run("gen", "--messages", 20000, "--symbols", 12, "--seed", 13, "--out", day)
    config = tmp_path / "gateway.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:35510"]
channels:
  count: 3
  owned: [0, 2, 1]
  group_base: "239.255.80.1:35511"
snapshot:
  group: "{snapshot[0]}:{snapshot[1]}"
  cycle_ms: 200
operations:
  stats_interval_ms: 0
  http: off
  instance: "py-layout"
""")
    sock = join(*snapshot)
    gateway = subprocess.Popen([QUOTECAST, "serve", "--config", str(config)], stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.4)
        assert gateway.poll() is None, gateway.stderr.read()
        run("replay", day, "--to", "127.0.0.1:35510", "--rate", 100000)
        layout, symbol_channels, deadline = None, {}, time.monotonic() + 3
        while time.monotonic() < deadline and (layout is None or len(symbol_channels) < 12):
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            packet = Packet.GetRootAs(sock.recv(65536), 0)
            for i in range(packet.UpdatesLength()):
                update = packet.Updates(i)
                if update.Layout() is not None:
                    layout = update.Layout()
                    assert packet.Channel() == 3 and packet.Session() > 0
                elif update.Definition() is not None:
                    definition = update.Definition()
                    symbol_channels[definition.Symbol().decode()] = definition.Channel()
        assert layout is not None, "a layout within three snapshot cycles"
        assert layout.SchemaVersion() == 1 and layout.ChannelCount() == 3
        assert socket.inet_ntoa(layout.GroupBase().Address().to_bytes(4, "big")) == "239.255.80.1"
        assert layout.GroupBase().Port() == 35511 and layout.SnapshotGroup().Port() == snapshot[1]
        assert [layout.Owned(0)] == [0b111] and layout.Instance() == b"py-layout" and layout.Depth() == 10

        symbol = sorted(symbol_channels)[0]
        result = run("subscribe", "--snapshot-group", f"{snapshot[0]}:{snapshot[1]}", "--symbols", symbol,
                     "--duration", 1, "--format", "json")
        assert f"published by py-layout (0-2); joining channel(s) {symbol_channels[symbol]}" in result.stderr, \
            result.stderr
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=10)
        sock.close()

    # A gateway of a newer schema (forged here): the subscriber refuses to read on.
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    sender.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    forged = layout_packet(99, 3, ("239.255.80.1", 35511), snapshot, [0, 1, 2], "from-the-future", 3)
    try:
        # Learning the layout, and following given channels: both stop.
        for extra in ([], ["--channels", "3", "--group-base", "239.255.80.1:35511"]):
            subscriber = subprocess.Popen(
                [QUOTECAST, "subscribe", "--snapshot-group", f"{snapshot[0]}:{snapshot[1]}", "--format", "lines",
                 "--duration", "5", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                deadline = time.monotonic() + 5
                while subscriber.poll() is None and time.monotonic() < deadline:
                    sender.sendto(forged, snapshot)
                    time.sleep(0.05)
                assert subscriber.wait(timeout=5) != 0, extra
                error = subscriber.stderr.read()
                assert "publishes schema version 99; this subscriber reads version 1" in error, (extra, error)
            finally:
                if subscriber.poll() is None:
                    subscriber.kill()
    finally:
        sender.close()
