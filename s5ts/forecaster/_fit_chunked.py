"""`fit(..., chunk_size=n)`: training data larger than memory, read `n` series at a time
from a polars `LazyFrame` (a Parquet file or folder through `pl.scan_parquet`, ...).

No more than two chunks of series are ever in memory (the first, which sizes the
compiled shapes and the baselines' prior, and the current one), plus the validation
series:

- One pass over every chunk fits what needs all the data: the scaler (each variable's
  count, mean and second moment merged chunk by chunk: exact), the statics'
  normalisation (likewise), the input bounds (quantiles of a uniform sample of at most
  100,000 values per variable: exact when there are no more), each series' span, and
  the training series' times (one float per event, what the batch shapes are sized
  on). The time unit is the first
  chunk's (the median gap of its series).
- Training visits the training chunks in a new random order each round and draws one
  chunk's worth of batches (its series over the batch size) before reading the next.

Chunks are runs of consecutive ids in sorted order, each read with a filter on the id
range, so a Parquet file sorted by id is read about once per pass (an unsorted one is
re-scanned per chunk: correct, slower). Series are held out for validation by id, as an
in-memory fit holds them out by position, but no more than one chunk of them; `val_df`,
if given, is read whole.
"""

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from .._batches import sample_batch
from ..data import ConversionReport, Scaler, TimeScale, read_panel
from ..network import SharedClock
from ._checks import check_observed
from ._fitted import input_bounds, panel_features
from ._training_data import TrainingData, read_val_panel, warn_excluded, without_values


_SAMPLE = 100_000  # values per variable kept to place the input bounds


class _Times(NamedTuple):
    """A training series' times alone: what the batch shapes are sized on."""

    t: np.ndarray


def read_chunked(params, df, static_df, val_df, names: dict, chunk_size):
    """The `TrainingData` of a chunked fit (see the module docstring)."""
    _check(params, chunk_size)
    lf = _lazy(df)
    id_col, time_col = names["id_col"], names["time_col"]
    ids = _sorted_ids(lf, id_col)
    rng = np.random.default_rng(params["random_state"])
    held_out = np.zeros(len(ids), bool)
    if val_df is None and params["val_size"] > 0 and len(ids) >= 5:
        # At most a chunk of them: the validation series stay in memory.
        n_val = min(max(1, int(round(params["val_size"] * len(ids)))), chunk_size)
        held_out[rng.permutation(len(ids))[:n_val]] = True

    def read(chunk_ids: np.ndarray):
        chunk = chunk_ids.tolist()
        rows = pl.col(id_col).is_between(pl.lit(chunk[0]), pl.lit(chunk[-1])) & pl.col(
            id_col
        ).is_in(chunk)
        frame = lf.filter(rows).collect()
        return read_panel(frame, static_df, duplicates=params["duplicates"], **names)

    # One pass over every series (held-out ones too, as an in-memory fit does).
    first, first_report = read(ids[:chunk_size])
    template = without_values(first)
    time_scale = TimeScale().fit(first)
    n_targets = len(first.target_cols)
    values, statics = _Moments(n_targets), _Moments(len(first.static_cols))
    sample = _Reservoir(n_targets, _SAMPLE, np.random.default_rng([params["random_state"], 2]))
    reports, spans, times = [], [], []
    for k in range(0, len(ids), chunk_size):
        panel, report = (first, first_report) if k == 0 else read(ids[k : k + chunk_size])
        if not panel.time_kind.same_as(template.time_kind):
            raise TypeError(
                f"df has {panel.time_kind.describe()} times in some series and "
                f"{template.time_kind.describe()} in others; convert {time_col!r} to one kind"
            )
        if panel.target_cols != template.target_cols:
            raise ValueError(
                f"df's series hold different target columns ({list(panel.target_cols)} vs "
                f"{list(template.target_cols)}); pass target_cols"
            )
        reports.append(report)
        values.add(panel.values)
        if panel.static is not None:
            statics.add(panel.static)
        sample.add(panel.values)
        t = time_scale.elapsed(panel)
        out = held_out[np.searchsorted(ids, panel.ids)]
        for i, (a, b) in enumerate(zip(panel.indptr[:-1], panel.indptr[1:], strict=True)):
            spans.append(t[b - 1])
            if not out[i] and b - a >= 2:
                times.append(_Times(t[a:b]))
        del panel
    first = None  # its values go; `template` keeps the names and kinds
    report = _merged(reports, len(ids))
    count, mean, std, magnitude = values.moments()
    check_observed(template.target_cols, count)
    warn_excluded(report)
    scaler = Scaler.from_moments(count, mean, std, magnitude, template.target_cols)
    bounds = input_bounds(sample.values(), scaler)
    _, static_mean, static_std, _ = statics.moments()
    static_std = np.where(static_std > 0, static_std, 1.0)

    def features(panel):
        s = np.zeros((panel.n_series, 0)) if panel.static is None else panel.static
        return panel_features(panel, time_scale, scaler, (s - static_mean) / static_std, bounds)

    val_series = None
    if val_df is not None:
        duplicates = params["duplicates"]
        val_series = features(read_val_panel(val_df, static_df, template, duplicates, names))
    elif held_out.any():
        val_series = features(read(ids[held_out])[0])
    train_ids = ids[~held_out]
    chunks = [train_ids[k : k + chunk_size] for k in range(0, len(train_ids), chunk_size)]

    def load(chunk_ids) -> list:
        return [f for f in features(read(chunk_ids)[0]) if len(f.t) >= 2]

    def sampler(rng, *, batch_size, **options):
        return _ChunkSampler(chunks, load, rng, batch_size, options)

    return TrainingData(
        panel=template,
        report=report,
        time_scale=time_scale,
        scaler=scaler,
        static_mean=static_mean,
        static_std=static_std,
        bounds=bounds,
        train_feats=load(chunks[0]) if times else [],
        shaped=times,
        spans=np.asarray(spans),
        val_series=val_series,
        rng=rng,
        sampler=sampler,
    )


