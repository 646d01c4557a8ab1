"""A non-Swift reader: decode a replay's pcap with the PyPI flatbuffers runtime and flatc-generated
code, rebuild every book from the level updates, and compare with quotecast's own books."""

import hashlib
import json
import os
import pathlib
import struct
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "schemas" / "generated" / "python"))

from quotecast.feed.Packet import Packet  # noqa: E402
from levels import apply_level  # noqa: E402

QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
DEPTH = 5
CHANNELS = 3


def run(*args):
    result = subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"quotecast {' '.join(map(str, args))} failed:\n{result.stderr}"
    return result.stdout


def udp_payloads(path):
    """(destination address, destination port, payload) for each UDP/IPv4 frame of a classic pcap."""
    data = pathlib.Path(path).read_bytes()
    magic = struct.unpack_from("<I", data, 0)[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), hex(magic)
    linktype = struct.unpack_from("<I", data, 20)[0]
    assert linktype == 1
    offset = 24
    while offset < len(data):
        _, _, caplen, _ = struct.unpack_from("<IIII", data, offset)
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        assert struct.unpack_from("!H", frame, 12)[0] == 0x0800
        ip = frame[14:]
        ihl = (ip[0] & 0x0F) * 4
        assert ip[9] == 17
        destination = ".".join(str(b) for b in ip[16:20])
        udp = ip[ihl:]
        port, length = struct.unpack_from("!HH", udp, 2)
        yield destination, port, bytes(udp[8:length])


def dollars_to_price(value):
    return int(round(value * 10000))


def rebuild(pcap):
    """Books as a subscriber sees them: {locate: ([bids], [asks])} of (price, shares, orders)."""
    books, symbols, next_sequence, snapshots = {}, {}, {}, {}
    for destination, port, payload in udp_payloads(pcap):
        packet = Packet.GetRootAs(payload, 0)
        channel = packet.Channel()
        expected = next_sequence.get(channel, 1)
        assert packet.Sequence() == expected, f"channel {channel}: sequence {packet.Sequence()} != {expected}"
        next_sequence[channel] = expected + 1
        if channel == CHANNELS:
            assert (destination, port) == ("239.255.11.1", 31002)
        else:
            assert (destination, port) == (f"239.255.10.{channel + 1}", 31001)
        for i in range(packet.UpdatesLength()):
            update = packet.Updates(i)
            definition = update.Definition()
            if definition is not None:
                symbols[definition.Locate()] = definition.Symbol().decode()
                assert definition.Channel() == definition.Locate() % CHANNELS
            snapshot = update.Snapshot()
            if snapshot is not None:
                snapshots[snapshot.Locate()] = (
                    [(snapshot.Bids(j).Price(), snapshot.Bids(j).Shares(), snapshot.Bids(j).Orders()) for j in range(snapshot.BidsLength())],
                    [(snapshot.Asks(j).Price(), snapshot.Asks(j).Shares(), snapshot.Asks(j).Orders()) for j in range(snapshot.AsksLength())],
                )
            level = update.Level()
            if level is None:
                continue
            assert channel == level.Locate() % CHANNELS
            apply_level(books, level, DEPTH, strict=True)
    return books, symbols, snapshots


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    work = tmp_path_factory.mktemp("interop")
    day = work / "day.itch"
    run("gen", "--messages", 120000, "--symbols", 30, "--seed", 5, "--out", day)
    pcap = work / "out.pcap"
    books_json = work / "books.json"
    run("replay", day, "--output", pcap, "--channels", CHANNELS, "--depth", DEPTH, "--snapshots",
        "--books-json", books_json, "--quiet")
    return work, day, pcap, json.loads(books_json.read_text())


def as_levels(side):
    return [(dollars_to_price(level["price"]), level["shares"], level["orders"]) for level in side]


def test_python_rebuilds_every_book(replayed):
    _, _, pcap, expected = replayed
    books, symbols, snapshots = rebuild(pcap)
    assert expected["depth"] == DEPTH
    assert len(expected["books"]) >= 30
    checked = 0
    for book in expected["books"]:
        locate = book["locate"]
        bids, asks = books.get(locate, ([], []))
        assert bids == as_levels(book["bids"]), f"{book['symbol']} bids"
        assert asks == as_levels(book["asks"]), f"{book['symbol']} asks"
        assert symbols[locate] == book["symbol"]
        snapshot_bids, snapshot_asks = snapshots[locate]
        assert snapshot_bids[:DEPTH] == bids and snapshot_asks[:DEPTH] == asks
        checked += len(bids) + len(asks)
    assert checked > 200


def test_replay_is_deterministic(replayed):
    work, day, pcap, _ = replayed
    again = work / "again.pcap"
    run("replay", day, "--output", again, "--channels", CHANNELS, "--depth", DEPTH, "--snapshots", "--quiet")
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(pcap.read_bytes()).digest()


