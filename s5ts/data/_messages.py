"""Formatting of the culprits (rows, ids, values) that error messages and reports name."""

from collections.abc import Iterable

import numpy as np


_SHOW = 5  # name this many culprits, then say how many more there are


def fmt_list(items: Iterable[object], limit: int = _SHOW) -> str:
    """`[a, b, c] (and 7 more)`: short enough for one error line, exact enough to act on."""
    items = list(items)
    head = ", ".join(repr(_plain(x)) for x in items[:limit])
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return f"[{head}]{more}"


def fmt_rows(rows: np.ndarray | Iterable[int], limit: int = _SHOW) -> str:
    """Row positions (0-based, in the frame the user passed)."""
    rows = np.unique(np.asarray(list(rows) if not isinstance(rows, np.ndarray) else rows))
    return "rows " + fmt_list(rows.tolist(), limit)


def fmt_ids(ids: np.ndarray | Iterable[object], limit: int = _SHOW) -> str:
    """Distinct series ids, in first-seen order, for an error message.

    **Arguments:**

    - `ids`: the ids (repeats allowed); numpy scalars print as plain values.
    - `limit`: how many to name (default 5).

    **Returns:**

    A string like `['a', 'b', 'c', 'd', 'e'] (and 2 more)`.
    """
    seen: dict[object, None] = {}
    for x in ids:
        seen.setdefault(_plain(x), None)
    return fmt_list(list(seen), limit)


def _plain(x: object) -> object:
    # numpy scalars print as `np.int64(3)` under numpy 2; users wrote `3`
    return x.item() if isinstance(x, np.generic) else x


def fmt_span(span: "np.timedelta64 | float") -> str:
    """A span in the data's units as a user reads it.

    **Arguments:**

    - `span`: a `numpy.timedelta64` or a number in the data's time unit.

    **Returns:**

    Hours for a timedelta (`"36 h"`), else the number (`"2.5"`).
    """
    if isinstance(span, np.timedelta64):
        return f"{span / np.timedelta64(1, 'h'):.4g} h"
    return f"{span:.4g}"
