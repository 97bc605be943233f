"""Long frame (wide or tidy layout) -> Panel, with validation before anything else runs."""

import re
from collections.abc import Sequence

import numpy as np

from ._columns import (
    as_frame,
    backend_name,
    check_unique_names,
    encode_column,
    read_ids,
    read_numeric,
    read_times,
    require_columns,
)
from ._events import duplicate_error, group_starts, is_sorted, reduce_runs, run_ids, sort_order
from ._messages import fmt_ids, fmt_rows
from ._panel import ConversionReport, Panel
from ._static import read_static


_DUPLICATES = ("raise", "mean", "last")


def to_panel(
    df: object,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_cols: Sequence[str] | None = None,
    variable_col: str | None = None,
    value_col: str = "value",
    duplicates: str = "raise",
    static_df: object | None = None,
) -> tuple[Panel, ConversionReport]:
    """Convert a long pandas/polars frame to a Panel.

    Wide layout: `id_col, time_col, <one column per target>`, null/NaN = not observed.
    Tidy layout (`variable_col` given): `id_col, time_col, variable_col, value_col`,
    pivoted internally. Rows without any observed target are dropped (and counted);
    unsorted rows are sorted. Everything done is in the report.

    **Arguments:**

    - `df`: the long frame: pandas, polars, a pyarrow Table, or another frame narwhals
      supports (a lazy one is collected first).
    - `id_col`: the series id column (default `"unique_id"`).
    - `time_col`: the time column (default `"ds"`): datetimes, dates, durations, integers
      or floats.
    - `target_cols`: the target columns (wide) or variables (tidy). Default `None`: every
      other column (wide), or the sorted unique variables (tidy).
    - `variable_col`: the variable-name column of the tidy layout; `None` (default) for
      the wide layout.
    - `value_col`: the value column of the tidy layout (default `"value"`).
    - `duplicates`: rows (wide) or cells (tidy) sharing an `(id, time)` key: `"raise"`
      (default) names them in a ValueError, `"mean"` averages them, `"last"` keeps the
      last in input order.
    - `static_df`: static covariates, one numeric row per series (rows of other series
      are counted and not used), or `None`.

    **Returns:**

    `(panel, report)`: the `Panel` and its `ConversionReport`.
    """
    _check_args(id_col, time_col, target_cols, variable_col, value_col, duplicates)
    frame = as_frame(df)
    tidy = variable_col is not None
    report = ConversionReport(
        layout="tidy" if tidy else "wide", duplicates=duplicates, n_input_rows=len(frame)
    )
    if len(frame) == 0:
        raise ValueError("df is empty (0 rows); nothing to convert.")
    require_columns(frame, [id_col, time_col])
    raw_ids, id_dtype = read_ids(frame, id_col)
    ids, codes = raw_ids.uniq, raw_ids.codes
    times, kind = read_times(frame, time_col, raw_ids)
    report.was_sorted = is_sorted(codes, times)

    if tidy:
        used = [id_col, time_col, variable_col, value_col]
        require_columns(frame, used)
        targets, cells = _tidy_cells(frame, variable_col, value_col, target_cols, raw_ids, report)
    else:
        if target_cols is None:
            target_cols = [c for c in frame.columns if c not in (id_col, time_col)]
            if not target_cols:
                raise ValueError(
                    f"df has no target columns besides {id_col!r} and {time_col!r}; "
                    f"columns: {list(frame.columns)}."
                )
            _check_no_row_index(target_cols)
        used = [id_col, time_col, *target_cols]
        require_columns(frame, used)
        targets = tuple(target_cols)
        dense, rows = _wide_rows(frame, targets, raw_ids, report)
    report.ignored_columns = tuple(c for c in frame.columns if c not in used)

    events = None if tidy else _wide_without_duplicates(codes, times, dense, rows)
    if events is None:
        cells = cells if tidy else _cells_of(dense, rows)
        events = _assemble(
            codes, times, *cells, targets, raw_ids, kind, time_col, duplicates, report
        )
    ev_codes, ev_times, values = events
    _check_all_series_observed(ids, codes, ev_codes, id_col)
    counts = np.bincount(ev_codes, minlength=len(ids))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    static, static_cols = None, ()
    if static_df is not None:
        static, static_cols, report.n_static_rows_unused = read_static(static_df, id_col, ids)
    report.n_series, report.n_events = len(ids), len(ev_times)
    report.n_observations = int((~np.isnan(values)).sum())
    report.observations_per_target = {
        c: int(n) for c, n in zip(targets, (~np.isnan(values)).sum(0), strict=True)
    }
    report.static_cols = static_cols
    panel = Panel(
        ids=ids,
        indptr=indptr,
        times=ev_times,
        values=values,
        target_cols=tuple(str(t) for t in targets),
        time_kind=kind,
        static=static,
        static_cols=static_cols,
        id_col=id_col,
        time_col=time_col,
        id_dtype=id_dtype,
        backend=backend_name(frame),
    )
    return panel, report


