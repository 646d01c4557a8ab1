#!/usr/bin/env python3
"""Ingest capacity: the highest sustained rate (messages/s) the live gateway takes with zero loss
over a fixed window, over loopback, at a given number of ITCH messages per MoldUDP64 packet (20 by
default; 1 or 2 is what a real feed sends outside bursts), channel count and threading layout.

The gateway (`quotecast serve`, release build) busy-polls on core 0 (in dedicated mode its threads
share both cores); `quotecast replay --to` sends at a fixed open-loop rate, pinned to core 1 with
taskset. A plain multicast receiver (this script, a second process) joins every channel group, so
the gateway's sends pay for real loopback delivery, and checks each channel's sequence numbers.
Zero loss means: every message sent decoded, no sequence gap, no send dropped, the feed never stale
(the gateway's own /metrics). What the receiver lost itself is reported beside it.
Rates are searched upward, then bisected. Every run is bounded in count and time."""

import argparse
import datetime
import json
import multiprocessing
import os
import pathlib
import platform
import socket
import struct
import subprocess
import sys
import time

import benchlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FEED_PORT, HTTP_PORT = 36400, 36403


def metrics():
    return benchlib.metrics(HTTP_PORT)


GROUP_BASE, GROUP_PORT = "239.255.66.1", 36401


SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def receive(channels, seconds, reading, joined, drain, results):
    """Joins every channel group on loopback and counts packets and sequence holes per channel.

    `reading` (the default) reads as packets arrive, into a bounded 64 MiB queue per group, at nice 19 beside the
    replayer: like any live subscriber, the kernel reuses the packets' memory once read, and what this process
    cannot keep up with is dropped at its own socket (reported as receiver holes, after the gateway has paid for
    the delivery). Otherwise (`--receiver queue`, the earlier method) nothing is read until the feed has ended,
    into a 1 GiB queue: every packet then lands in memory the kernel has never used, and on this VM the gateway's
    sends pay for those first touches (perf: _copy_from_iter and allocate_slab, 45% of the gateway's core)."""
    os.sched_setaffinity(0, {1})  # beside the replayer: core 0 is the gateway's
    if reading:
        os.nice(19)
    base = struct.unpack("!I", socket.inet_aton(GROUP_BASE))[0]
    sockets = []
    for channel in range(channels):
        # A socket per group, bound to the group: each gets its own queue.
        group = socket.inet_ntoa(struct.pack("!I", base + channel))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, (64 << 20) if reading else (1 << 30))
        except PermissionError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
        sock.bind((group, GROUP_PORT))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
        sock.setblocking(False)
        sockets.append(sock)
    joined.set()
    if not reading:
        drain.wait(seconds)
    next_sequence, packets, holes = {}, 0, 0
    buffer = bytearray(65536)
    deadline = time.monotonic() + seconds
    quiet_since = time.monotonic()
    while time.monotonic() < deadline and not (drain.is_set() and time.monotonic() - quiet_since > 1.0):
        length = 0
        for sock in sockets:
            try:
                length = sock.recv_into(buffer)
                break
            except BlockingIOError:
                continue
        if length == 0:
            time.sleep(0.0005)
            continue
        quiet_since = time.monotonic()
        # FlatBuffers Packet: channel (field 0) and sequence (field 1), read through the vtable by hand.
        view = memoryview(buffer)[:length]
        root = struct.unpack_from("<I", view, 0)[0]
        vtable = root - struct.unpack_from("<i", view, root)[0]
        vtable_length = struct.unpack_from("<H", view, vtable)[0]
        def field(index, fmt, default=0):
            slot = 4 + 2 * index
            if slot >= vtable_length:
                return default
            offset = struct.unpack_from("<H", view, vtable + slot)[0]
            return struct.unpack_from(fmt, view, root + offset)[0] if offset else default
        channel, sequence = field(0, "<H"), field(1, "<Q")
        packets += 1
        expected = next_sequence.get(channel)
        if expected is not None and sequence > expected:
            holes += sequence - expected
        if expected is None or sequence >= expected:
            next_sequence[channel] = sequence + 1
    results.put({"received_packets": packets, "receiver_holes": holes})


