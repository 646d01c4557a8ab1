"""A property test of `serve --config`: random YAML and random values never trap. Each config is checked with
`--print-config`, which loads and validates it exactly as `serve` does but starts nothing. Every refusal exits 2
and names a key (or says the YAML itself is bad)."""

import os
import pathlib
import random
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
KEY = re.compile(r"^  (top level|(feed|channels|snapshot|books|ingest|threading|operations|websocket|faults|colour)(\.[a-z_]+)?|yaml): ",
                 re.MULTILINE)
CASES = int(os.environ.get("QC_CONFIG_CASES", "160"))


def check(path):
    return subprocess.run([QUOTECAST, "serve", "--config", str(path), "--print-config"],
                          capture_output=True, text=True, timeout=60)


def default_keys():
    printed = subprocess.run([QUOTECAST, "serve", "--print-config"], capture_output=True, text=True,
                             check=True).stdout
    keys, section = [], None
    for line in printed.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            section = line[:-1]
        elif line.startswith("  ") and not line.strip().startswith("#"):
            keys.append((section, line.strip().split(":")[0]))
    return keys


def junk_value(rng):
    return rng.choice([
        "-1", "0", "1", "2", "65536", "4294967296", str(2 ** 70), "-9223372036854775809", "1e308", "-0.5", "nan",
        ".inf", "true", "false", "null", "~", "''", '""', "[]", "{}", "[1, 2, 3]", "{a: 1}", "[[[[[]]]]]",
        '"239.255.10.1:99999"', '"999.1.1.1:1"', '"127.0.0.1"', '"127.0.0.1:0"', '"lo"', '"::1:80"', "é", '"\\u0000"',
        '"' + "x" * rng.randint(1, 3000) + '"', str(rng.randint(-10 ** 6, 10 ** 6)), str(rng.random() * 1e9),
        '"' + "".join(chr(rng.randint(32, 126)) for _ in range(rng.randint(0, 40))).replace('"', "'")
        .replace("\\", "/") + '"',
    ])


def random_config(rng, keys):
    kind = rng.random()
    if kind < 0.6:  # one to three known keys with junk values
        chosen = rng.sample(keys, rng.randint(1, 3))
        sections = {}
        for section, key in chosen:
            sections.setdefault(section, []).append(f"  {key}: {junk_value(rng)}")
        return "".join(f"{section}:\n" + "\n".join(lines) + "\n" for section, lines in sections.items()), None
    if kind < 0.75:  # an unknown key in a known section, or an unknown section
        section = rng.choice([s for s, _ in keys] + ["colour"])
        key = rng.choice(["colour", "count_", "cpus", "x"])
        return f"{section}:\n  {key}: 1\n", section if section == "colour" else f"{section}.{key}"
    if kind < 0.9:  # structure that is not a mapping of mappings
        return rng.choice(["[1, 2]", "42", "feed: 7", "feed: [a, b]", "channels:\n  - 1\n", "? [a]\n: b",
                           "feed:\n  inputs: {a: b}", "&a [*a]", "!!binary AAAA", "feed: *nope"]), None
    # random bytes
    return "".join(chr(rng.choice([rng.randint(0, 127), rng.randint(0x80, 0x2FF)])) for _ in range(rng.randint(0, 200))), None


def test_random_configs_never_trap(tmp_path):
    rng = random.Random(int(os.environ.get("QC_CONFIG_SEED", "2026")))
    keys = default_keys()
    assert len(keys) > 30
    refused = accepted = 0
    for case in range(CASES):
        text, must_name = random_config(rng, keys)
        path = tmp_path / f"config-{case}.yaml"
        path.write_text(text, errors="surrogatepass")
        result = check(path)
        where = f"case {case}:\n{text[:400]}\n-> exit {result.returncode}: {result.stderr[-400:]}"
        assert result.returncode in (0, 2), where  # never a signal, never another failure
        assert "Fatal error" not in result.stderr, where
        if result.returncode == 2:
            refused += 1
            # Every problem line names its key, "top level", or the YAML itself.
            assert KEY.search(result.stderr), where
            if must_name:
                assert f"  {must_name}: unknown key" in result.stderr, where
        else:
            assert not must_name, where
            accepted += 1
    # The generator mostly produces bad configs; a run where nothing was refused tested nothing.
    assert refused > CASES // 2, (refused, accepted)