def _check_args(id_col, time_col, target_cols, variable_col, value_col, duplicates) -> None:
    if duplicates not in _DUPLICATES:
        raise ValueError(f"duplicates must be one of {_DUPLICATES}, got {duplicates!r}")
    for name, col in [("id_col", id_col), ("time_col", time_col), ("value_col", value_col)]:
        if not isinstance(col, str):
            raise TypeError(f"{name} must be a column name (str), got {col!r}")
    if variable_col is not None and not isinstance(variable_col, str):
        raise TypeError(f"variable_col must be a column name (str) or None, got {variable_col!r}")
    if id_col == time_col:
        raise ValueError(f"id_col and time_col must differ, both are {id_col!r}")
    if target_cols is None:
        return
    if isinstance(target_cols, str) or not all(isinstance(c, str) for c in target_cols):
        raise TypeError(f"target_cols must be a list of column names, got {target_cols!r}")
    if len(target_cols) == 0:
        raise ValueError("target_cols is empty; pass at least one target, or None for all")
    clash = [c for c in target_cols if c in (id_col, time_col)]
    if clash:
        raise ValueError(f"target_cols {clash} clash with id_col/time_col")
    check_unique_names(target_cols, "target_cols")


# How pandas names its row index when it writes it with the data: `to_csv` leaves the
# header empty (read back as "" or "Unnamed: 0"), `to_parquet` names it `__index_level_0__`.
_ROW_INDEX = re.compile(r"|Unnamed: \d+|__index_level_\d+__")


def _check_no_row_index(inferred: Sequence[str]) -> None:
    """Refuse to take a written-out row index for a target: it would be trained on and
    forecast as if it were a measurement."""
    index = [c for c in inferred if _ROW_INDEX.fullmatch(str(c))]
    if index:
        raise ValueError(
            f"df has column(s) {index}, a row index that pandas wrote with the data "
            "(to_csv / to_parquet keep it unless index=False), not a target; drop it, "
            "or name the targets with target_cols=[...]"
        )


def _wide_rows(frame, targets, raw_ids, report):
    """(n, C) values of a wide frame and the rows with at least one observation."""
    values = read_numeric(frame, list(targets), raw_ids)
    empty = np.isnan(values).all(axis=1)
    report.n_empty_rows_dropped = int(empty.sum())
    return values, np.flatnonzero(~empty)


def _wide_without_duplicates(codes, times, values, rows):
    """The common case, sorted rows with unique keys, without going through cells (or None)."""
    order = rows[sort_order(codes[rows], times[rows])]
    c, t = codes[order], times[order]
    if np.any((c[1:] == c[:-1]) & (t[1:] == t[:-1])):
        return None
    if len(order) == len(values) and np.array_equal(order, np.arange(len(values))):
        return c, t, values  # already sorted, nothing dropped: no copy
    if np.all(order[1:] > order[:-1]):
        return c, t, _compact(values, order)
    return c, t, values[order]


def _compact(values: np.ndarray, order: np.ndarray, rows: int = 1 << 16) -> np.ndarray:
    """`values[order]` for increasing `order`, in place, a block of rows at a time: row i
    comes from row order[i] >= i, which no earlier block has overwritten. Dropping a
    sorted frame's empty rows then costs no copy of its values."""
    for a in range(0, len(order), rows):
        block = order[a : a + rows]
        values[a : a + len(block)] = values[block]
    return values[: len(order)]


def _cells_of(values: np.ndarray, rows: np.ndarray):
    """Observed cells: ((rows, cell rows, cell variable), cell values)."""
    sub = values[rows]
    r, v = np.nonzero(~np.isnan(sub))
    # full row list kept (even with NaN cells) so duplicate rows are detected row-wise
    return (rows, rows[r], v), sub[r, v]


