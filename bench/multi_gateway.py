#!/usr/bin/env python3
"""Two gateways on disjoint halves of 8 channels against one gateway with all 8, in network
namespaces on this machine (bench/netns.py: a bridge, 198.18.0.0/24, no route out): the highest
feed rate each layout takes with zero loss, side by side.

A feed sender (`quotecast replay --to GROUP --interface 198.18.0.1 --rate R`, day file framed at
--messages-per-packet) multicasts a generated day; the gateways (release build, single mode) join
it; a receiver in a fourth namespace joins all 8 channel groups and checks every channel's
sequence. A rate is held when the replayer reached it (within 3%) and every gateway counted no gap, no lost
message, no send drop and no ENOBUFS,
the receiver's count of packets and sequence holes is reported beside it (a Python receiver behind
veth pairs and a bridge drops some under bursts by itself). Rates are searched upward by doubling, then bisected. Every run is bounded in
messages and seconds. All namespaces share this machine's cores, so this measures the mechanism at
rate, not the gain of a second host."""

import argparse
import json
import pathlib
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402
import netns  # noqa: E402

ROLES = {"feed": "198.18.0.1", "a": "198.18.0.2", "b": "198.18.0.3", "sub": "198.18.0.4"}
FEED_GROUP, GROUP_BASE, GROUP_PORT, SNAPSHOT_GROUP = "239.192.1.1:37400", "239.192.2.1", 37401, "239.192.3.1:37402"
CHANNELS = 8
RECEIVER = r'''
import json, select, socket, struct, sys, time
channels, base, port, interface, quiet_s, limit_s = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), float(sys.argv[6])
start = struct.unpack("!I", socket.inet_aton(base))[0]
sockets = {}
for channel in range(channels):
    group = socket.inet_ntoa(struct.pack("!I", start + channel))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, 33, 1 << 28)  # SO_RCVBUFFORCE (root)
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(interface))
    sock.setblocking(False)
    sockets[sock] = channel
print("joined", flush=True)
expected = [1] * channels; holes = [0] * channels; packets = [0] * channels
began = time.monotonic(); last = None
while time.monotonic() - began < limit_s:
    ready, _, _ = select.select(list(sockets), [], [], 0.05)
    if not ready:
        if last is not None and time.monotonic() - last > quiet_s: break
        continue
    for sock in ready:
        channel = sockets[sock]
        while True:
            try: payload = sock.recv(65536)
            except BlockingIOError: break
            last = time.monotonic()
            root = struct.unpack_from("<I", payload, 0)[0]
            vtable = root - struct.unpack_from("<i", payload, root)[0]
            size = struct.unpack_from("<H", payload, vtable)[0]
            field = struct.unpack_from("<H", payload, vtable + 6)[0] if size > 6 else 0
            sequence = struct.unpack_from("<Q", payload, root + field)[0] if field else 0
            updates_field = struct.unpack_from("<H", payload, vtable + 10)[0] if size > 10 else 0
            if not updates_field: continue  # a heartbeat
            packets[channel] += 1
            if sequence != expected[channel]: holes[channel] += 1
            expected[channel] = sequence + 1
print(json.dumps({"packets": packets, "holes": holes}), flush=True)
'''


def gateway_config(address, owned):
    return f"""
feed:
  inputs: ["{FEED_GROUP}"]
  interface: {address}
  receive_buffer_bytes: 67108864
channels:
  count: {CHANNELS}
  owned: {owned}
  group_base: "{GROUP_BASE}:{GROUP_PORT}"
  interface: {address}
snapshot:
  group: "{SNAPSHOT_GROUP}"
operations:
  http: off
  stats_interval_ms: 0
"""


