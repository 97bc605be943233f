"""Event and query features for one series, and their assembly into padded batches.

Everything here is numpy on model-unit times. An event's features depend only on that
event and earlier ones, so they are computed once per series and a history ending at any
cutoff is a slice. Per target the features are: the scaled value (0 when missing), the
observed flag, log(1 + time since the variable was last seen), its last observed value
(LOCF, scaled; 0 = the training mean before the first sighting), an ever-seen flag and
the mean of its values so far (0 before the first); then log(1 + gap), log(1 + time
since the series began), a query flag and the statics. The running mean is there because
a stay's own level is often a better forecast than its last value, and an SSM with
decaying modes cannot hold an exact average over an irregular, partly missing history.

A query is a virtual event `tau` after the cutoff with no values: its time-since-seen and
elapsed features move on by `tau`, its LOCF and running mean are those at the cutoff.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


PER_TARGET = 6
# Window edges are widened by this relative amount, so that an event exactly one horizon
# away is in the window whatever the time unit (rounding differs by a few ulps per unit).
_EDGE = 1e-9
FIRST_GAP = 1.0  # model units before a series' first event: ZOH drops events after a 0 gap


def n_features(n_targets: int, n_static: int) -> int:
    return PER_TARGET * n_targets + 3 + n_static


def next_pow2(x: int, minimum: int = 1) -> int:
    return 1 << (max(int(x), minimum) - 1).bit_length()


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
    static: np.ndarray  # (K,) float32

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


class Carry(NamedTuple):
    """What the features of later events need from the earlier ones (C targets)."""

    t: float  # model-unit time of the previous event (-FIRST_GAP before the first)
    seen_at: np.ndarray  # (C,) float64 time each target was last observed; NaN: never
    locf: np.ndarray  # (C,) last observed value (scaled); 0: never
    total: np.ndarray  # (C,) float64 sum of the observed values
    count: np.ndarray  # (C,) int64 number of observed values

    @classmethod
    def start(cls, n_targets: int) -> "Carry":
        """The carry before a series' first event."""
        zeros = np.zeros(n_targets)
        return cls(-FIRST_GAP, np.full(n_targets, np.nan), zeros, zeros, np.zeros_like(zeros, int))


def series_features(t: np.ndarray, y: np.ndarray, static: np.ndarray) -> SeriesFeatures:
    """Features of one series from times (n,) (from 0) and scaled values (n, C)."""
    return continue_features(t, y, static, Carry.start(y.shape[1]))[0]


def continue_features(
    t: np.ndarray, y: np.ndarray, static: np.ndarray, carry: Carry
) -> tuple[SeriesFeatures, Carry]:
    """Features of events at times `t` (n,) with scaled values `y` (n, C) that follow the
    events summarised by `carry`, and the carry after them. Streaming continues a series
    with it, so an update's features are those of the whole history by construction.
    """
    n, n_t = y.shape
    obs = ~np.isnan(y)
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
        y=y.astype(np.float32),
        locf=locf.astype(np.float32),
        since=since,
        seen=seen,
        level=level.astype(np.float32),
        static=np.asarray(static, np.float32),
    )
    if n == 0:
        return feats, carry
    return feats, Carry(t[-1], seen_at[-1], locf[-1], total[-1], count[-1])


class Batch(NamedTuple):
    """B samples: a history of L events ending at a cutoff, and Q queries after it."""

    x: np.ndarray  # (B, L, F) history features, padding at the end
    dt: np.ndarray  # (B, L) gaps, 0 at padding
    valid: np.ndarray  # (B, L) bool
    xq: np.ndarray  # (B, Q, F) query features
    tau: np.ndarray  # (B, Q) time from the cutoff to each query
    locf: np.ndarray  # (B, C) LOCF at the cutoff: the forecast's starting point
    y: np.ndarray  # (B, Q, C) scaled truth, 0 where not observed
    mask: np.ndarray  # (B, Q, C) bool, True where observed (all False for padding)


def history_start(f: SeriesFeatures, c: int, context: float | None, max_len: int) -> int:
    """First event of the history that ends at event `c`."""
    if context is None:
        return max(0, c + 1 - max_len)
    start = int(np.searchsorted(f.t, f.t[c] - context * (1 + _EDGE), side="left"))
    return max(min(start, c), c + 1 - max_len)


def assemble(
    feats: list[SeriesFeatures | None],
    cutoffs: list[int],
    taus: list[np.ndarray],
    targets: list[np.ndarray | None],
    *,
    length: int,
    n_queries: int,
    context: float | None,
) -> Batch:
    """Pad samples (None = dummy) into a Batch; targets (Q_i, C) scaled with NaN, or None."""
    b = len(feats)
    f0 = next(f for f in feats if f is not None)
    n_f, n_t = f0.x.shape[1], f0.y.shape[1]
    out = Batch(
        x=np.zeros((b, length, n_f), np.float32),
        dt=np.zeros((b, length), np.float32),
        valid=np.zeros((b, length), bool),
        xq=np.zeros((b, n_queries, n_f), np.float32),
        tau=np.zeros((b, n_queries), np.float32),
        locf=np.zeros((b, n_t), np.float32),
        y=np.zeros((b, n_queries, n_t), np.float32),
        mask=np.zeros((b, n_queries, n_t), bool),
    )
    for i, (f, c, tau, y) in enumerate(zip(feats, cutoffs, taus, targets, strict=True)):
        if f is None:
            continue
        s = history_start(f, c, context, length)
        m, q = c + 1 - s, len(tau)
        out.x[i, :m], out.dt[i, :m], out.valid[i, :m] = f.x[s : c + 1], f.dt[s : c + 1], True
        out.xq[i, :q], out.tau[i, :q], out.locf[i] = f.query(c, tau), tau, f.locf[c]
        if y is not None:
            obs = ~np.isnan(y)
            out.y[i, :q], out.mask[i, :q] = np.where(obs, y, 0.0), obs
    return out


