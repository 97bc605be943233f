"""Event and query features for one series.

Everything here is numpy on model-unit times. An event's features depend only on that
event and earlier ones, so they are computed once per series and a history ending at any
cutoff is a slice. Per target the features are: the scaled value (0 when missing), the
observed flag, log(1 + time since the variable was last seen), its last observed value
(LOCF, scaled; 0 = the training mean before the first sighting), an ever-seen flag and
the mean of its values so far (0 before the first); then log(1 + gap), log(1 + time
since the series began), a query flag and the statics. The running mean is there because
a stay's own level is often a better forecast than its last value, and an SSM with
decaying modes cannot hold an exact average over an irregular, partly missing history.

Each event also carries, per target, a *recent mean*: the mean of the values so far
weighted by `0.5 ** (age / RECENT_HALF_LIFE)`. It is not an input feature but one of the
simple forecasts the network's blend starts from (`s5ts.network.blend_parts`): between the
noisy last value and the stale whole-history mean, it is the best of the three on ICU
vitals (`benchmarks/README.md`), and it is a ratio of two decaying sums that the SSM's
linear state cannot form by itself.

A query is a virtual event `tau` after the cutoff with no values: its time-since-seen and
elapsed features move on by `tau`, its LOCF and running mean are those at the cutoff.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np


PER_TARGET = 6
FIRST_GAP = 1.0  # model units before a series' first event: ZOH drops events after a 0 gap
# Half-life of the recent mean's weights, in model units (one model unit is the median gap
# between a panel's events): about the last eight events weigh half of it.
RECENT_HALF_LIFE = 8.0
_BLOCK_DECAY = 30.0  # most decay exponent summed in one block (exp(30) ~ 1e13: exact enough)
_TINY_WEIGHT = 1e-200  # the least weight a recent mean's sums keep (see `recent_sums`)


@runtime_checkable  # so that runtime type checkers (beartype in the tests) can check it
class Timed(Protocol):
    """Anything that holds one series' event times `t` (n,), model units: all that
    planning a batch's shapes and windows reads."""

    t: np.ndarray


def n_features(n_targets: int, n_static: int) -> int:
    return PER_TARGET * n_targets + 3 + n_static


@dataclass(frozen=True, eq=False)
class SeriesFeatures:
    """One series' events (n of them), C targets, K statics; all times in model units."""

    t: np.ndarray  # (n,) float64 time since the series' first event
    x: np.ndarray  # (n, F) float32 event features
    dt: np.ndarray  # (n,) float32 gap to the previous event (FIRST_GAP at the first)
    y: np.ndarray  # (n, C) float32 scaled values, NaN where not observed
    locf: np.ndarray  # (n, C) float32 LOCF after each event, 0 if never seen
    since: np.ndarray  # (n, C) float64 time since last seen after each event
    seen: np.ndarray  # (n, C) bool
    level: np.ndarray  # (n, C) float32 mean of the values so far, 0 if never seen
    recent: np.ndarray  # (n, C) float32 recency-weighted mean of the values so far, 0 if never
    static: np.ndarray  # (K,) float32

    def features(self, stop: int | None = None) -> "SeriesFeatures":
        """Itself: the features are already built (a `Series` builds them on demand)."""
        return self

    def query(self, c: int, tau: np.ndarray) -> np.ndarray:
        """(Q, F) features of queries `tau` (Q,) model units after event `c`."""
        return queries_of([self], [c], [np.asarray(tau, np.float64)], len(tau))[0]


def queries_of(
    feats: Sequence[SeriesFeatures], cuts: Sequence[int], taus: Sequence[np.ndarray], width: int
) -> np.ndarray:
    """(B, width, F) float32: row i holds `feats[i].query(cuts[i], taus[i])`, zeros after
    its queries; computed for all rows at once."""
    b = len(feats)
    n_t = feats[0].y.shape[1] if b else 0
    tau = np.zeros((b, width))
    for i, q in enumerate(taus):
        tau[i, : len(q)] = q
    tau = tau[..., None]
    at = list(zip(feats, cuts, strict=True))
    since, locf, seen, level = (np.stack([getattr(f, k)[c] for f, c in at]) for k in _AT_CUT)
    t = np.array([f.t[c] for f, c in at])
    static = np.stack([f.static for f in feats])
    parts = [
        np.zeros((b, width, 2 * n_t)),
        np.log1p(since[:, None] + tau),
        locf[:, None],
        seen[:, None],
        level[:, None],
        np.log1p(tau),
        np.log1p(t[:, None, None] + tau),
        np.ones((b, width, 1)),
        static[:, None],
    ]
    out = _columns(parts, (b, width, n_features(n_t, static.shape[-1])))
    out[np.arange(width) >= np.array([len(q) for q in taus])[:, None]] = 0.0
    return out


