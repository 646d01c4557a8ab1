"""An independent reference: the PyPI package itch-book (a C++ ITCH 5.0 book builder) must end
the day with exactly our books, level for level, on generated days."""

import datetime
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import itch_book

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUOTECAST = os.environ.get("QUOTECAST_BIN", str(ROOT / ".build" / "debug" / "quotecast"))
DEPTH = 10


def run(*args):
    result = subprocess.run([QUOTECAST, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def itch_book_final_books(path):
    """{locate: (bids, asks)} from the last depth row itch-book emitted for each locate."""
    feed = itch_book.Feed(str(path), date=datetime.date(2026, 1, 2), price_type="fixed")
    batches = [batch.depth for batch in feed.batches(tables=("depth",), depth=DEPTH)]
    columns = {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}
    last_row = {}
    for row, locate in enumerate(columns["locate"]):
        last_row[int(locate)] = row
    books = {}
    for locate, row in last_row.items():
        sides = []
        for side in ("bid", "ask"):
            levels = []
            for level in range(DEPTH):
                shares = int(columns[f"{side}_sz_{level:02d}"][row])
                orders = int(columns[f"{side}_ct_{level:02d}"][row])
                if shares == 0 and orders == 0:
                    break
                levels.append((int(columns[f"{side}_px_{level:02d}"][row]), shares, orders))
            sides.append(levels)
        books[locate] = tuple(sides)
    return books


@pytest.mark.parametrize("seed,messages,symbols", [(8, 200_000, 40), (21, 300_000, 120)])
def test_final_books_match_itch_book(tmp_path, seed, messages, symbols):
    day = tmp_path / "day.itch"
    run("gen", "--messages", messages, "--symbols", symbols, "--seed", seed, "--out", day)
    books_json = tmp_path / "books.json"
    run("replay", day, "--depth", DEPTH, "--books-json", books_json, "--quiet")
    ours = {}
    for book in json.loads(books_json.read_text())["books"]:
        ours[book["locate"]] = tuple(
            [(int(round(level["price"] * 10000)), level["shares"], level["orders"]) for level in book[side]]
            for side in ("bids", "asks"))
    theirs = itch_book_final_books(day)
    assert len(theirs) >= symbols * 0.9
    compared = 0
    for locate, sides in theirs.items():
        assert ours.get(locate, ([], [])) == sides, f"locate {locate}"
        compared += len(sides[0]) + len(sides[1])
    assert compared > symbols * 5
