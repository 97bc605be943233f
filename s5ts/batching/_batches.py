"""Samples of (history up to a cutoff, queries after it) padded into fixed-shape batches.

Training draws random cutoffs (`sample_batch`); validation, prediction and
cross-validation plan batches from explicit (series, cutoff event, query time) rows
(`plan_batches`). Both pad histories at the end with `dt = 0` events, which the network
treats as exact no-ops, and both use few shapes so that few compilations run.
"""

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, TypeVar

import numpy as np

from ._features import AnySeries, Timed, features_of, n_features, queries_of


# Window edges are widened by this relative amount, so that an event exactly one horizon
# away is in the window whatever the time unit (rounding differs by a few ulps per unit).
_EDGE = 1e-9


def next_pow2(x: int, minimum: int = 1) -> int:
    return 1 << (max(int(x), minimum) - 1).bit_length()


class Batch(NamedTuple):
    """B samples: a history of L events ending at a cutoff, and Q queries after it."""

    x: np.ndarray  # (B, L, F) history features, padding at the end
    dt: np.ndarray  # (B, L) gaps, 0 at padding
    valid: np.ndarray  # (B, L) bool
    xq: np.ndarray  # (B, Q, F) query features
    tau: np.ndarray  # (B, Q) time from the cutoff to each query
    locf: np.ndarray  # (B, C) LOCF at the cutoff (scaled; 0 = never seen)
    level: np.ndarray  # (B, C) the series' running mean at the cutoff (scaled; 0 = never)
    recent: np.ndarray  # (B, C) its recent mean at the cutoff (scaled; 0 = never)
    y: np.ndarray  # (B, Q, C) scaled truth, 0 where not observed
    mask: np.ndarray  # (B, Q, C) bool, True where observed (all False for padding)


def history_start(f: Timed, c: int, context: float | None, max_len: int) -> int:
    """First event of the history that ends at event `c`."""
    if context is None:
        return max(0, c + 1 - max_len)
    start = int(np.searchsorted(f.t, f.t[c] - context * (1 + _EDGE), side="left"))
    return max(min(start, c), c + 1 - max_len)