def _columns(parts: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """The parts side by side on the last axis of a float32 array of `shape`, each cast
    as it is written (no float64 copy of the whole)."""
    out = np.empty(shape, np.float32)
    start = 0
    for part in parts:
        out[..., start : start + part.shape[-1]] = part
        start += part.shape[-1]
    return out


_AT_CUT = ("since", "locf", "seen", "level")


@dataclass(frozen=True, eq=False)
class Series:
    """One series as training and prediction keep it: times and scaled values only.

    The event features (about 6 numbers per target and event) are built when a batch
    needs them, from the events up to its cutoff, so that a fit holds its data in about
    the space of the values themselves rather than of every feature of every event.
    """

    t: np.ndarray  # (n,) float64 time since the series' first event
    y: np.ndarray  # (n, C) float32 scaled values, NaN where not observed
    static: np.ndarray  # (K,) float32
    bounds: np.ndarray | None = None  # (2, C) input bounds (see `continue_features`)

    def features(self, stop: int | None = None) -> SeriesFeatures:
        """The features of the events before `stop` (default: all)."""
        return series_features(self.t[:stop], self.y[:stop], self.static, self.bounds)


AnySeries = SeriesFeatures | Series  # one series, its features built or built on demand


class Carry(NamedTuple):
    """What the features of later events need from the earlier ones (C targets)."""

    t: float  # model-unit time of the previous event (-FIRST_GAP before the first)
    seen_at: np.ndarray  # (C,) float64 time each target was last observed; NaN: never
    locf: np.ndarray  # (C,) last observed value (scaled); 0: never
    total: np.ndarray  # (C,) float64 sum of the observed values
    count: np.ndarray  # (C,) int64 number of observed values
    # The recent mean's numerator and denominator (`recent_sums`) at time `t`, float64.
    recent_total: np.ndarray  # (C,)
    recent_weight: np.ndarray  # (C,)

    @classmethod
    def start(cls, n_targets: int) -> "Carry":
        """The carry before a series' first event."""
        zeros = np.zeros(n_targets)
        nan = np.full(n_targets, np.nan)
        return cls(-FIRST_GAP, nan, zeros, zeros, np.zeros_like(zeros, int), zeros, zeros)


def series_features(
    t: np.ndarray, y: np.ndarray, static: np.ndarray, bounds: np.ndarray | None = None
) -> SeriesFeatures:
    """Features of one series from times (n,) (from 0) and scaled values (n, C); `bounds`
    as in `continue_features`."""
    return continue_features(t, y, static, Carry.start(y.shape[1]), bounds)[0]


def continue_features(
    t: np.ndarray,
    y: np.ndarray,
    static: np.ndarray,
    carry: Carry,
    bounds: np.ndarray | None = None,
) -> tuple[SeriesFeatures, Carry]:
    """Features of events at times `t` (n,) with scaled values `y` (n, C) that follow the
    events summarised by `carry`, and the carry after them. Streaming continues a series
    with it, so an update's features are those of the whole history by construction
    (the recent mean's to float rounding: its decaying sums restart at the split).

    `bounds` (2, C): the values enter the inputs (and LOCF and running mean) clipped to
    this range, so that an entry error (a temperature of -17.8 °C) cannot drag a forecast
    with it; the targets `y` stay as they are.
    """
    rows = Carry(*(np.asarray(v)[None] for v in carry))
    padded, after = _padded_features(t[None], y[None], np.asarray(static)[None], rows, bounds)
    feats = _row(padded, 0, len(t))
    if len(t) == 0:
        return feats, carry
    return feats, Carry(float(after.t[0]), *(v[0] for v in after[1:]))


def features_of(series: Sequence[AnySeries], stops: Sequence[int]) -> list[SeriesFeatures]:
    """The features of each series' events before its `stops` entry, as
    `series.features(stop)` gives them, built for many series at once: series of similar
    length are padded into blocks of at most `_BLOCK_ELEMENTS` values per target array
    and computed together (what a training batch or a prediction needs, without a numpy
    call per series and feature); a block is closed before padding would add more than a
    quarter to its events."""
    out: list[SeriesFeatures | None] = [None] * len(series)
    todo = []
    for i, (f, stop) in enumerate(zip(series, stops, strict=True)):
        if isinstance(f, Series) and stop > 0:
            todo.append(i)
        else:
            out[i] = f.features(stop)
    todo.sort(key=lambda i: stops[i])
    block: list[int] = []
    events = 0  # in the block, before padding
    for k, i in enumerate(todo):
        block.append(i)
        events += stops[i]
        if k + 1 < len(todo):  # the next row joins if the block stays small and dense
            nxt = todo[k + 1]
            padded = (len(block) + 1) * stops[nxt]
            if (
                padded * series[i].y.shape[1] <= _BLOCK_ELEMENTS
                and padded <= _PADDING * (events + stops[nxt]) + _SLACK
                and series[nxt].bounds is series[i].bounds
            ):
                continue
        for j, f in zip(block, _block_features(series, stops, block), strict=True):
            out[j] = f
        block, events = [], 0
    return out  # type: ignore[return-value]


_BLOCK_ELEMENTS = 1 << 19  # most (series x events x targets) values in one padded block
_PADDING, _SLACK = 1.25, 256  # most padded events in a block: 1.25 x its events, + 256


def _block_features(series, stops, rows: list[int]) -> list[SeriesFeatures]:
    # Rows are padded after their last event by repeating its time (gap 0) with no values.
    lengths = [stops[i] for i in rows]
    n, n_t = max(lengths), series[rows[0]].y.shape[1]
    t = np.empty((len(rows), n))
    y = np.full((len(rows), n, n_t), np.nan, np.float32)
    for r, (i, m) in enumerate(zip(rows, lengths, strict=True)):
        t[r, :m], t[r, m:] = series[i].t[:m], series[i].t[m - 1]
        y[r, :m] = series[i].y[:m]
    static = np.stack([series[i].static for i in rows])
    first = Carry.start(n_t)
    start = Carry(np.full(len(rows), first.t), *(np.tile(v, (len(rows), 1)) for v in first[1:]))
    padded, _ = _padded_features(t, y, static, start, series[rows[0]].bounds)
    return [_row(padded, r, m) for r, m in enumerate(lengths)]


def _row(padded: SeriesFeatures, r: int, n: int) -> SeriesFeatures:
    """Row `r` of padded features, its first `n` events."""
    return SeriesFeatures(
        **{
            name: getattr(padded, name)[r] if name == "static" else getattr(padded, name)[r, :n]
            for name in SeriesFeatures.__dataclass_fields__
        }
    )


def _padded_features(
    t: np.ndarray,
    y: np.ndarray,
    static: np.ndarray,
    carry: Carry,
    bounds: np.ndarray | None,
) -> tuple[SeriesFeatures, Carry]:
    """`continue_features` for B rows at once: times `t` (B, n), values `y` (B, n, C),
    statics (B, K) and a carry of (B, ...) arrays; every array of the result has the
    rows first, and the carry after them is read at their last column (rows padded after
    their events carry on unchanged: same time, no values)."""
    b, n, n_t = y.shape
    rows, cols = np.arange(b)[:, None, None], np.arange(n_t)
    obs = ~np.isnan(y)
    target = y
    if bounds is not None:
        y = np.clip(y, bounds[0], bounds[1])  # NaN stays NaN
    latest = np.maximum.accumulate(np.where(obs, np.arange(n)[:, None], -1), axis=1)
    new = latest >= 0
    at = np.maximum(latest, 0)
    seen_at = np.where(new, t[rows, at], carry.seen_at[:, None])
    locf = np.where(new, y[rows, at, cols], carry.locf[:, None])
    seen = ~np.isnan(seen_at)
    since = np.where(seen, t[..., None] - seen_at, t[..., None] + FIRST_GAP)
    dt = np.diff(t, axis=1, prepend=carry.t[:, None])
    # Summed on from the carried total in order, so a split history sums exactly as a whole.
    values = np.concatenate([carry.total[:, None], np.where(obs, y, 0.0)], axis=1)
    total = np.cumsum(values, axis=1, dtype=np.float64)[:, 1:]
    count = carry.count[:, None] + np.cumsum(obs, axis=1)
    level = total / np.maximum(count, 1)
    r_total, r_weight = recent_sums(t, np.where(obs, y, 0.0), obs, carry)
    recent = recent_mean(r_total, r_weight)
    parts = [
        np.where(obs, y, 0.0),
        obs,
        np.log1p(since),
        locf,
        seen,
        level,
        np.log1p(dt)[..., None],
        np.log1p(t)[..., None],
        np.zeros((b, n, 1)),
        static[:, None],
    ]
    feats = SeriesFeatures(
        t=t,
        x=_columns(parts, (b, n, n_features(n_t, static.shape[-1]))),
        dt=dt.astype(np.float32),
        y=target.astype(np.float32),
        locf=locf.astype(np.float32),
        since=since,
        seen=seen,
        level=level.astype(np.float32),
        recent=recent.astype(np.float32),
        static=np.asarray(static, np.float32),
    )
    if n == 0:
        return feats, carry
    after = (seen_at, locf, total, count, r_total, r_weight)
    return feats, Carry(t[:, -1], *(v[:, -1] for v in after))


def recent_mean(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The recent mean from its sums (`recent_sums`); 0 (the training mean) where nothing
    was observed."""
    return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), 0.0)


def recent_sums(
    t: np.ndarray, values: np.ndarray, obs: np.ndarray, carry: Carry
) -> tuple[np.ndarray, np.ndarray]:
    """(B, n, C) float64 sums `sum_j w_ij * values_j` and `sum_j w_ij * obs_j` over the
    events j up to each event i of each row (the carried ones included), `w_ij = 0.5 **
    ((t_i - t_j) / RECENT_HALF_LIFE)`: the recent mean's numerator and denominator. `t`
    is (B, n), the carry's arrays (B, ...).

    Vectorised in blocks: within one, each term is scaled up by its decay from the
    block's start and the cumulative sum scaled back down, which stays exact in float64
    while the decay across the block is below `exp(_BLOCK_DECAY)`. Rows that fit in one
    block (all of them, unless a row spans hundreds of half-lives) are computed together.
    After a gap long enough for the weight to decay below `_TINY_WEIGHT`, both sums would
    underflow and their ratio lose its digits: such a pair is held at weight
    `_TINY_WEIGHT` with the mean it had, which later observations outweigh entirely.
    """
    rate = np.log(2.0) / RECENT_HALF_LIFE
    if t.shape[1] == 0:
        return np.zeros(values.shape), np.zeros(values.shape)
    # Rows spanning more than one block would overflow here: they are redone below.
    one_block = t[:, -1] <= t[:, 0] + _BLOCK_DECAY / rate
    age = np.where(one_block[:, None], t - t[:, :1], 0.0)[..., None]
    up, down = np.exp(rate * age), np.exp(-rate * age)
    lead = np.exp(-rate * (t[:, 0] - carry.t))[:, None, None]  # the carry, to the start
    total = down * (carry.recent_total[:, None] * lead + np.cumsum(up * values, 1))
    weight = down * (carry.recent_weight[:, None] * lead + np.cumsum(up * obs, 1))
    seen = (carry.recent_weight[:, None] > 0) | (np.cumsum(obs, axis=1) > 0)
    redo = ~one_block | np.any(seen & (weight < _TINY_WEIGHT), axis=(1, 2))
    for r in np.flatnonzero(redo):
        carried = Carry(*(np.asarray(v)[r] for v in carry))
        total[r], weight[r] = _recent_sums_blocks(t[r], values[r], obs[r], carried, rate)
    return total, weight


def _recent_sums_blocks(t, values, obs, carry: Carry, rate: float):
    """`recent_sums` of one row (n,) / (n, C), block by block."""
    total = np.empty(values.shape)
    weight = np.empty(values.shape)
    prev_t, prev_total, prev_weight = carry.t, carry.recent_total, carry.recent_weight
    start, n = 0, len(t)
    while start < n:
        ref = t[start]
        stop = start + int(np.searchsorted(t[start:], ref + _BLOCK_DECAY / rate, side="right"))
        age = (t[start:stop] - ref)[:, None]
        up, down = np.exp(rate * age), np.exp(-rate * age)
        lead = np.exp(-rate * (ref - prev_t))  # the carried sums, decayed to the block's start
        total[start:stop] = down * (prev_total * lead + np.cumsum(up * values[start:stop], 0))
        weight[start:stop] = down * (prev_weight * lead + np.cumsum(up * obs[start:stop], 0))
        _hold_tiny(total[start:stop], weight[start:stop], obs[start:stop], prev_total, prev_weight)
        prev_t, prev_total, prev_weight = t[stop - 1], total[stop - 1], weight[stop - 1]
        start = stop
    return total, weight


def _hold_tiny(total, weight, obs, prev_total, prev_weight) -> None:
    """In place: where a target observed before (in the carry or the block) has weight
    below `_TINY_WEIGHT`, the sums become `(mean * _TINY_WEIGHT, _TINY_WEIGHT)` with the
    mean of its latest entry above it (or of the carry). A no-op in normal use."""
    seen = (prev_weight > 0) | (np.cumsum(obs, axis=0) > 0)
    low = seen & (weight < _TINY_WEIGHT)
    if not low.any():
        return
    rows = np.arange(len(weight))[:, None]
    last_good = np.maximum.accumulate(np.where(low, -1, rows), axis=0)  # -1: the carry's
    carried = recent_mean(prev_total, prev_weight)
    good = recent_mean(total, weight)
    mean = np.where(last_good >= 0, np.take_along_axis(good, np.maximum(last_good, 0), 0), carried)
    total[low], weight[low] = mean[low] * _TINY_WEIGHT, _TINY_WEIGHT
