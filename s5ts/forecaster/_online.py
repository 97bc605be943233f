"""Streaming: encode each series' history once, then add new events as they arrive.

A `ForecastState` holds per series what later events and queries need: every block's SSM
state after the last event, and the features carried from event to event (times, when
each target was last observed, LOCF, running sums and counts, the recent mean's decaying
sums, statics). An update computes the new events' features from that carry with
`continue_features` — the code `series_features` runs over a whole history — and scans
only them, from the stored states. Padding is an exact no-op in the scan, so series with
different numbers of new events share one batch. A forecast steps one virtual query event
from the state through `ForecastNet.decode`, the head `predict` runs, so streamed
forecasts equal `predict` on the full history (to float rounding) at the cost of the new
events only.

Every function here maps (fitted forecaster, state, frame) to a new state or frame; a
state is never changed in place (its arrays are read-only).
"""

from dataclasses import dataclass, replace

import numpy as np
from jaxtyping import Complex, Float, Int64, Shaped

from ..batching import (
    FIRST_GAP,
    Carry,
    SeriesFeatures,
    VariableBatch,
    continue_features,
    next_pow2,
    recent_mean,
    variable_tokens,
)
from ..data import Panel, fmt_ids, make_frame
from ..network import (
    VariableClocks,
    decode_batch,
    decode_variables,
    encode_batch,
    encode_variables,
)
from ._predict import check_query_columns, check_request, columns_from_scaled, query_rows, warn_far


QUERY_BATCH = 256  # most query rows per network call (padded to a power of two below it)


