"""Prediction over a history file larger than memory, in chunks of whole series.

One streaming pass collects the distinct series ids (memory grows with the number of
series, not rows). The sorted ids are then cut into chunks of `chunk_size` series, and
each chunk is read with a range filter `lo <= id <= hi`: Parquet row groups whose id
statistics miss the range are skipped, so a file sorted by id is read about once in
total (an unsorted Parquet file or a CSV is re-scanned per chunk: correct, bounded,
slower). Every chunk is predicted with the forecaster's fixed batch shapes, so nothing
recompiles, and appended to the output.
"""

import contextlib
import dataclasses
import warnings

import polars as pl

from .._progress import progress_bar
from ..forecaster import DataWarning, ExtrapolationWarning
from . import _tables


# What a chunk's ConversionReport counts of the rows it left out.
_LEFT_OUT_COUNTS = ("n_empty_rows_dropped", "n_merged", "n_other_variable_rows")


def predict_file(
    est,
    history,
    output,
    *,
    chunk_size: int | None = None,
    query=None,
    static=None,
    h: int | None = None,
    freq=None,
    level=None,
    quantiles=None,
    progress: bool = False,
) -> int:
    """Forecast every series in the file `history` into the file `output`.

    `query` / `static` are optional files (query rows; one static row per series) read
    chunk by chunk as well; `h`, `freq`, `level`, `quantiles` are as in `predict`.
    `chunk_size` is the number of series held in memory at once (None: all). `output`
    None predicts but writes nothing (the non-first hosts of a multi-host run). Output rows
    come chunk by chunk in ascending id order. Returns the number of rows written.
    """
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    if output is not None:
        _tables.file_format(output, "output")  # fail before any work
    id_col, time_col = est.id_col_, est.time_col_
    hist = _tables.Table(history, "history file", keys=(id_col, time_col), numeric=est.target_cols_)
    hist.require([id_col, time_col], "the history file")
    qry = None
    if query is not None:  # only its id and time are read; other columns are left as they are
        qry = _tables.Table(query, "query file", keys=(id_col, time_col), numeric=())
        qry.require([id_col, time_col], "the query file")
    stat = None
    if static is not None:
        stat = _tables.Table(static, "static file", keys=(id_col,), role="static covariates")
        stat.require([id_col], "the static file")

    if chunk_size is None:
        ranges = [None]
        n_series = None
    else:
        ids = _distinct_ids(hist, id_col, "the history file")
        if qry is not None:
            _check_known(_distinct_ids(qry, id_col, "the query file"), ids, id_col)
        ranges = [
            (ids[k], ids[min(k + chunk_size, len(ids)) - 1]) for k in range(0, len(ids), chunk_size)
        ]
        n_series = len(ids)

    bar = progress_bar(
        total=n_series,
        disable=not progress or chunk_size is None,
        desc="s5ts predict",
        unit="series",
    )
    try:
        with (
            _tables.ChunkWriter(output) if output is not None else _tables.NullWriter() as writer,
            _summed_warnings(),
        ):
            for bounds in ranges:
                part = _collect(hist, id_col, bounds)
                frame = est.predict(
                    part,
                    None if qry is None else _collect(qry, id_col, bounds),
                    static_df=None if stat is None else _collect(stat, id_col, bounds),
                    h=h,
                    freq=freq,
                    level=level,
                    quantiles=quantiles,
                )
                writer.write(frame)
                bar.update(part[id_col].n_unique() if bounds is not None else 0)
            return writer.rows
    finally:
        bar.close()


@contextlib.contextmanager
def _summed_warnings():
    """Each chunk's extrapolation and left-out-rows warnings added up into one of each,
    warned at the end (a file of a thousand chunks would otherwise print a thousand);
    other warnings pass as they come."""
    far: list[ExtrapolationWarning] = []
    left_out: list[DataWarning] = []
    show = warnings.showwarning

    def keep(message, category, *args, **kwargs):
        if isinstance(message, ExtrapolationWarning):
            far.append(message)
        elif isinstance(message, DataWarning) and message.report is not None:
            left_out.append(message)
        else:
            show(message, category, *args, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("always", ExtrapolationWarning)
        warnings.simplefilter("always", DataWarning)
        warnings.showwarning = keep
        yield
    if left_out:
        reports = [w.report for w in left_out]
        summed = dataclasses.replace(
            reports[0],
            **{k: sum(getattr(r, k) for r in reports) for k in _LEFT_OUT_COUNTS},
            other_variables=tuple(sorted({v for r in reports for v in r.other_variables})),
        )
        warnings.warn(DataWarning.left_out(summed, "the history file"), stacklevel=3)
    if far:
        count = sum(w.count for w in far)
        furthest = max(w.furthest for w in far)
        warnings.warn(ExtrapolationWarning.of(count, furthest, far[0].horizon), stacklevel=3)


def _collect(table: _tables.Table, id_col: str, bounds) -> pl.DataFrame:
    if bounds is None:
        return table.collect()
    lo, hi = bounds
    return table.collect(table.lf.filter(pl.col(id_col).is_between(pl.lit(lo), pl.lit(hi))))


def _distinct_ids(table: _tables.Table, id_col: str, what: str) -> list:
    query = table.lf.select(pl.col(id_col).unique())
    ids = table.collect(query, engine="streaming")[id_col]
    if ids.null_count():
        raise ValueError(f"{what} has missing values in the id column {id_col!r}")
    if not len(ids):
        raise ValueError(f"{what} has no rows")
    return ids.sort().to_list()


def _check_known(query_ids: list, ids: list, id_col: str) -> None:
    unknown = sorted(set(query_ids) - set(ids))
    if unknown:
        shown = ", ".join(map(repr, unknown[:5])) + (", ..." if len(unknown) > 5 else "")
        raise ValueError(
            f"the query file has {len(unknown)} {id_col} value(s) not in the history file: {shown}"
        )