def udp_receive_errors():
    for line in open("/proc/net/snmp"):
        if line.startswith("Udp:") and "RcvbufErrors" not in line:
            return int(line.split()[5])
    return 0


def run_once(args, day, rate, work):
    seconds = args.seconds
    # Single mode owns core 0; dedicated mode's threads are left to the scheduler (they outnumber the cores here).
    placement = f"book_shards: {args.shards}" if args.mode == "dedicated" else "cpu: 0"
    config = work / "capacity.yaml"
    config.write_text(f"""
feed:
  inputs: ["127.0.0.1:{FEED_PORT}"]
  receive_buffer_bytes: 33554432
channels:
  count: {args.channels}
  group_base: "{GROUP_BASE}:{GROUP_PORT}"
  send_method: {args.send_method}
snapshot:
  group: "239.255.67.1:36402"
threading:
  mode: {args.mode}
  {placement}
  idle: {args.idle}
ingest:
  buffer_count: 8192
  max_batch_datagrams: {args.max_batch_datagrams}
operations:
  stats_interval_ms: 0
  http: "127.0.0.1:{HTTP_PORT}"
""")
    results = multiprocessing.Queue()
    joined, drain = multiprocessing.Event(), multiprocessing.Event()
    receiver = multiprocessing.Process(target=receive, args=(args.channels, seconds + 60, args.receiver == "read", joined, drain, results))
    receiver.start()
    joined.wait(10)
    receive_errors_before = udp_receive_errors()
    gateway = subprocess.Popen([args.quotecast, "serve", "--config", str(config), "--duration", str(seconds + 30)],
                               stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.7)
        assert gateway.poll() is None, gateway.stderr.read()
        sent = subprocess.run(["taskset", "-c", "1", args.quotecast, "replay", str(day), "--to",
                               f"127.0.0.1:{FEED_PORT}", "--rate", str(rate), "--loop", "--duration", str(seconds),
                               "--messages-per-packet", str(args.messages_per_packet)],
                              capture_output=True, text=True, timeout=seconds + 60)
        assert sent.returncode == 0, sent.stderr
        # "sent       N MoldUDP64 packets, M messages to ..."
        sent_datagrams = int(sent.stdout.split(" MoldUDP64 packets, ")[0].split()[-1].replace(",", ""))
        sent_messages = int(sent.stdout.split(" MoldUDP64 packets, ")[1].split(" messages")[0].replace(",", ""))
        time.sleep(0.5)
        values = metrics()
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        drain.set()
    try:
        heard = results.get(timeout=120)
    except Exception:
        heard = {"received_packets": 0, "receiver_holes": -1}
    receiver.join(timeout=30)
    received = int(values["quotecast_messages_total"])
    gaps = int(values["quotecast_gaps_total"])
    drops = int(values["quotecast_send_drops_total"])
    stale = int(values["quotecast_feed_stale"]) + int(values["quotecast_lost_messages_total"])
    batches = max(1, values["quotecast_batches_total"])
    return {"rate": rate, "received": received, "gaps": gaps, "gap_messages": int(values["quotecast_gap_messages_total"]),
            "enobufs": int(values["quotecast_ingest_enobufs_total"]), "send_drops": drops, "stale": stale,
            "stalls": int(values["quotecast_duty_cycle_stalls_total"]),
            "longest_cycle_us": values["quotecast_longest_duty_cycle_nanoseconds"] / 1000,
            "packets_out": int(values["quotecast_packets_out_total"]),
            "datagrams_per_batch": values["quotecast_batched_datagrams_total"] / batches,
            "largest_batch": int(values["quotecast_largest_batch_datagrams"]),
            "achieved": sent_messages / seconds, "achieved_datagrams": sent_datagrams / seconds,
            "zero_loss": gaps == 0 and received == sent_messages and drops == 0 and stale == 0,
            "sent_messages": sent_messages, "sent_datagrams": sent_datagrams,
            "receiver_packets": heard["received_packets"], "receiver_holes": heard["receiver_holes"],
            "udp_receive_buffer_errors": udp_receive_errors() - receive_errors_before}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quotecast", default=str(ROOT / ".build" / "release" / "quotecast"))
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--start", type=float, default=500_000, help="first rate tried (messages/s)")
    parser.add_argument("--max", type=float, default=8_000_000)
    parser.add_argument("--messages-per-packet", type=int, default=20)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--mode", choices=["single", "dedicated"], default="single")
    parser.add_argument("--shards", type=int, default=1, help="book shards in dedicated mode")
    parser.add_argument("--idle", choices=["busy", "yield", "block"], default="busy", help="threading.idle")
    parser.add_argument("--max-batch-datagrams", type=int, default=32, help="ingest.max_batch_datagrams (1: off)")
    parser.add_argument("--send-method", choices=["sendmmsg", "io_uring", "gso"], default="sendmmsg",
                        help="channels.send_method")
    parser.add_argument("--receiver", choices=["read", "queue"], default="read",
                        help="read: the receiver reads as packets arrive (bounded queue); queue: reads after the run")
    parser.add_argument("--bisect", type=int, default=3, help="bisection steps after the first loss")
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
        result = run_once(args, day, rate, work)
        runs.append(result)
        print(json.dumps(result), file=sys.stderr)
        if not result["zero_loss"]:
            bad = min(rate, result["achieved"])
            break
        if result["achieved"] < rate * 0.97:
            print(f"the replayer reached only {result['achieved']:,.0f} msg/s: stopping the search", file=sys.stderr)
            good = result["achieved"]
            break
        good = rate
        rate *= 2
    for _ in range(args.bisect):  # then bisect
        if good is None or bad is None:
            break
        rate = (good + bad) / 2
        result = run_once(args, day, rate, work)
        runs.append(result)
        print(json.dumps(result), file=sys.stderr)
        if result["zero_loss"]:
            good = rate
        else:
            bad = rate
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    layout = f"{args.mode}" + (f", {args.shards} book shard(s)" if args.mode == "dedicated" else "") + f", idle {args.idle}"
    summary = {"date": datetime.date.today().isoformat(), "machine": {"cpu": cpu, "cores": os.cpu_count(),
               "kernel": platform.release()}, "seconds": args.seconds,
               "messages_per_packet": args.messages_per_packet, "channels": args.channels, "layout": layout,
               "max_batch_datagrams": args.max_batch_datagrams, "send_method": args.send_method,
               "receiver": args.receiver, "highest_zero_loss_rate": good, "first_lossy_rate": bad, "runs": runs}
    benchlib.write_result(args.out, "ingest-capacity", summary)
    where = (f"{layout}, {args.channels} channel(s), {args.messages_per_packet} message(s) a datagram, "
             f"max_batch_datagrams {args.max_batch_datagrams}, sends by {args.send_method}, receiver {args.receiver}")
    if good is None:
        print(f"{where}: loss already at {bad:,.0f} msg/s")
    else:
        datagrams = good / args.messages_per_packet
        print(f"{where}: highest zero-loss rate over {args.seconds:g} s: {good:,.0f} msg/s ({datagrams:,.0f} datagrams/s)"
              + (f", first loss at {bad:,.0f} msg/s" if bad else ""))
    print("| target (msg/s) | sent msg/s | sent datagrams/s | received | gaps | send drops | stale | ENOBUFS "
          "| packets out | datagrams/batch | largest batch | longest cycle | receiver holes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['rate']:,.0f} | {r['achieved']:,.0f} | {r['achieved_datagrams']:,.0f} | {r['received']:,} | "
              f"{r['gaps']} | {r['send_drops']} | {r['stale']} | {r['enobufs']} | {r['packets_out']:,} | "
              f"{r['datagrams_per_batch']:.2f} | {r['largest_batch']} | {r['longest_cycle_us']:.0f} µs | "
              f"{r['receiver_holes']} |")


if __name__ == "__main__":
    main()
