"""A Python reader's book: applying one LevelUpdate, as every Python reader in these tests does."""


def apply_level(books, level, depth, strict=False):
    """Applies `level` to books[locate] = (bids, asks), each a list of (price, shares, orders), best first.
    With `strict`, also checks what a correct feed guarantees: the index is within the depth, a New lands at most
    one past the end, and a Change never moves a level's price."""
    side = books.setdefault(level.Locate(), ([], []))[level.Side()]
    entry = (level.Price(), level.Shares(), level.Orders())
    index, action = level.LevelIndex(), level.Action()
    if strict:
        assert index < depth
    if action == 0:
        if strict:
            assert index <= len(side)
        side.insert(index, entry)
        del side[depth:]
    elif action == 1:
        if strict:
            assert side[index][0] == entry[0], "a Change never moves a level's price"
        side[index] = entry
    else:
        del side[index]