def run(quotecast, names, layout, day, rate, messages, tmp, messages_per_packet):
    """One bounded run: returns (zero_loss, details)."""
    owners = {"split": [("a", '["0-3"]'), ("b", '["4-7"]')], "single": [("a", "all")]}[layout]
    gateways = []
    for role, owned in owners:
        config = tmp / f"{layout}-{role}.yaml"
        config.write_text(gateway_config(ROLES[role], owned))
        counters = tmp / f"{layout}-{role}-counters.json"
        if counters.exists():
            counters.unlink()
        process = subprocess.Popen(
            netns.inside(names[role], quotecast, "serve", "--config", config, "--counters-json", counters),
            stderr=open(tmp / f"{layout}-{role}.log", "a"))
        gateways.append((role, process, counters))
    receiver = subprocess.Popen(
        netns.inside(names["sub"], sys.executable, "-c", RECEIVER, CHANNELS, GROUP_BASE, GROUP_PORT, ROLES["sub"],
                     1.5, messages / rate + 30), stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "joined"
        time.sleep(0.8)
        for role, process, _ in gateways:
            if process.poll() is not None:
                raise SystemExit(f"gateway {role} did not start: " + (tmp / f"{layout}-{role}.log").read_text()[-2000:])
        sent = subprocess.run(
            netns.inside(names["feed"], quotecast, "replay", day, "--to", FEED_GROUP, "--interface", ROLES["feed"],
                         "--rate", rate, "--messages-per-packet", messages_per_packet),
            capture_output=True, text=True, timeout=messages / rate + 60)
        if sent.returncode != 0:
            raise SystemExit("replay failed: " + sent.stderr[-2000:])
        received = json.loads(receiver.stdout.readline())
        # "sent N MoldUDP64 packets, M messages to G in S s (R msg/s)": what the replayer achieved.
        achieved = int(sent.stdout.rsplit("(", 1)[1].split(" msg/s")[0].replace(",", ""))
    finally:
        for _, process, _ in gateways:
            process.send_signal(signal.SIGTERM)
        for _, process, _ in gateways:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        if receiver.poll() is None:
            receiver.kill()
    counters = {role: json.loads(path.read_text()) for role, _, path in gateways}
    problems = []
    for role, values in counters.items():
        for name in ("quotecast_gaps_total", "quotecast_lost_messages_total", "quotecast_send_drops_total",
                     "quotecast_ingest_enobufs_total", "quotecast_feed_stale"):
            if values.get(name, 0):
                problems.append(f"{role}: {name} {values[name]}")
    messages_in = sum(values["quotecast_datagrams_in_total"] for values in counters.values()) / len(counters)
    sent_out = sum(values["quotecast_packets_out_total"] - values["quotecast_heartbeats_total"]
                   for values in counters.values())
    receiver_holes = sum(received["holes"])
    if achieved < rate * 0.97:
        problems.append(f"the replayer reached only {achieved:,} msg/s")
    return not problems, {"rate": rate, "achieved": achieved, "problems": problems, "datagrams_in_per_gateway": messages_in,
                          "packets_sent": sent_out, "packets_received": sum(received["packets"]),
                          "receiver_holes": receiver_holes}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quotecast", default=str(ROOT / ".build" / "release" / "quotecast"))
    parser.add_argument("--seconds", type=float, default=2.0, help="of feed per run, at each rate")
    parser.add_argument("--start-rate", type=int, default=50_000)
    parser.add_argument("--max-rate", type=int, default=3_200_000)
    parser.add_argument("--bisect", type=int, default=3)
    parser.add_argument("--messages-per-packet", type=int, default=2, help="MoldUDP64 framing of the feed")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args()
    if not (0 < args.seconds <= 10 and args.max_rate <= 5_000_000):
        raise SystemExit("seconds up to 10, rates up to 5M msg/s: every run is bounded")
    results = {}
    with tempfile.TemporaryDirectory() as folder, netns.namespaces(ROLES, tag="qcbench") as names:
        tmp = pathlib.Path(folder)
        for layout in ("single", "split"):
            runs, good, bad, steps = [], None, None, 0
            rate = args.start_rate
            while True:
                messages = int(rate * args.seconds)
                day = tmp / f"day-{messages}.itch"
                if not day.exists():
                    subprocess.run([args.quotecast, "gen", "--messages", str(messages), "--symbols", "500",
                                    "--seed", "7", "--out", str(day)], check=True, capture_output=True)
                ok, details = run(args.quotecast, names, layout, day, rate, messages, tmp, args.messages_per_packet)
                runs.append(details | {"zero_loss": ok})
                print(f"{layout:6} {rate:>9,} msg/s (sent {details['achieved']:,}): "
                      f"{'zero loss' if ok else 'NOT HELD: ' + '; '.join(details['problems'])}"
                      f" (receiver: {details['packets_received']:,} of {details['packets_sent']:,} packets,"
                      f" {details['receiver_holes']} holes)", flush=True)
                if ok:
                    good = rate
                else:
                    bad = rate
                if bad is None:
                    if rate * 2 > args.max_rate:
                        break
                    rate *= 2
                    continue
                if good is None or steps >= args.bisect:
                    break
                steps += 1
                rate = (good + bad) // 2
            results[layout] = {"max_zero_loss_rate": good, "runs": runs}
    summary = {"machine": benchlib.machine(),
               "seconds_per_run": args.seconds, "messages_per_packet": args.messages_per_packet, "channels": CHANNELS, "results": results}
    path = benchlib.write_result(args.out, "multi-gateway", summary)
    print(f"zero-loss maximum: one gateway {results['single']['max_zero_loss_rate']}, two gateways "
          f"{results['split']['max_zero_loss_rate']} msg/s; {path}")


if __name__ == "__main__":
    main()
