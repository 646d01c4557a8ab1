"""What the bench scripts share: a gateway's counters from /metrics, the machine, and the results file."""

import datetime
import json
import os
import pathlib
import platform
import urllib.request


def metrics(http_port):
    """The unlabelled counters and gauges of the gateway serving /metrics on 127.0.0.1:`http_port`."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def machine():
    return {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "kernel": platform.release()}


def write_result(out, prefix, summary):
    """Writes `summary` as bench/results-style JSON, `prefix`-YYYYmmdd-HHMMSS.json in `out`; returns the path."""
    folder = pathlib.Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{prefix}-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