def queries_in_window(f: SeriesFeatures, c: int, horizon: float) -> np.ndarray:
    """Indices of the events in `(t_c, t_c + horizon]`."""
    stop = int(np.searchsorted(f.t, f.t[c] + horizon * (1 + _EDGE), side="right"))
    return np.arange(c + 1, max(stop, c + 1))


def max_window_events(feats: list[SeriesFeatures], horizon: float) -> int:
    """Most events any series has within one horizon after one of its events."""
    most = 1
    for f in feats:
        stops = np.searchsorted(f.t, f.t + horizon * (1 + _EDGE), side="right")
        most = max(most, int((stops - np.arange(len(f.t)) - 1).max(initial=0)))
    return most


def sample_batch(
    feats: list[SeriesFeatures],
    rng: np.random.Generator,
    *,
    batch_size: int,
    horizon: float,
    context: float | None,
    max_len: int,
    n_queries: int,
) -> Batch:
    """A training batch: random series, each cut at a random event (augmentation); the
    events within `horizon` after the cut are the targets. Series need >= 2 events."""
    which = rng.choice(len(feats), batch_size, replace=len(feats) < batch_size)
    chosen, cuts, taus, ys = [], [], [], []
    for i in which:
        f = feats[i]
        c = int(rng.integers(0, len(f.t) - 1))
        q = queries_in_window(f, c, horizon)
        if len(q) > n_queries:
            q = np.sort(rng.choice(q, n_queries, replace=False))
        chosen.append(f), cuts.append(c), taus.append(f.t[q] - f.t[c]), ys.append(f.y[q])
    # At most two shapes per axis: the longest (history, query list), or half of it when
    # every sample fits. A new shape costs a compilation worth hundreds of steps on a CPU,
    # but on long, skewed series (PhysioNet: 215 events at most, 37 on average at a random
    # cut) the full shape pads most steps several-fold.
    pairs = zip(chosen, cuts, strict=True)
    longest = max(c + 1 - history_start(f, c, context, max_len) for f, c in pairs)
    length = _tier(longest, max_len, smallest=128)
    queries = _tier(max(len(t) for t in taus), n_queries, smallest=64)
    return assemble(chosen, cuts, taus, ys, length=length, n_queries=queries, context=context)


def _tier(need: int, full: int, smallest: int) -> int:
    """`full`, or `full // 2` if that still holds `need` and `full` is at least `2 * smallest`."""
    return full // 2 if full >= 2 * smallest and need <= full // 2 else full


def plan_batches(
    feats: list[SeriesFeatures],
    series: np.ndarray,
    cutoff: np.ndarray,
    tau: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    batch_size: int,
    length: int,
    n_queries: int,
    context: float | None,
) -> Iterator[tuple[np.ndarray, Batch]]:
    """Group R query rows (series, cutoff event, tau) into batches of one fixed shape.

    Rows sharing a (series, cutoff) share one history (its last `length` events at most);
    longer query lists repeat the history. Yields (row index of each query slot (B, Q),
    Batch) pairs, -1 in unused slots, lazily: one padded batch in memory at a time. One
    shape means one compilation, and each query's result depends only on its own row.
    """
    order = np.lexsort((tau, cutoff, series))
    keys = np.stack([series[order], cutoff[order]], axis=1)
    groups: list[tuple[int, int, np.ndarray]] = []
    if len(order):
        starts = np.flatnonzero(np.r_[True, np.any(keys[1:] != keys[:-1], axis=1)])
        for a, b in zip(starts, np.r_[starts[1:], len(order)], strict=True):
            for k in range(a, b, n_queries):
                rows = order[k : min(b, k + n_queries)]
                groups.append((int(keys[a, 0]), int(keys[a, 1]), rows))
    for k in range(0, len(groups), batch_size):
        chunk = groups[k : k + batch_size]
        pad = batch_size - len(chunk)
        pos = np.full((batch_size, n_queries), -1, np.int64)
        for i, (_, _, rows) in enumerate(chunk):
            pos[i, : len(rows)] = rows
        batch = assemble(
            [feats[s] for s, _, _ in chunk] + [None] * pad,
            [c for _, c, _ in chunk] + [0] * pad,
            [tau[r] for _, _, r in chunk] + [np.zeros(0)] * pad,
            [None if targets is None else targets[r] for _, _, r in chunk] + [None] * pad,
            length=length,
            n_queries=n_queries,
            context=context,
        )
        yield pos, batch
