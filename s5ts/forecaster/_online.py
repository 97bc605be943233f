"""Streaming: encode each series' history once, then add new events as they arrive.

A `ForecastState` holds per series what later events and queries need: every block's SSM
state after the last event, and the features carried from event to event (times, when
each target was last observed, LOCF, running sums and counts, the recent mean's decaying
sums, statics). An update computes the new events' features from that carry with
`continue_features` — the code `series_features` runs over a whole history — and scans
only them, from the stored states. Padding is an exact no-op in the scan, so series with
different numbers of new events share one batch. A forecast decodes queries from the
stored states with the head `predict` runs, so streamed forecasts equal `predict` on the
full history (to float rounding) at the cost of the new events only. How each network
layout encodes and decodes is in `_streams`.

Every function here maps (fitted forecaster, state, frame) to a new state or frame; a
state is never changed in place (its arrays are read-only).
"""

from dataclasses import replace

import numpy as np
from jaxtyping import Int64

from ..batching import FIRST_GAP, Carry, continue_features
from ..data import Panel, fmt_ids, make_frame
from ._forecast_state import ForecastState
from ._predict import check_query_columns, check_request, columns_from_scaled, query_rows, warn_far
from ._streams import stream_of


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
        states=tuple(np.asarray(a) for a in stream_of(fitted).zero_states(fitted, s)),
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
    mean, scale = stream_of(fitted).forecast(fitted, state, series, tau)
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
    encoded = stream_of(fitted).encode(fitted, old, feats, before, batch_size)
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


def _check_state(fitted, state) -> None:
    if not isinstance(state, ForecastState):
        raise TypeError(
            f"state must be a ForecastState from init_state or update, got {type(state)!r}"
        )
    shapes = tuple(a.shape[1:] for a in state.states)
    mine = tuple(a.shape[1:] for a in stream_of(fitted).zero_states(fitted, 1))
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
