"""Sorting rows into (id, time) events and folding duplicates, on plain numpy arrays."""

import numpy as np

from ._messages import fmt_ids, fmt_list, fmt_rows
from ._timekind import TimeKind, raw_to_numpy


def is_sorted(codes: np.ndarray, times: np.ndarray) -> bool:
    """Whether rows are already ordered by (id code, time)."""
    if len(codes) < 2:
        return True
    # tied times (duplicates) still count as sorted
    same = codes[1:] == codes[:-1]
    return bool(np.all((codes[1:] > codes[:-1]) | (same & (times[1:] >= times[:-1]))))


def sort_order(codes: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Stable (id, time) order, so duplicates keep their input order (needed by 'last')."""
    # two stable sorts beat lexsort: the int codes radix-sort, sorted times timsort in O(n)
    order = np.argsort(times, kind="stable")
    return order[np.argsort(codes[order], kind="stable")]


def group_starts(*keys: np.ndarray) -> np.ndarray:
    """Start positions of runs of equal keys in sorted arrays; (G,) int64."""
    n = len(keys[0])
    new = np.ones(n, dtype=bool)
    new[1:] = False
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(new)


def run_ids(starts: np.ndarray, n: int) -> np.ndarray:
    """(n,) index of the run each sorted position belongs to."""
    out = np.zeros(n, dtype=np.int64)
    if len(starts) > 1:
        out[starts[1:]] = 1
    return np.cumsum(out)


def reduce_runs(group: np.ndarray, vals: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Fold runs of equal `group` (non-decreasing) into one value each.

    `how="last"` keeps the last value of each run (input order), otherwise the mean.
    Returns (G,) group labels and (G,) values.
    """
    if len(group) == 0:
        return group, vals
    starts = group_starts(group)
    if how == "last":
        last = np.append(starts[1:] - 1, len(group) - 1)
        return group[starts], vals[last]
    counts = np.diff(np.append(starts, len(group)))
    return group[starts], np.add.reduceat(vals, starts) / counts


def fmt_times(raw: np.ndarray, kind: TimeKind) -> str:
    """Raw times as the user would recognise them (UTC for tz-aware datetimes)."""
    shown = raw_to_numpy(np.asarray(raw), kind)
    suffix = " (UTC)" if kind.time_zone else ""
    return fmt_list([str(x) for x in np.unique(shown)]) + suffix


def duplicate_error(
    ids: np.ndarray,
    times: np.ndarray,
    rows: np.ndarray,
    kind: TimeKind,
    time_col: str,
    variables: np.ndarray | None = None,
) -> ValueError:
    """The message for duplicate (id, time[, variable]) keys; arrays cover the duplicate rows."""
    key = "(id, time, variable)" if variables is not None else "(id, time)"
    extra = f", variables {fmt_ids(variables)}" if variables is not None else ""
    return ValueError(
        f"{len(rows)} rows share an {key} key with another row: series {fmt_ids(ids)} at "
        f"{time_col} {fmt_times(times, kind)}{extra}, {fmt_rows(rows)}. Pass "
        "duplicates='mean' (average the observed values) or duplicates='last' (keep the last "
        "observed value in input order) to to_panel or S5Forecaster, or drop the duplicates "
        "first."
    )