def test_book_json_matches_replay(replayed):
    _, day, _, expected = replayed
    busiest = max(expected["books"], key=lambda book: len(book["bids"]) + len(book["asks"]))
    shown = json.loads(run("book", day, "--symbol", busiest["symbol"], "--depth", DEPTH, "--json"))
    assert shown == busiest
    assert set(shown) == {"symbol", "locate", "bids", "asks"}


def test_pcap_input_gives_the_same_books(replayed):
    work, _, _, expected = replayed
    capture = work / "day.pcap"
    run("gen", "--messages", 120000, "--symbols", 30, "--seed", 5, "--out", capture)
    books_json = work / "from-pcap.json"
    summary = run("replay", capture, "--channels", CHANNELS, "--depth", DEPTH, "--books-json", books_json)
    assert json.loads(books_json.read_text()) == expected
    assert "end of session seen" in summary


UPDATE_MEMBERS = [
    "Level", "Trade", "TradeBreak", "TradingState", "OperationalHalt", "RegSho", "LuldCollar", "Imbalance",
    "SystemEvent", "MarketWideBreaker", "Definition", "Snapshot", "FeedStatus",
]


def scalar_fields(member):
    """Every scalar a generated struct or table answers with no arguments, by name: content without layout."""
    values = []
    for name in sorted(dir(member)):
        if not name[:1].isupper() or name.startswith(("Init", "GetRoot")) or name.endswith(("Length", "IsNone", "AsNumpy")):
            continue
        try:
            value = getattr(member, name)()
        except TypeError:
            continue
        if isinstance(value, (int, float, bytes)):
            values.append((name, value))
    return tuple(values)


def update_streams(pcap):
    """Each channel's updates, in order, and the number of packets: what batching may not change, and what it may."""
    streams, packets = {}, 0
    for _, _, payload in udp_payloads(pcap):
        packet = Packet.GetRootAs(payload, 0)
        packets += 1
        stream = streams.setdefault(packet.Channel(), [])
        for i in range(packet.UpdatesLength()):
            update = packet.Updates(i)
            content = [(name, scalar_fields(getattr(update, name)())) for name in UPDATE_MEMBERS
                       if getattr(update, name)() is not None]
            stream.append((update.UpstreamSequence(), update.TimestampNs(), tuple(content)))
    return streams, packets


def test_offline_batching_changes_packet_boundaries_only(replayed):
    """`replay --batch-plan` reproduces the live gateway's batching: same books, same update stream per channel,
    fewer packets; a batch of one is byte-identical to no batching, and a plan replays byte for byte."""
    work, day, pcap, expected = replayed
    plain = work / "plain.pcap"
    run("replay", day, "--output", plain, "--channels", CHANNELS, "--depth", DEPTH, "--quiet")
    ones = work / "ones.pcap"
    run("replay", day, "--output", ones, "--channels", CHANNELS, "--depth", DEPTH, "--batch-datagrams", 1, "--quiet")
    assert ones.read_bytes() == plain.read_bytes()
    plan_file = work / "plan.txt"
    plan_file.write_text("3\n1\n7\n16\n2\n")
    batched = work / "batched.pcap"
    run("replay", day, "--output", batched, "--channels", CHANNELS, "--depth", DEPTH, "--batch-plan", plan_file, "--quiet")
    again = work / "batched-again.pcap"
    run("replay", day, "--output", again, "--channels", CHANNELS, "--depth", DEPTH, "--batch-plan", "3,1,7,16,2", "--quiet")
    assert again.read_bytes() == batched.read_bytes()
    plain_streams, plain_packets = update_streams(plain)
    batched_streams, batched_packets = update_streams(batched)
    assert sorted(plain_streams) == list(range(CHANNELS))
    for channel in range(CHANNELS):
        assert len(plain_streams[channel]) > 1000
        assert batched_streams[channel] == plain_streams[channel], f"channel {channel}"
    assert batched_packets < plain_packets
    books, _, _ = rebuild(batched)
    for book in expected["books"]:
        assert books.get(book["locate"], ([], [])) == (as_levels(book["bids"]), as_levels(book["asks"]))


@pytest.mark.parametrize("flags, message", [
    (["--batch-datagrams", "0"], "--batch-datagrams must be 1...4096"),
    (["--batch-plan", "3,x"], "--batch-plan must be batch sizes"),
    (["--batch-datagrams", "2", "--batch-plan", "2"], "exclusive"),
    (["--batch-datagrams", "2", "--to", "127.0.0.1:9"], "do not go with --to"),
])
def test_bad_batching_flags_are_refused(replayed, flags, message):
    _, day, _, _ = replayed
    result = subprocess.run([QUOTECAST, "replay", str(day), *flags], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and result.returncode < 128
    assert message in result.stderr