@dataclass(frozen=True, eq=False, repr=False)
class ForecastState:
    """The streaming state of S series (C targets, K statics); immutable.

    Made by `S5Forecaster.init_state`, advanced by `S5Forecaster.update` (which returns a
    new state) and read by `S5Forecaster.predict_from_state`. It carries the whole history
    of every series: nothing is forgotten or cut. Model-unit times are the forecaster's
    time scale, counted from each series' first event. It records the fingerprint of the
    model that made it: it serves that model and its saved / loaded or pickled copies only.
    """

    states: tuple[Complex[np.ndarray, "series ..."], ...]  # per block, after the last event
    first: Shaped[np.ndarray, " series"]  # raw time of the first event
    last: Shaped[np.ndarray, " series"]  # raw time of the last event
    t: Float[np.ndarray, " series"]  # model-unit time of the last event
    seen_at: Float[np.ndarray, "series targets"]  # model-unit time last observed; NaN: never
    locf: Float[np.ndarray, "series targets"]  # last observed value (scaled); 0: never
    total: Float[np.ndarray, "series targets"]  # sum of the observed values (scaled)
    count: Int64[np.ndarray, "series targets"]  # number of observed values
    # The recent mean's numerator and denominator at the last event (`recent_sums`).
    recent_total: Float[np.ndarray, "series targets"]
    recent_weight: Float[np.ndarray, "series targets"]
    static: Float[np.ndarray, "series statics"]  # normalised static covariates
    n_events: Int64[np.ndarray, " series"]  # events encoded so far
    # A Panel without events: the ids (sorted), column names, time and id dtypes and frame
    # backend, to read queries and build frames exactly as `predict` does.
    template: Panel
    fingerprint: str  # the model's (`FittedForecaster.fingerprint`): states are per model

    def __post_init__(self):
        arrays = (self.first, self.last, self.t, self.seen_at, self.locf, self.total, self.count)
        arrays += (self.recent_total, self.recent_weight)
        for a in (*self.states, *arrays, self.static, self.n_events, self.template.ids):
            a.flags.writeable = False

    @property
    def ids(self) -> np.ndarray:
        """(S,) the series ids, sorted."""
        return self.template.ids

    @property
    def n_series(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (
            f"ForecastState(n_series={self.n_series}, n_events={int(self.n_events.sum())}, "
            f"targets={list(self.template.target_cols)})"
        )


def init_state(fitted, runtime, df, static_df, context) -> ForecastState:
    """The state after all events of every series in `df` (see `S5Forecaster.init_state`);
    `context` is the hyperparameter, for the error message."""
    if fitted.context is not None:
        raise ValueError(
            f"streaming needs a forecaster fitted with context=None, this one has "
            f"context={context!r}: a recurrent state cannot forget events older than the "
            "context. Refit with context=None, or use predict on the recent history."
        )
    panel = fitted.read(df, static_df, runtime.duplicates)
    s, c = panel.n_series, len(fitted.target_cols)
    first = panel.times[panel.indptr[:-1]]
    empty = ForecastState(
        states=tuple(np.asarray(a) for a in _zero_states(fitted, s)),
        first=first,
        last=first,
        # "Before the first event": its gap comes out as FIRST_GAP, as in series_features.
        t=np.full(s, -FIRST_GAP),
        seen_at=np.full((s, c), np.nan),
        locf=np.zeros((s, c)),
        total=np.zeros((s, c)),
        count=np.zeros((s, c), np.int64),
        recent_total=np.zeros((s, c)),
        recent_weight=np.zeros((s, c)),
        static=fitted.statics(panel),
        n_events=np.zeros(s, np.int64),
        template=replace(
            panel,
            indptr=np.zeros(s + 1, np.int64),
            # Copies: a view would keep the whole history's arrays alive in the state.
            times=panel.times[:0].copy(),
            values=panel.values[:0].copy(),
            static=None,
        ),
        fingerprint=fitted.fingerprint(),
    )
    return _advance(fitted, empty, panel, np.arange(s), runtime.batch_size)


def update(fitted, runtime, state: ForecastState, new_df) -> ForecastState:
    """A new state with the rows of `new_df` appended (see `S5Forecaster.update`)."""
    _check_state(fitted, state)
    panel = fitted.read(new_df, None, runtime.duplicates, what="new_df", statics=False)
    where = {x: i for i, x in enumerate(state.ids.tolist())}
    rows = np.array([where.get(x, -1) for x in panel.ids.tolist()], np.int64)
    if (rows < 0).any():
        raise ValueError(
            f"new_df has series {fmt_ids(panel.ids[rows < 0])} (column {fitted.id_col!r}) that "
            "are not in the state; a state covers the series given to init_state: encode new "
            "series with init_state on their own history"
        )
    early = panel.times <= np.repeat(state.last[rows], panel.lengths)
    if early.any():
        bad = np.unique(panel.series_of_row[early])
        raise ValueError(
            f"new_df has {int(early.sum())} row(s) of series {fmt_ids(panel.ids[bad])} whose "
            f"{fitted.time_col!r} is at or before the series' last time in the state; updates "
            "must come after the events already encoded (those cannot be changed)"
        )
    return _advance(fitted, state, panel, rows, runtime.batch_size)


def predict_from_state(fitted, state: ForecastState, query_df, h, freq, level, quantiles):
    """The `predict` frame from a state (see `S5Forecaster.predict_from_state`)."""
    check_request(query_df, h, level, quantiles)
    check_query_columns(fitted, query_df)
    _check_state(fitted, state)
    like = state.template
    series, raw = query_rows(fitted, like, state.last, query_df, h, freq, "in the state")
    tau = fitted.time_scale.offsets(raw, state.last[series])
    warn_far(fitted, tau)
    mean, scale = _forecast(fitted, state, series, tau)
    cols = {like.id_col: like.ids[series], like.time_col: raw}
    cols.update(columns_from_scaled(fitted, like, series, mean, scale, level, quantiles))
    return make_frame(cols, like=like)


# -- the pure pieces ----------------------------------------------------------------------


def _advance(
    fitted, state: ForecastState, panel: Panel, rows: Int64[np.ndarray, " n"], batch_size: int
):
    """`state` after the events of `panel`, whose series i is the state's series rows[i]."""
    t = fitted.time_scale.offsets(panel.times, np.repeat(state.first[rows], panel.lengths))
    y = fitted.scaler.transform(panel.values).astype(np.float32)  # as `panel_features`
    carried = (state.t, state.seen_at, state.locf, state.total, state.count)
    carried += (state.recent_total, state.recent_weight)
    t_last, seen_at, locf, total, count, r_total, r_weight = (a.copy() for a in carried)
    feats, before = [], []
    for i, (a, b) in enumerate(zip(panel.indptr[:-1], panel.indptr[1:], strict=True)):
        r = rows[i]
        carry = Carry(*(c[r] for c in carried))
        f, after = continue_features(t[a:b], y[a:b], state.static[r], carry, fitted.input_bounds)
        t_last[r], seen_at[r], locf[r], total[r], count[r], r_total[r], r_weight[r] = after
        feats.append(f), before.append(carry.seen_at)
    old = tuple(s[rows] for s in state.states)
    if isinstance(fitted.architecture.network, VariableClocks):
        encoded = _encode_variables(fitted, old, feats, before, batch_size)
    else:
        encoded = _encode(fitted, old, [f.x for f in feats], [f.dt for f in feats], batch_size)
    states = tuple(s.copy() for s in state.states)
    for s, e in zip(states, encoded, strict=True):
        s[rows] = e
    last, n_events = state.last.copy(), state.n_events.copy()
    last[rows] = panel.times[panel.indptr[1:] - 1]
    n_events[rows] += panel.lengths
    return replace(
        state,
        states=states,
        last=last,
        t=t_last,
        seen_at=seen_at,
        locf=locf,
        total=total,
        count=count,
        recent_total=r_total,
        recent_weight=r_weight,
        n_events=n_events,
    )


def _encode(fitted, states, xs: list[np.ndarray], dts: list[np.ndarray], batch_size: int):
    """Per-block states (n, ...) after scanning series i's events xs[i] (m_i, F), dts[i].

    Shapes come in powers of two (series up to `batch_size`, events up to `max_len_`,
    longer runs in windows carrying the state), so a stream of updates compiles a few
    shapes once and then reuses them.
    """
    out = [np.empty_like(s) for s in states]
    width = min(next_pow2(max(len(d) for d in dts)), fitted.max_len)
    n_f = xs[0].shape[1]
    for start in range(0, len(xs), batch_size):
        group = np.arange(start, min(start + batch_size, len(xs)))
        b = min(next_pow2(len(group)), batch_size)
        carry = tuple(_pad_rows(s[group], b) for s in states)
        for w in range(0, max(len(dts[i]) for i in group), width):
            x = np.zeros((b, width, n_f), np.float32)
            dt = np.zeros((b, width), np.float32)
            valid = np.zeros((b, width), bool)
            for j, i in enumerate(group):
                m = len(dts[i][w : w + width])
                x[j, :m], dt[j, :m], valid[j, :m] = xs[i][w : w + m], dts[i][w : w + m], True
            carry = encode_batch(fitted.model, x, dt, valid, carry)
        for o, c in zip(out, carry, strict=True):
            o[group] = np.asarray(c)[: len(group)]
    return out


def _forecast(fitted, state: ForecastState, series, tau):
    """Means and scales (R, C), scaled units, of queries `tau` after series' last events."""
    if isinstance(fitted.architecture.network, VariableClocks):
        return _forecast_variables(fitted, state, series, tau)
    n_f = fitted.n_features
    xq = np.zeros((len(series), n_f), np.float32)
    for s in np.unique(series):
        at = np.flatnonzero(series == s)
        xq[at] = _at_last_event(state, s).query(0, tau[at])
    n_t = len(fitted.target_cols)
    level, recent = state.total / np.maximum(state.count, 1), _recent(state)
    mean, scale = np.zeros((len(series), n_t)), np.zeros((len(series), n_t))
    for start in range(0, len(series), QUERY_BATCH):
        at = np.arange(start, min(start + QUERY_BATCH, len(series)))
        b = next_pow2(len(at))
        # One query slot per row: each row steps from its own series' state.
        m, s = decode_batch(
            fitted.model,
            tuple(_pad_rows(a[series[at]], b) for a in state.states),
            _pad_rows(xq[at], b)[:, None],
            _pad_rows(tau[at].astype(np.float32), b)[:, None],
            _pad_rows(state.locf[series[at]].astype(np.float32), b),
            _pad_rows(level[series[at]].astype(np.float32), b),
            _pad_rows(recent[series[at]].astype(np.float32), b),
        )
        mean[at], scale[at] = np.asarray(m)[: len(at), 0], np.asarray(s)[: len(at), 0]
    return mean, scale


def _zero_states(fitted, n: int):
    """Every block's state before any event, for `n` series."""
    if isinstance(fitted.architecture.network, VariableClocks):
        return fitted.model.init_state((n, fitted.architecture.n_targets))
    return fitted.model.init_state((n,))


def _encode_variables(fitted, states, feats: list[SeriesFeatures], before, batch_size: int):
    """Per-block, per-variable states (n, C, ...) after each series' new events `feats[i]`
    (each variable continues from its own stored state; `before[i]` (C,): when each
    variable was last observed before them). Every observation is kept: none is cut."""
    n_t = fitted.architecture.n_targets
    out = [np.empty_like(s) for s in states]
    tokens = [
        variable_tokens(f, 0, len(f.t), len(f.t), seen_at=b)
        for f, b in zip(feats, before, strict=True)
    ]
    for start in range(0, len(feats), batch_size):
        group = np.arange(start, min(start + batch_size, len(feats)))
        b = min(next_pow2(len(group)), batch_size)
        most = max(int(np.bincount(tokens[i][0], minlength=n_t).max(initial=0)) for i in group)
        k = next_pow2(max(most, 1))
        batch = VariableBatch.empty(b, n_t, k, len(feats[group[0]].static), 1)
        for j, i in enumerate(group):
            v, slot, tok, gap = tokens[i]
            batch.obs[j, v, slot], batch.dt[j, v, slot], batch.valid[j, v, slot] = tok, gap, True
            batch.static[j] = feats[i].static
        carry = tuple(_pad_rows(s[group], b) for s in states)
        carry = encode_variables(fitted.model, batch, carry)
        for o, c in zip(out, carry, strict=True):
            o[group] = np.asarray(c)[: len(group)]
    return out


def _forecast_variables(fitted, state: ForecastState, series, tau):
    """`_forecast` for the per-variable-clock network: one query row per network row."""
    n_t = len(fitted.target_cols)
    seen = ~np.isnan(state.seen_at)
    since = np.where(seen, state.t[:, None] - state.seen_at, state.t[:, None] + FIRST_GAP)
    level, recent = state.total / np.maximum(state.count, 1), _recent(state)
    mean, scale = np.zeros((len(series), n_t)), np.zeros((len(series), n_t))
    for start in range(0, len(series), QUERY_BATCH):
        at = np.arange(start, min(start + QUERY_BATCH, len(series)))
        b = next_pow2(len(at))
        rows = series[at]
        batch = VariableBatch.empty(b, n_t, 1, state.static.shape[1], 1)._replace(
            since=_pad_rows(since[rows].astype(np.float32), b),
            seen=_pad_rows(seen[rows], b),
            t_cut=_pad_rows(state.t[rows].astype(np.float32), b),
            static=_pad_rows(state.static[rows].astype(np.float32), b),
            tau=_pad_rows(tau[at].astype(np.float32), b)[:, None],
            locf=_pad_rows(state.locf[rows].astype(np.float32), b),
            level=_pad_rows(level[rows].astype(np.float32), b),
            recent=_pad_rows(recent[rows].astype(np.float32), b),
        )
        states = tuple(_pad_rows(a[rows], b) for a in state.states)
        m, s = decode_variables(fitted.model, states, batch)
        mean[at], scale[at] = np.asarray(m)[: len(at), 0], np.asarray(s)[: len(at), 0]
    return mean, scale


def _at_last_event(state: ForecastState, i: int | np.integer) -> SeriesFeatures:
    # Series i as a one-event SeriesFeatures, so that its own `query` builds the query
    # features (it reads t, since, locf, seen, level and static; x, dt and y are empty).
    seen = ~np.isnan(state.seen_at[i])
    since = np.where(seen, state.t[i] - state.seen_at[i], state.t[i] + FIRST_GAP)
    level = state.total[i] / np.maximum(state.count[i], 1)
    n_t = state.locf.shape[1]
    return SeriesFeatures(
        t=state.t[i : i + 1],
        x=np.zeros((0, 0), np.float32),
        dt=np.zeros(0, np.float32),
        y=np.zeros((0, n_t), np.float32),
        locf=state.locf[i : i + 1].astype(np.float32),
        since=since[None],
        seen=seen[None],
        level=level[None].astype(np.float32),
        recent=recent_mean(state.recent_total[i], state.recent_weight[i])[None].astype(np.float32),
        static=state.static[i].astype(np.float32),
    )


def _recent(state: ForecastState) -> np.ndarray:
    """(S, C) each series' recent mean at its last event (0 where never observed), as
    `continue_features` computes it."""
    return recent_mean(state.recent_total, state.recent_weight)


def _pad_rows(a: np.ndarray, b: int) -> np.ndarray:
    # Zero rows up to b: a zero state with no valid event stays zero, and is discarded.
    return np.concatenate([a, np.zeros((b - len(a), *a.shape[1:]), a.dtype)])


def _check_state(fitted, state) -> None:
    if not isinstance(state, ForecastState):
        raise TypeError(
            f"state must be a ForecastState from init_state or update, got {type(state)!r}"
        )
    shapes = tuple(a.shape[1:] for a in state.states)
    mine = tuple(a.shape[1:] for a in _zero_states(fitted, 1))
    if (
        state.template.target_cols != fitted.target_cols
        or state.static.shape[1] != len(fitted.static_mean)
        or shapes != mine
    ):
        raise ValueError(
            "this state was made by a forecaster with other targets, statics or network "
            "sizes; build it with this forecaster's init_state"
        )
    if state.fingerprint != fitted.fingerprint():
        # Same sizes, other weights or scales: the stored SSM states would be meaningless.
        raise ValueError(
            "this state was made by another model (its fingerprint differs from this "
            "forecaster's: other weights, scalers or time scale); a state serves only the "
            "model that made it, or a saved / loaded or pickled copy of it. Build it with "
            "this forecaster's init_state"
        )
