"""How each network layout streams: the states before any event, the states after new
events (scanned from the stored ones, so an update costs the new events only), and
forecasts decoded from stored states.

The shared clock keeps one state per block and series and decodes a query as one virtual
event `tau` after the series' last event. Per-variable clocks (`VariableClocks`) keep one
per block, series and variable, and carry every variable's state to the query time.
`stream_of` picks the layout of a fitted forecaster's network; `_online` holds the state
and the public operations.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..batching import (
    FIRST_GAP,
    SeriesFeatures,
    VariableBatch,
    next_pow2,
    recent_mean,
    variable_tokens,
)
from ..network import (
    SharedClock,
    VariableClocks,
    decode_batch,
    decode_variables,
    encode_batch,
    encode_variables,
)
from ._forecast_state import ForecastState


QUERY_BATCH = 256  # most query rows per network call (padded to a power of two below it)


@dataclass(frozen=True)
class Stream:
    """One network layout's streaming functions, each pure (numpy in, numpy out):

    - `zero_states(fitted, n)`: every block's state before any event, for `n` series;
    - `encode(fitted, states, feats, before, batch_size)`: the states after each series'
      new events `feats[i]`, from its stored `states` (`before[i]` (C,): when each
      variable was last observed before them);
    - `forecast(fitted, state, series, tau)`: means and scales (R, C), scaled units, of
      queries `tau` after the last events of `series`.
    """

    zero_states: Callable
    encode: Callable
    forecast: Callable


def stream_of(fitted) -> Stream:
    """The streaming functions of `fitted`'s network layout."""
    network = fitted.architecture.network
    for kind, stream in _STREAMS.items():
        if isinstance(network, kind):
            return stream
    raise TypeError(f"streaming is not implemented for network {network!r}")


# -- the shared clock ---------------------------------------------------------------------


def _zero_shared(fitted, n: int):
    return fitted.model.init_state((n,))


def _encode_shared(fitted, states, feats: list[SeriesFeatures], before, batch_size: int):
    """Per-block states (n, ...) after scanning each series' new events `feats[i]` from
    its stored state (`before` is unused: one clock for all variables).

    Shapes come in powers of two (series up to `batch_size`, events up to `fitted.max_len`,
    longer runs in windows carrying the state), so a stream of updates compiles a few
    shapes once and then reuses them.
    """
    xs, dts = [f.x for f in feats], [f.dt for f in feats]
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


def _forecast_shared(fitted, state: ForecastState, series, tau):
    """Means and scales (R, C), scaled units, of queries `tau` after series' last events:
    one virtual query event stepped from each row's series state."""
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


# -- per-variable clocks ------------------------------------------------------------------


def _zero_variables(fitted, n: int):
    return fitted.model.init_state((n, fitted.architecture.n_targets))


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
    """Means and scales (R, C) for the per-variable-clock network: one query row per
    network row, every variable's state carried to the query time."""
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


# -- helpers ------------------------------------------------------------------------------


def _recent(state: ForecastState) -> np.ndarray:
    """(S, C) each series' recent mean at its last event (0 where never observed), as
    `continue_features` computes it."""
    return recent_mean(state.recent_total, state.recent_weight)


def _pad_rows(a: np.ndarray, b: int) -> np.ndarray:
    # Zero rows up to b: a zero state with no valid event stays zero, and is discarded.
    return np.concatenate([a, np.zeros((b - len(a), *a.shape[1:]), a.dtype)])


_STREAMS = {
    SharedClock: Stream(_zero_shared, _encode_shared, _forecast_shared),
    VariableClocks: Stream(_zero_variables, _encode_variables, _forecast_variables),
}
