"""`fit(..., chunk_size=n)`: training data larger than memory, read `n` series at a time
from a polars `LazyFrame` (a Parquet file or folder through `pl.scan_parquet`, ...).

At most two chunks of series are in memory at once (the first that has a series to
train on, which gives the baselines' prior and the warm-up shapes, and the current one),
plus the validation series and a few numbers per series:

- One pass over every chunk fits what needs all the data: the scaler (each variable's
  count, mean and second moment merged chunk by chunk: an in-memory fit's, to
  rounding), the statics' normalisation (likewise), the input bounds (quantiles of a
  uniform sample of at most 100,000 values per variable: exact when there are no
  more), the time unit (the lower median of every within-series gap, from a sample
  beyond a million gaps), each series' span, and what the batch shapes are sized on
  (`StreamedSizing`: each training series' event count, a sample of its gaps, and the
  least time any series takes for k gaps in a row; not the times themselves).
- Training visits the training chunks (equal in size) in a new random order each round
  and draws batches from each in proportion to its series before reading the next.

Chunks are runs of consecutive ids in sorted order, each read with a filter on the id
range, so a Parquet file sorted by id is read about once per pass (an unsorted one is
re-scanned per chunk: correct, slower). Series are held out for validation by id, as an
in-memory fit holds them out by position, but no more than one chunk of them; `val_df`,
if given, is read whole.
"""

import dataclasses
import math
import numbers
from pathlib import Path

import narwhals as nw
import numpy as np
import polars as pl

from ..batching import StreamedSizing, sample_groups
from ..data import ConversionReport, Moments, Scaler, TimeScale, as_frame, read_panel
from ..network import SharedClock
from ._checks import check_observed
from ._fitted import input_bounds, scaled_series
from ._training_data import TrainingData, read_val_panel, warn_excluded, without_values


_SAMPLE = 100_000  # values per variable kept to place the input bounds
_GAPS = 1_000_000  # gaps kept to set the time unit (their lower median)


def read_chunked(params, df, static_df, val_df, names: dict, chunk_size):
    """The `TrainingData` of a chunked fit (see the module docstring)."""
    _check(params, chunk_size)
    lf = _lazy(df)
    id_col = names["id_col"]
    ids = _sorted_ids(lf, id_col)
    rng = np.random.default_rng(params["random_state"])
    held_out = np.zeros(len(ids), bool)
    if val_df is None and params["val_size"] > 0 and len(ids) >= 5:
        # At most a chunk of them: the validation series stay in memory.
        n_val = min(max(1, int(round(params["val_size"] * len(ids)))), chunk_size)
        held_out[rng.permutation(len(ids))[:n_val]] = True
    held = set(ids[held_out].tolist())
    statics = None if static_df is None else as_frame(static_df, "static_df")

    def read(chunk_ids: np.ndarray):
        chunk = chunk_ids.tolist()
        rows = pl.col(id_col).is_between(pl.lit(chunk[0]), pl.lit(chunk[-1]))
        frame = lf.filter(rows & pl.col(id_col).is_in(chunk)).collect()
        own = None  # each chunk reads only its own series' statics
        if statics is not None:
            own = statics.filter(nw.col(id_col).is_in(chunk)).to_native()
        try:
            return read_panel(frame, own, duplicates=params["duplicates"], **names)
        except ValueError as err:
            raise ValueError(
                f"{err} [in the chunk of series {chunk[0]!r} to {chunk[-1]!r}; row "
                "positions count within the chunk]"
            ) from None

    # One pass over every series (held-out ones too, as an in-memory fit does). Times are
    # kept in the first chunk's unit and rescaled once the unit of all the gaps is known.
    first, first_report = read(ids[:chunk_size])
    template = without_values(first)
    provisional = TimeScale().fit(first)
    n_targets = len(first.target_cols)
    values, static_moments = Moments(n_targets), Moments(len(first.static_cols))
    seed = params["random_state"]
    sample = _Reservoir(n_targets, _SAMPLE, np.random.default_rng([seed, 2]))
    gaps = _Reservoir(1, _GAPS, np.random.default_rng([seed, 3]))
    # The training series' positive gaps as well (the default horizon's floor).
    train_gaps = _Reservoir(1, _GAPS, np.random.default_rng([seed, 4]))
    sizing = StreamedSizing(train_gaps, params["network"].layout.train_queries)
    reports, spans, span_of_times = [], [], None
    for k in range(0, len(ids), chunk_size):
        panel, report = (first, first_report) if k == 0 else read(ids[k : k + chunk_size])
        first = None  # its values go; `template` keeps the names and kinds
        reports.append(report)
        values.add(panel.values)
        if panel.static is not None:
            static_moments.add(panel.static)
        sample.add(panel.values)
        gaps.add(TimeScale.within_gaps(panel).astype(np.float64)[:, None])
        if len(panel.times):
            lo, hi = panel.times.min(), panel.times.max()
            span_of_times = (
                (lo, hi)
                if span_of_times is None
                else (min(span_of_times[0], lo), max(span_of_times[1], hi))
            )
        t = provisional.elapsed(panel)
        starts, stops = panel.indptr[:-1], panel.indptr[1:]
        spans.append(t[stops - 1])
        kept = np.array([i not in held for i in panel.ids.tolist()], dtype=bool)
        trains = (stops - starts >= 2) & kept
        sizing.add(t, starts[trains], stops[trains])
        del panel
    time_scale = TimeScale.from_gaps(gaps.values()[:, 0], span_of_times, template.time_kind)
    rescale = provisional.unit / time_scale.unit
    sizing.rescale(rescale)
    report = _merged(reports, len(ids), statics, ids, id_col)
    count, mean, std, magnitude = values.moments()
    check_observed(template.target_cols, count)
    warn_excluded(report)
    scaler = Scaler.from_moments(count, mean, std, magnitude, template.target_cols)
    bounds = input_bounds(sample.values(), scaler)
    _, static_mean, static_std, _ = static_moments.moments()
    static_std = np.where(static_std > 0, static_std, 1.0)

    def features(panel):
        return scaled_series(panel, time_scale, scaler, static_mean, static_std, bounds)

    val_series = None
    if val_df is not None:
        duplicates = params["duplicates"]
        val_series = features(read_val_panel(val_df, static_df, template, duplicates, names))
    elif held_out.any():
        val_series = features(read(ids[held_out])[0])
    train_ids = ids[~held_out]
    # Chunks of equal size (within one series): each round draws every series about
    # equally often.
    chunks = np.array_split(train_ids, max(1, math.ceil(len(train_ids) / chunk_size)))

    def load(chunk_ids) -> list:
        return [f for f in features(read(chunk_ids)[0]) if len(f.t) >= 2]

    first_feats = []  # the first chunk with a series to train on: prior and warm-up
    for chunk in chunks if sizing.n_series else []:
        if first_feats := load(chunk):
            break

    def sampler(rng, *, batch_size, groups, **options):
        return _ChunkSampler(chunks, load, rng, batch_size, options, groups=groups)

    return TrainingData(
        panel=template,
        report=report,
        time_scale=time_scale,
        scaler=scaler,
        static_mean=static_mean,
        static_std=static_std,
        bounds=bounds,
        train_feats=first_feats,
        sizing=sizing,
        spans=np.concatenate(spans) * rescale,
        val_series=val_series,
        rng=rng,
        sampler=sampler,
    )


