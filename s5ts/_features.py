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


@runtime_checkable
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
        tau = np.asarray(tau, np.float64)[:, None]
        q, n_t = len(tau), self.y.shape[1]
        cols = [
            np.zeros((q, 2 * n_t)),
            np.log1p(self.since[c] + tau),
            np.broadcast_to(self.locf[c], (q, n_t)),
            np.broadcast_to(self.seen[c], (q, n_t)),
            np.broadcast_to(self.level[c], (q, n_t)),
            np.log1p(tau),
            np.log1p(self.t[c] + tau),
            np.ones((q, 1)),
            np.broadcast_to(self.static, (q, len(self.static))),
        ]
        return np.concatenate(cols, axis=1).astype(np.float32)


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
    n, n_t = y.shape
    obs = ~np.isnan(y)
    target = y
    if bounds is not None:
        y = np.clip(y, bounds[0], bounds[1])  # NaN stays NaN
    latest = np.maximum.accumulate(np.where(obs, np.arange(n)[:, None], -1), axis=0)
    new = latest >= 0
    seen_at = np.where(new, t[np.maximum(latest, 0)], carry.seen_at)
    locf = np.where(new, y[np.maximum(latest, 0), np.arange(n_t)], carry.locf)
    seen = ~np.isnan(seen_at)
    since = np.where(seen, t[:, None] - seen_at, t[:, None] + FIRST_GAP)
    dt = np.diff(t, prepend=carry.t)
    # Summed on from the carried total in order, so a split history sums exactly as a whole.
    values = np.concatenate([carry.total[None], np.where(obs, y, 0.0)])
    total = np.cumsum(values, axis=0, dtype=np.float64)[1:]
    count = carry.count + np.cumsum(obs, axis=0)
    level = total / np.maximum(count, 1)
    r_total, r_weight = recent_sums(t, np.where(obs, y, 0.0), obs, carry)
    recent = recent_mean(r_total, r_weight)
    cols = [
        np.where(obs, y, 0.0),
        obs,
        np.log1p(since),
        locf,
        seen,
        level,
        np.log1p(dt)[:, None],
        np.log1p(t)[:, None],
        np.zeros((n, 1)),
        np.broadcast_to(static, (n, len(static))),
    ]
    feats = SeriesFeatures(
        t=t,
        x=np.concatenate(cols, axis=1).astype(np.float32),
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
    return feats, Carry(
        t[-1], seen_at[-1], locf[-1], total[-1], count[-1], r_total[-1], r_weight[-1]
    )


def recent_mean(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The recent mean from its sums (`recent_sums`); 0 (the training mean) where nothing
    was observed."""
    return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), 0.0)


def recent_sums(
    t: np.ndarray, values: np.ndarray, obs: np.ndarray, carry: Carry
) -> tuple[np.ndarray, np.ndarray]:
    """(n, C) float64 sums `sum_j w_ij * values_j` and `sum_j w_ij * obs_j` over the
    events j up to each event i (the carried ones included), `w_ij = 0.5 ** ((t_i - t_j) /
    RECENT_HALF_LIFE)`: the recent mean's numerator and denominator.

    Vectorised in blocks: within one, each term is scaled up by its decay from the
    block's start and the cumulative sum scaled back down, which stays exact in float64
    while the decay across the block is below `exp(_BLOCK_DECAY)`. After a gap long
    enough for the weight to decay below `_TINY_WEIGHT` (hundreds of half-lives), both
    sums would underflow and their ratio lose its digits: such a pair is held at weight
    `_TINY_WEIGHT` with the mean it had, which later observations outweigh entirely.
    """
    rate = np.log(2.0) / RECENT_HALF_LIFE
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