def _merged(reports: list[ConversionReport], n_series: int) -> ConversionReport:
    """One report for the chunks' reports: counts added, names gathered."""
    first = reports[0]
    counts = {
        f.name: sum(getattr(r, f.name) for r in reports)
        for f in dataclasses.fields(first)
        if f.type in (int, "int") and f.name != "n_static_rows_unused"
    }
    observed = {
        c: sum(r.observations_per_target.get(c, 0) for r in reports)
        for c in first.observations_per_target
    }
    # Every chunk read the whole static_df: its rows not used by the chunk's series.
    unused = first.n_static_rows_unused + first.n_series - n_series if first.static_cols else 0
    return dataclasses.replace(
        first,
        **counts,
        was_sorted=all(r.was_sorted for r in reports),
        other_variables=tuple(dict.fromkeys(v for r in reports for v in r.other_variables)),
        ignored_columns=tuple(dict.fromkeys(v for r in reports for v in r.ignored_columns)),
        observations_per_target=observed,
        n_static_rows_unused=max(unused, 0),
    )


class _ChunkSampler:
    """Draws training batches a chunk at a time, chunks in a new random order each round."""

    def __init__(self, chunks, load, rng, batch_size, options):
        self.chunks, self.load, self.rng = chunks, load, rng
        self.batch_size, self.options = batch_size, options
        self.order: list[int] = []
        self.current: list = []
        self.left = 0

    def source(self) -> list:
        """The series the next batch is drawn from (the next chunk when this one has
        served its share)."""
        while self.left == 0:
            if not self.order:
                self.order = self.rng.permutation(len(self.chunks)).tolist()
            self.current = []  # let the last chunk go before the next is read
            self.current = self.load(self.chunks[self.order.pop()])
            self.left = math.ceil(len(self.current) / self.batch_size)
        self.left -= 1
        return self.current

    def __call__(self):
        series = self.source()
        return sample_batch(series, self.rng, batch_size=self.batch_size, **self.options)