def _tidy_cells(frame, variable_col, value_col, target_cols, raw_ids, report):
    series = frame[variable_col]
    null = series.is_null().to_numpy()
    if null.any():
        rows = np.flatnonzero(null)
        raise ValueError(
            f"variable column {variable_col!r} is null in series {fmt_ids(raw_ids[rows])} at "
            f"{fmt_rows(rows)}; fill or drop those rows."
        )
    names, inverse = encode_column(series, variable_col)
    names = np.array([str(x) for x in names.tolist()], dtype=object)  # target names are str
    targets = tuple(target_cols) if target_cols is not None else tuple(names.tolist())
    position = {t: j for j, t in enumerate(targets)}
    var = np.array([position.get(n, -1) for n in names.tolist()], dtype=np.int64)[inverse]
    var = var.reshape(-1)
    value = read_numeric(frame, [value_col], raw_ids, role="value")[:, 0]
    other = var < 0
    null_value = np.isnan(value) & ~other
    report.n_other_variable_rows = int(other.sum())
    report.other_variables = tuple(sorted(set(names[np.unique(inverse[other])].tolist())))
    report.n_null_values = int(null_value.sum())
    keep = np.flatnonzero(~other & ~null_value)
    return targets, ((keep, keep, var[keep]), value[keep])


def _assemble(codes, times, index, cell_vals, targets, raw_ids, kind, time_col, how, report):
    """Sort, detect/fold duplicates, pivot cells into events.

    `index` is (rows holding an observation, (M,) cell rows, (M,) cell variable index).
    Returns (E,) id codes, (E,) raw times and (E, C) float64 values.
    """
    event_rows, cell_rows, cell_var = index
    n_targets = len(targets)
    tidy = report.layout == "tidy"
    # events: one per distinct (id, time) among rows that hold an observation
    order = sort_order(codes[event_rows], times[event_rows])
    sorted_rows = event_rows[order]
    starts = group_starts(codes[sorted_rows], times[sorted_rows])
    event_of_sorted = run_ids(starts, len(sorted_rows))
    event_of_row = np.full(len(codes), -1, dtype=np.int64)
    event_of_row[sorted_rows] = event_of_sorted

    # duplicates: rows (wide) or (row, variable) cells (tidy) landing on the same key
    key = event_of_row[cell_rows] * n_targets + cell_var if tidy else event_of_row[event_rows]
    src = cell_rows if tidy else event_rows
    # src (row position) is increasing, so a stable sort keeps input order within a key
    korder = np.argsort(key, kind="stable")
    ks = key[korder]
    kstarts = group_starts(ks)
    sizes = np.diff(np.append(kstarts, len(ks)))
    dup_sorted = np.repeat(sizes > 1, sizes)
    if dup_sorted.any():
        dup_rows = src[korder][dup_sorted]
        if how == "raise":
            raise duplicate_error(
                raw_ids[dup_rows],
                times[dup_rows],
                dup_rows,
                kind,
                time_col,
                np.asarray(targets, dtype=object)[cell_var[korder][dup_sorted]] if tidy else None,
            )
        report.n_duplicate_rows = int(dup_sorted.sum())
        report.n_merged = int(len(ks) - len(kstarts))

    n_events = len(starts)
    values = np.full((n_events, n_targets), np.nan)
    cell_key = event_of_row[cell_rows] * n_targets + cell_var
    # cell_rows is increasing: within a key, input row order decides which value is 'last'
    corder = korder if tidy else np.argsort(cell_key, kind="stable")
    k, v = reduce_runs(cell_key[corder], cell_vals[corder], how)
    values.reshape(-1)[k] = v
    first = sorted_rows[starts]
    return codes[first], times[first], values


def _check_all_series_observed(ids, codes, ev_codes, id_col) -> None:
    seen = np.zeros(len(ids), dtype=bool)
    seen[ev_codes] = True
    if not seen.all():
        missing = np.flatnonzero(~seen)
        rows = np.flatnonzero(np.isin(codes, missing))
        raise ValueError(
            f"series {fmt_ids(ids[missing])} (column {id_col!r}) have no observed target "
            f"value in df ({fmt_rows(rows)}); drop those rows, or check target_cols."
        )