def _merged(reports: list[ConversionReport], n_series: int, statics, ids, id_col):
    """One report for the chunks' reports: counts added, names gathered."""
    first = reports[0]
    counts = {
        f.name: sum(getattr(r, f.name) for r in reports)
        for f in dataclasses.fields(first)
        if f.type is int and f.name != "n_static_rows_unused"
    }
    observed = {
        c: sum(r.observations_per_target.get(c, 0) for r in reports)
        for c in first.observations_per_target
    }
    unused = 0
    if statics is not None:
        unused = len(statics) - len(statics.filter(nw.col(id_col).is_in(ids.tolist())))
    return dataclasses.replace(
        first,
        **counts,
        was_sorted=all(r.was_sorted for r in reports),
        other_variables=tuple(dict.fromkeys(v for r in reports for v in r.other_variables)),
        ignored_columns=tuple(dict.fromkeys(v for r in reports for v in r.ignored_columns)),
        observations_per_target=observed,
        n_static_rows_unused=unused,
    )


class _ChunkSampler:
    """Draws training batches a chunk at a time, chunks in a new random order each round."""

    def __init__(self, chunks, load, rng, batch_size, options, groups: int = 1):
        self.chunks, self.load, self.rng = chunks, load, rng
        self.batch_size, self.groups, self.options = batch_size, groups, options
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
            # Batches in proportion to the chunk's series (rounded at random), so that
            # every series is drawn about equally often.
            share = len(self.current) / self.batch_size
            self.left = int(share) + int(self.rng.random() < share - int(share))
        self.left -= 1
        return self.current

    def __call__(self):
        series = self.source()
        return sample_groups(
            series, self.rng, groups=self.groups, batch_size=self.batch_size, **self.options
        )


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


def _check(params, chunk_size) -> None:
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, numbers.Integral)
        or chunk_size < 1
    ):
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
        if Path(df).is_file() and Path(df).suffix.lower() != ".parquet":
            raise ValueError(
                f"with chunk_size, a path must be a Parquet file or folder, got {str(df)!r}; "
                "pass pl.scan_csv(path) for a CSV file"
            )
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