class _Reservoir:
    """A uniform random sample of at most `size` non-NaN values per column of (N, C)
    blocks, as rows of NaN-padded (size, C): each value gets a random key and the
    smallest keys stay. Every value, if there are no more than `size`."""

    def __init__(self, n_cols: int, size: int, rng: np.random.Generator):
        self.size, self.rng = size, rng
        self.kept = [(np.zeros(0), np.zeros(0)) for _ in range(n_cols)]  # (keys, values)

    def add(self, block: np.ndarray) -> None:
        for j in range(block.shape[1]):
            col = block[:, j]
            col = col[~np.isnan(col)]
            keys, vals = self.kept[j]
            keys = np.concatenate([keys, self.rng.random(len(col))])
            vals = np.concatenate([vals, col])
            if len(keys) > self.size:
                best = np.argpartition(keys, self.size)[: self.size]
                keys, vals = keys[best], vals[best]
            self.kept[j] = (keys, vals)

    def values(self) -> np.ndarray:
        out = np.full((max(len(v) for _, v in self.kept), len(self.kept)), np.nan)
        for j, (_, v) in enumerate(self.kept):
            out[: len(v), j] = v
        return out


class _Moments:
    """Per-column count, mean, second central moment and magnitude of the non-NaN values
    of (N, C) blocks, merged block by block (Chan et al.'s pairwise update)."""

    def __init__(self, n_cols: int):
        self.n, self.mean, self.m2, self.magnitude = (np.zeros(n_cols) for _ in range(4))

    def add(self, block: np.ndarray) -> None:
        for j in range(block.shape[1]):
            col = block[:, j]
            col = col[~np.isnan(col)]
            if not len(col):
                continue
            n_b, mean_b = len(col), col.mean()
            m2_b = np.sum((col - mean_b) ** 2)
            n = self.n[j] + n_b
            delta = mean_b - self.mean[j]
            self.mean[j] += delta * n_b / n
            self.m2[j] += m2_b + delta**2 * self.n[j] * n_b / n
            self.n[j] = n
            self.magnitude[j] = max(self.magnitude[j], np.abs(col).max())

    def moments(self):
        """`(count, mean, population std, magnitude)`, each (C,)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            std = np.where(self.n > 0, np.sqrt(self.m2 / self.n), 0.0)
        return self.n, self.mean, std, self.magnitude


def _check(params, chunk_size) -> None:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(
            f"chunk_size must be a positive int (series per chunk), got {chunk_size!r}"
        )
    if not isinstance(params["network"], SharedClock):
        raise ValueError(
            "chunk_size needs network=s5ts.SharedClock() (the default); "
            f"{params['network']!r} is fitted in memory only"
        )


def _lazy(df) -> pl.LazyFrame:
    if isinstance(df, pl.LazyFrame):
        return df
    if isinstance(df, pl.DataFrame):
        return df.lazy()
    if isinstance(df, str | Path):
        return pl.scan_parquet(df)
    raise TypeError(
        "with chunk_size, df must be a polars LazyFrame (e.g. pl.scan_parquet(path)), a "
        f"polars DataFrame or the path of a Parquet file or folder, got {type(df).__name__}"
    )


def _sorted_ids(lf: pl.LazyFrame, id_col: str) -> np.ndarray:
    if id_col not in lf.collect_schema().names():
        raise ValueError(f"df has no id column {id_col!r}; pass id_col=")
    ids = lf.select(pl.col(id_col).unique()).collect(engine="streaming")[id_col]
    if ids.null_count():
        raise ValueError(f"df has missing values in the id column {id_col!r}")
    if not len(ids):
        raise ValueError("df has no rows")
    return ids.sort().to_numpy()