def assemble(
    feats: list[AnySeries | None],
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
    n_t = f0.y.shape[1]
    n_f = n_features(n_t, len(f0.static))
    out = Batch(
        x=np.zeros((b, length, n_f), np.float32),
        dt=np.zeros((b, length), np.float32),
        valid=np.zeros((b, length), bool),
        xq=np.zeros((b, n_queries, n_f), np.float32),
        tau=np.zeros((b, n_queries), np.float32),
        locf=np.zeros((b, n_t), np.float32),
        level=np.zeros((b, n_t), np.float32),
        recent=np.zeros((b, n_t), np.float32),
        y=np.zeros((b, n_queries, n_t), np.float32),
        mask=np.zeros((b, n_queries, n_t), bool),
    )
    real = [i for i, f in enumerate(feats) if f is not None]
    built = features_of([feats[i] for i in real], [cutoffs[i] + 1 for i in real])
    cuts = [cutoffs[i] for i in real]
    out.xq[real] = queries_of(built, cuts, [taus[i] for i in real], n_queries)
    for i, g in zip(real, built, strict=True):  # built here, for the events samples see
        f, c, tau, y = feats[i], cutoffs[i], taus[i], targets[i]
        s = history_start(f, c, context, length)
        m = c + 1 - s
        out.x[i, :m], out.dt[i, :m], out.valid[i, :m] = g.x[s : c + 1], g.dt[s : c + 1], True
        out.locf[i], out.level[i], out.recent[i] = g.locf[c], g.level[c], g.recent[c]
        fill_queries(out, i, tau, y)
    return out


def fill_queries(out, i: int, tau: np.ndarray, y: np.ndarray | None) -> None:
    """Write sample `i`'s query times `tau` (Q_i,) and targets `y` (Q_i, C) (scaled, NaN
    where not observed; None at prediction) into the batch `out`, in place."""
    q = len(tau)
    out.tau[i, :q] = tau
    if y is not None:
        obs = ~np.isnan(y)
        out.y[i, :q], out.mask[i, :q] = np.where(obs, y, 0.0), obs


def history_events(f: Timed, c: int, context: float | None, max_len: int) -> int:
    """How many events the history ending at event `c` holds."""
    return c + 1 - history_start(f, c, context, max_len)


# A batch of the layout's kind: `Batch`, or a network's own (a NamedTuple too).
AnyBatch = tuple


class Layout(NamedTuple):
    """How one network's samples are padded into batches.

    `assemble(feats, cutoffs, taus, targets, *, length, n_queries, context)` builds a
    batch; `size(f, c, context, max_len)` is the padded length the history of event `c`
    needs; training pads to `max_len // 2**k` for the largest `k < tiers` (and a length
    no smaller than `smallest`) that holds every sample of the batch, and draws at most
    `train_queries` targets per sample (a query costs the per-variable network one step
    per variable). With `groups > 1` a training batch may be split into that many groups
    of similar history length, each padded to its own shape (`sample_groups`).
    """

    assemble: Callable
    size: Callable[[AnySeries, int, float | None, int], int]
    smallest: int
    tiers: int
    train_queries: int = 256
    groups: int = 1


# Four groups of similar length: on PhysioNet a random cut's history holds 37 events on
# average and a batch's longest about 128, so one shape for the whole batch is mostly
# padding; per group much less is (`benchmarks/README.md`, training steps).
EVENTS = Layout(assemble, history_events, smallest=128, tiers=2, groups=4)


def queries_in_window(f: Timed, c: int, horizon: float) -> np.ndarray:
    """Indices of the events in `(t_c, t_c + horizon]`."""
    stop = int(np.searchsorted(f.t, f.t[c] + horizon * (1 + _EDGE), side="right"))
    return np.arange(c + 1, max(stop, c + 1))


def max_window_events(feats: list[Timed], horizon: float) -> int:
    """Most events any series has within one horizon after one of its events (0: no
    event has another that close after it)."""
    most = 0
    for f in feats:
        stops = np.searchsorted(f.t, f.t + horizon * (1 + _EDGE), side="right")
        most = max(most, int((stops - np.arange(len(f.t)) - 1).max(initial=0)))
    return most


def sample_batch(
    feats: list[AnySeries],
    rng: np.random.Generator,
    *,
    batch_size: int,
    horizon: float,
    context: float | None,
    max_len: int,
    n_queries: int,
    layout: Layout = EVENTS,
) -> AnyBatch:
    """A training batch: random series, each cut at a random event (augmentation); the
    events within `horizon` after the cut are the targets. Series need >= 2 events."""
    chosen, cuts, taus, ys = _draw(feats, rng, batch_size, horizon, n_queries)
    return _pad_group(chosen, cuts, taus, ys, context, max_len, n_queries, layout, False)


def sample_groups(
    feats: list[AnySeries],
    rng: np.random.Generator,
    *,
    groups: int,
    batch_size: int,
    horizon: float,
    context: float | None,
    max_len: int,
    n_queries: int,
    layout: Layout = EVENTS,
) -> list[AnyBatch]:
    """The samples `sample_batch` draws (from the same random numbers), sorted by history
    length and split into `groups` batches of `batch_size // groups`, each padded to its
    own shape from finer tiers; one group is `[sample_batch(...)]`. A step weighs the
    groups' losses by their shares of the targets (`s5ts._training.train`): the same
    samples and the same objective as one batch, with far less padding."""
    chosen, cuts, taus, ys = _draw(feats, rng, batch_size, horizon, n_queries)
    grouped = groups > 1
    order = np.arange(batch_size)
    if grouped:
        sizes = [layout.size(f, c, context, max_len) for f, c in zip(chosen, cuts, strict=True)]
        order = np.argsort(sizes, kind="stable")
    rows = batch_size // groups
    return [
        _pad_group(
            [chosen[i] for i in part],
            [cuts[i] for i in part],
            [taus[i] for i in part],
            [ys[i] for i in part],
            context,
            max_len,
            n_queries,
            layout,
            grouped,
        )
        for part in (order[k : k + rows] for k in range(0, batch_size, rows))
    ]


def _draw(feats, rng, batch_size: int, horizon: float, n_queries: int):
    # Random series, each cut at a random event; the events within `horizon` after the
    # cut are the targets (at most `n_queries` of them, drawn at random).
    which = rng.choice(len(feats), batch_size, replace=len(feats) < batch_size)
    chosen, cuts, taus, ys = [], [], [], []
    for i in which:
        f = feats[i]
        c = int(rng.integers(0, len(f.t) - 1))
        q = queries_in_window(f, c, horizon)
        if len(q) > n_queries:
            q = np.sort(rng.choice(q, n_queries, replace=False))
        chosen.append(f), cuts.append(c), taus.append(f.t[q] - f.t[c]), ys.append(f.y[q])
    return chosen, cuts, taus, ys


def _pad_group(chosen, cuts, taus, ys, context, max_len, n_queries, layout, grouped):
    # A few shapes per axis: the longest (history, query list), or a half (a history in
    # groups: a quarter too) of it when every sample fits. A new shape costs a
    # compilation worth hundreds of steps on a CPU, but on long, skewed series
    # (PhysioNet: 215 events at most, 37 on average at a random cut) the full shape pads
    # most steps several-fold.
    (small, tiers), (small_q, tiers_q) = _tier_rules(layout, grouped)
    pairs = zip(chosen, cuts, strict=True)
    longest = max(layout.size(f, c, context, max_len) for f, c in pairs)
    length = _tier(longest, max_len, smallest=small, tiers=tiers)
    queries = _tier(max(len(t) for t in taus), n_queries, smallest=small_q, tiers=tiers_q)
    return layout.assemble(
        chosen, cuts, taus, ys, length=length, n_queries=queries, context=context
    )


def _tier_rules(layout: Layout, grouped: bool) -> tuple[tuple[int, int], tuple[int, int]]:
    """(smallest, tiers) of the padded history and of the padded query list. Groups,
    sorted by history length, get a finer tier of history; a finer tier of queries saved
    1 % of a PhysioNet step for three more compilations, so they keep the batch's."""
    queries = (64, 2)
    if not grouped:
        return (layout.smallest, layout.tiers), queries
    return (layout.smallest // 2, layout.tiers + 1), queries


def _shape_grid(max_len: int, n_queries: int, layout: Layout, grouped: bool) -> list:
    """Every (history length, query list) shape the sampler can pad to."""
    (small, tiers), (small_q, tiers_q) = _tier_rules(layout, grouped)
    return [
        (length, q)
        for length in _tiers(max_len, small, tiers)
        for q in _tiers(n_queries, small_q, tiers_q)
    ]


def _tiers(full: int, smallest: int, tiers: int) -> list[int]:
    # Every length `_tier` can pick, ascending.
    return sorted({_tier(need, full, smallest, tiers) for need in _needs(full)})


def history_tiers(max_len: int, layout: Layout = EVENTS) -> list[int] | None:
    """The padded history lengths of repeated passes (`plan_batches(lengths=...)`): the
    grouped tiers of training for a layout that groups, else None (one shape)."""
    if layout.groups <= 1:
        return None
    (small, tiers), _ = _tier_rules(layout, grouped=True)
    return _tiers(max_len, small, tiers)


def training_groups(
    batch_size: int, *, max_len: int, n_queries: int, layout: Layout = EVENTS, devices: int = 1
) -> int:
    """How many groups `sample_groups` splits a training batch into: the layout's
    `groups` where they make parts of at least 8 rows that split evenly over the devices
    and finer shapes exist to pad them to; else one."""
    g = layout.groups
    if g <= 1 or batch_size % (g * devices) or batch_size // g < 8:
        return 1
    finer = _shape_grid(max_len, n_queries, layout, grouped=True)
    return g if len(finer) > len(_shape_grid(max_len, n_queries, layout, grouped=False)) else 1


def training_shapes(
    feats: list[AnySeries],
    *,
    batch_size: int,
    max_len: int,
    n_queries: int,
    layout: Layout = EVENTS,
    groups: int = 1,
) -> list[AnyBatch]:
    """One batch of every shape `sample_groups` can draw (its histories and query lists
    come in `_tier`s), so that a fit can compile them all before its first step."""
    f = feats[0]
    rows = batch_size // groups
    return [
        layout.assemble(
            [f] * rows,
            [0] * rows,
            [np.zeros(0)] * rows,
            [None] * rows,
            length=length,
            n_queries=q,
            context=None,
        )
        for length, q in _shape_grid(max_len, n_queries, layout, groups > 1)
    ]


def _needs(full: int) -> list[int]:
    # 1, 2, 4, ..., full: every tier `_tier` can pick is reached by one of them.
    return [1 << k for k in range(max(full, 1).bit_length())] + [full]


def _tier(need: int, full: int, smallest: int, tiers: int = 2) -> int:
    """The shortest of `full`, `full // 2`, ... (`tiers` lengths, none below `smallest`)
    that holds `need`."""
    length = full
    for _ in range(tiers - 1):
        if length < 2 * smallest or need > length // 2:
            break
        length //= 2
    return length


def plan_batches(
    feats: list[AnySeries],
    series: np.ndarray,
    cutoff: np.ndarray,
    tau: np.ndarray,
    targets: np.ndarray | None = None,
    *,
    batch_size: int,
    length: int,
    n_queries: int,
    context: float | None,
    layout: Layout = EVENTS,
    lengths: list[int] | None = None,
) -> Iterator[tuple[np.ndarray, AnyBatch]]:
    """Group R query rows (series, cutoff event, tau) into batches of one fixed shape.

    Rows sharing a (series, cutoff) share one history (its last `length` events at most);
    longer query lists repeat the history. Yields (row index of each query slot (B, Q),
    Batch) pairs, -1 in unused slots, lazily: one padded batch in memory at a time. One
    shape means one compilation, and each query's result depends only on its own row.
    With `lengths` (ascending, the last `length`; `history_tiers`) the histories are
    batched shortest first and each batch is padded to the first length that holds it:
    a few shapes instead of one, for a pass repeated many times (validation).
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
    need = None
    if lengths is not None:  # shortest first: a batch's longest history is its last
        need = np.array([layout.size(feats[s], c, context, length) for s, c, _ in groups])
        by_need = np.argsort(need, kind="stable")
        groups, need = [groups[k] for k in by_need], need[by_need]
    for k in range(0, len(groups), batch_size):
        chunk = groups[k : k + batch_size]
        pad = batch_size - len(chunk)
        size = length
        if need is not None:
            size = next(n for n in lengths if n >= need[k + len(chunk) - 1])
        pos = np.full((batch_size, n_queries), -1, np.int64)
        for i, (_, _, rows) in enumerate(chunk):
            pos[i, : len(rows)] = rows
        batch = layout.assemble(
            [feats[s] for s, _, _ in chunk] + [None] * pad,
            [c for _, c, _ in chunk] + [0] * pad,
            [tau[r] for _, _, r in chunk] + [np.zeros(0)] * pad,
            [None if targets is None else targets[r] for _, _, r in chunk] + [None] * pad,
            length=size,
            n_queries=n_queries,
            context=context,
        )
        yield pos, batch


T = TypeVar("T")
_END = object()  # marks the end of `built_ahead`'s items


def built_ahead(items: Iterable[T]) -> Iterator[T]:
    """`items` in order, each built in a background thread while the caller works on the
    one before: the numpy work of planning a batch overlaps the XLA work of forecasting
    the last one (`eqx.filter_jit` returns only once a call is done, so nothing overlaps
    it in one thread). One item is built ahead, never more. An error raised while
    building reaches the caller; a caller that stops early stops the thread."""
    ready: queue.Queue = queue.Queue()
    wanted = threading.Semaphore(1)  # items asked for and not yet started
    stop = threading.Event()

    def run() -> None:
        it = iter(items)
        while True:
            wanted.acquire()
            if stop.is_set():
                return
            try:
                item = next(it, _END)
            except BaseException as err:  # raised in the caller, not lost here
                ready.put(_Raised(err))
                return
            ready.put(item)
            if item is _END:
                return

    thread = threading.Thread(target=run, name="s5ts-batches", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, _Raised):
                raise item.error
            wanted.release()
            yield item
    finally:
        stop.set()
        wanted.release()
        thread.join()


class _Raised(NamedTuple):
    error: BaseException
