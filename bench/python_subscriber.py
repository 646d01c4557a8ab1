#!/usr/bin/env python3
"""A quotecast subscriber in Python: joins channel groups on an interface, decodes updates with the
PyPI `flatbuffers` package and the flatc-generated code in schemas/generated/python, and keeps the
top of book per instrument. Prints one line per top-of-book change.

    .venv/bin/python bench/python_subscriber.py --channels 1 --duration 10
"""

import argparse
import pathlib
import select
import socket
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "schemas" / "generated" / "python"))

from quotecast.feed.Packet import Packet  # noqa: E402


def join(group, port, interface):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    try:  # beyond net.core.rmem_max when permitted (root), so bursts are not dropped
        sock.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUFFORCE", 33), 8 << 20)
    except OSError:
        pass
    sock.bind((group, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(group) + socket.inet_aton(interface))
    return sock


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--group-base", default="239.255.10.1:31001", help="the gateway's channels.group_base")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--depth", type=int, default=10, help="the gateway's channels.depth")
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--duration", type=float, default=10.0, help="stop after this many seconds")
    parser.add_argument("--quiet-exit", type=float, default=0.0,
                        help="also stop after this many seconds without data packets, once some arrived (0 = never)")
    args = parser.parse_args()
    address, port = args.group_base.rsplit(":", 1)
    first = list(map(int, address.split(".")))
    groups = [".".join(map(str, first[:3] + [first[3] + n])) for n in range(args.channels)]
    sockets = [join(group, int(port), args.interface) for group in groups]

    books, symbols, expected, first = {}, {}, {}, {}
    packets = updates = gaps = 0
    deadline = time.monotonic() + args.duration
    last_data = None
    while time.monotonic() < deadline:
        if args.quiet_exit and last_data is not None and time.monotonic() - last_data > args.quiet_exit:
            break
        ready, _, _ = select.select(sockets, [], [], 0.1)
        for sock in ready:
            packet = Packet.GetRootAs(sock.recv(65536), 0)
            packets += 1
            channel, sequence = packet.Channel(), packet.Sequence()
            if packet.UpdatesLength() == 0:
                # A heartbeat carries the last sequence sent: it reveals a loss at the end of a burst.
                if sequence >= expected.get(channel, 1):
                    gaps += sequence - expected.get(channel, 1) + 1
                    expected[channel] = sequence + 1
                continue
            last_data = time.monotonic()
            first.setdefault(channel, sequence)
            if sequence > expected.get(channel, sequence):
                gaps += sequence - expected[channel]
            expected[channel] = sequence + 1
            for i in range(packet.UpdatesLength()):
                update = packet.Updates(i)
                updates += 1
                definition = update.Definition()
                if definition is not None:
                    symbols[definition.Locate()] = definition.Symbol().decode()
                level = update.Level()
                if level is None:
                    continue
                # Keep each side as published (the levels within the gateway's depth): the top
                # after a delete at 0 is whatever shifted up, so the side is needed, not just 0.
                sides = books.setdefault(level.Locate(), ([], []))
                side, index = sides[level.Side()], level.LevelIndex()
                before = (sides[0][:1], sides[1][:1])
                entry = (level.Price() / 1e4, level.Shares())
                if level.Action() == 0:
                    side.insert(index, entry)
                    del side[args.depth:]  # a New pushes the worst level out of the published depth
                elif level.Action() == 1 and index < len(side):
                    side[index] = entry
                elif level.Action() == 2 and index < len(side):
                    del side[index]
                if (sides[0][:1], sides[1][:1]) != before:
                    bid = sides[0][0] if sides[0] else None
                    ask = sides[1][0] if sides[1] else None
                    print(f"{symbols.get(level.Locate(), level.Locate())} "
                          f"bid {bid[1] if bid else '-'} @ {bid[0] if bid else '-'}  "
                          f"ask {ask[1] if ask else '-'} @ {ask[0] if ask else '-'}", flush=True)
    # A first sequence above 1 means this subscriber joined late: without snapshots its books are partial.
    print(f"packets {packets} updates {updates} gaps {gaps} instruments {len(books)} "
          f"first sequences {dict(sorted(first.items()))}", file=sys.stderr)


if __name__ == "__main__":
    main()
