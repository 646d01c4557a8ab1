"""Every command that reads a file, pointed at files a user might have by mistake: none may die from a signal.
Each ends with a clear error and a non-zero exit, or with a summary that counts what it skipped."""

import gzip
import os
import pathlib
import random
import socket
import struct
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))


def run(*args):
    return subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=120)


def pcap_of_tcp(frames=20):
    """A classic pcap of Ethernet/IPv4/TCP frames: well-formed, but not one UDP datagram."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for n in range(frames):
        tcp = struct.pack("!HHIIBBHHH", 1234, 80, n, 0, 5 << 4, 0x18, 1024, 0, 0) + b"GET / HTTP/1.1\r\n"
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), n, 0, 64, 6, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 2])) + tcp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        out += struct.pack("<IIII", 1, n, len(frame), len(frame)) + frame
    return out


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bad-files")
    day = directory / "day.itch"
    assert run("gen", "--messages", 5000, "--symbols", 5, "--seed", 3, "--out", day).returncode == 0
    whole = day.read_bytes()
    rng = random.Random(12)
    files = {
        "random.bin": bytes(rng.getrandbits(8) for _ in range(200_000)),
        "empty.bin": b"",
        # The first frame is a System Event, then junk: detection accepts it, and the rest must be counted.
        "valid-start-then-random.itch": whole[:14] + bytes(rng.getrandbits(8) for _ in range(50_000)),
        "cut-mid-message.itch": whole[: len(whole) // 2 + 5],
        "tcp-only.pcap": pcap_of_tcp(),
        "cut-short.itch.gz": gzip.compress(whole)[: len(gzip.compress(whole)) // 2],
        "cut-pcap-header.pcap": pcap_of_tcp()[:13],
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory, sorted(files)


def commands(path, port):
    return {
        "replay": ["replay", path, "--quiet"],
        "replay --output": ["replay", path, "--output", f"{path}.out.pcap"],
        "replay --to": ["replay", path, "--to", f"127.0.0.1:{port}", "--rate", 200000],
        "book": ["book", path, "--symbol", "AAA"],
        "bench-core": ["bench-core", path],
    }


def test_no_command_dies_from_a_signal_on_a_bad_file(bad_files):
    directory, names = bad_files
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))  # replay --to sends here; nobody reads
    port = sink.getsockname()[1]
    try:
        for name in names:
            for label, args in commands(directory / name, port).items():
                result = run(*args)
                where = f"{label} {name}: exit {result.returncode}\n{result.stdout[-500:]}{result.stderr[-500:]}"
                assert result.returncode >= 0, "died from a signal: " + where
                assert "Fatal error" not in result.stderr and "Illegal instruction" not in result.stderr, where
                if result.returncode != 0:
                    # A clear message, on one line, naming the file.
                    assert result.stderr.startswith("Error: "), where
                    assert name in result.stderr, where
    finally:
        sink.close()


def test_the_junk_file_from_the_report_is_refused_not_trapped(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(200_000))
    result = run("replay", junk, "--output", tmp_path / "out.pcap")
    assert result.returncode == 1, result.stderr
    assert "is not a feed file" in result.stderr
    assert "pcapng" in result.stderr  # names the formats it reads


def test_a_day_with_an_oversized_length_prefix_is_counted(tmp_path, bad_files):
    directory, _ = bad_files
    whole = (directory.parent / directory.name / "cut-mid-message.itch").read_bytes()
    # A valid first frame, a frame longer than any datagram can carry, then the rest of a real day.
    system_event = whole[:14]
    damaged = tmp_path / "oversized.itch"
    damaged.write_bytes(system_event + struct.pack("!H", 2000) + b"\x41" * 2000 + whole[14:])
    result = run("replay", damaged)
    assert result.returncode == 0, result.stderr
    assert "oversized_messages 1" in result.stdout
    assert "truncated: the file ends inside the frame" in result.stdout


def test_detection_says_what_it_found(tmp_path):
    day = tmp_path / "day.itch.gz"
    assert run("gen", "--messages", 2000, "--symbols", 3, "--out", day).returncode == 0
    assert "(gzip-compressed day file)" in run("replay", day).stdout


def test_an_order_store_too_small_for_the_day_is_counted_and_sized_by_flag(tmp_path):
    day = tmp_path / "day.itch"
    assert run("gen", "--messages", 20000, "--symbols", 10, "--out", day).returncode == 0
    roomy = run("replay", day)
    assert roomy.returncode == 0, roomy.stderr
    assert "reference_pages_exhausted 0" in roomy.stdout
    assert "of 65536 pages" in roomy.stdout
    cramped = run("replay", day, "--max-order-pages", 1)
    assert cramped.returncode == 0, cramped.stderr
    exhausted = int(cramped.stdout.split("reference_pages_exhausted ")[1].split()[0].rstrip(",").replace(",", ""))
    assert exhausted > 0, cramped.stdout
    assert "order store peak 1 of 1 pages" in cramped.stdout
    refused = run("replay", day, "--max-order-pages", 0)
    assert refused.returncode == 64, refused.stderr
    assert "books.max_order_pages" in refused.stderr
