"""Network namespaces for multi-host tests and benchmarks on one machine: one namespace per role,
joined by a bridge (multicast snooping off, so it floods multicast) in a hub namespace, each on
198.18.0.0/24 with no route out. Used by Tests/interop/test_multi_gateway.py and
bench/multi_gateway.py. Everything made is deleted on exit."""

import contextlib
import os
import shutil
import subprocess


class Unavailable(Exception):
    """Namespaces cannot be made here (not root, no iproute2, or the kernel refuses)."""


def ip(*args):
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextlib.contextmanager
def namespaces(roles, tag=None):
    """`roles` maps a role to its address in 198.18.0.0/24; yields role → namespace name."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise Unavailable("network namespaces need root and iproute2 (ip netns)")
    for address in roles.values():
        if not address.startswith("198.18.0."):
            raise ValueError(f"{address}: only 198.18.0.0/24 is used inside the namespaces")
    tag = tag or f"qc{os.getpid() % 100000}"
    hub = f"{tag}-hub"
    names = {role: f"{tag}-{role}" for role in roles}
    made = []
    try:
        try:
            for namespace in [hub, *names.values()]:
                ip("netns", "add", namespace)
                made.append(namespace)
            ip("-n", hub, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
            ip("-n", hub, "link", "set", "br0", "up")
            for index, (role, address) in enumerate(roles.items()):
                port = f"p{index}"
                ip("-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", names[role])
                ip("-n", hub, "link", "set", port, "master", "br0", "up")
                ip("-n", names[role], "link", "set", "lo", "up")
                ip("-n", names[role], "addr", "add", f"{address}/24", "dev", "eth0")
                ip("-n", names[role], "link", "set", "eth0", "up")
                ip("-n", names[role], "route", "add", "224.0.0.0/4", "dev", "eth0")
        except subprocess.CalledProcessError as error:
            raise Unavailable(f"cannot build network namespaces here: {error.stderr.strip()}") from error
        yield names
    finally:
        for namespace in made:
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True)


def inside(namespace, *command):
    """A command line that runs in `namespace`."""
    return ["ip", "netns", "exec", namespace, *map(str, command)]
