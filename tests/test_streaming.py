"""Streaming (`init_state` / `update` / `predict_from_state`) against `predict` on the full
history, purity of the state, partial updates, grids, errors, polars and persistence.

One tiny model is fitted once per module and shared (see `test_forecaster.py`).
"""

import copy
import dataclasses

import equinox as eqx
import jax
import numpy as np
import pandas as pd
import polars as pl
import pytest
from _tiny import TINY

import s5ts
from s5ts.batching import Carry, continue_features, series_features
from s5ts.datasets import synthetic_vitals


IDS = ["patient_000", "patient_003", "patient_007"]
TOL = dict(rtol=1e-5)


@pytest.fixture(scope="module")
def data():
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    return df, static_df


@pytest.fixture(
    scope="module",
    params=[(s5ts.SharedClock(), 1), (s5ts.VariableClocks(), 1), (s5ts.SharedClock(), 3)],
    ids=["shared", "own", "shared-3-folds"],
)
def fitted(data, request):
    # Both networks: one clock for every event, or each variable on its own clock; and a
    # cross-fitted ensemble (one network per fold, states carried per member).
    df, static_df = data
    network, folds = request.param
    return s5ts.S5Forecaster(**(TINY | dict(folds=folds)), network=network).fit(df, static_df)


@pytest.fixture(scope="module")
def sharp(fitted):
    """`fitted` with a random last head layer. A 20-step fit barely moves that layer from
    its zero initialisation, so the forecasts stay near LOCF and hardly show the encoded
    history; random weights make every feature and state matter, so that a wrong feature
    fails the comparisons below by far more than their tolerance."""
    est = copy.deepcopy(fitted)

    def network(m):  # an ensemble's head weights have a leading member axis
        return m.members if isinstance(m, s5ts.network.Ensemble) else m

    last = network(est.model_).head.layers[-1]
    weight = jax.random.normal(jax.random.key(7), last.weight.shape)
    model = eqx.tree_at(lambda m: network(m).head.layers[-1].weight, est.model_, weight)
    est.fitted_ = est.fitted_.replace(model=model)
    return est


@pytest.fixture(scope="module")
def ward(data):
    """Three patients split into their first two events and the rest, in time order."""
    df, _ = data
    sub = df[df["unique_id"].isin(IDS)].reset_index(drop=True)
    early = sub.groupby("unique_id").cumcount() < 2
    rest = sub[~early].sort_values(["ds", "unique_id"], kind="stable")
    return sub, sub[early], rest


def _queries(ids, times):
    return pd.DataFrame({"unique_id": np.repeat(ids, len(times)), "ds": np.tile(times, len(ids))})


def _values(frame):
    return frame.drop(columns=["unique_id", "ds"]).to_numpy()


def _same_forecasts(streamed, direct):
    assert list(streamed.columns) == list(direct.columns)
    assert (streamed["unique_id"].to_numpy() == direct["unique_id"].to_numpy()).all()
    np.testing.assert_array_equal(streamed["ds"].to_numpy(), direct["ds"].to_numpy())
    _close(_values(streamed), _values(direct))


def _close(a, b):
    # rtol 1e-5 of each value, and of each column's largest value: a forecast near zero
    # comes from cancelling the scaler's mean against the network's float32 output.
    scale = np.abs(b).max(axis=0, keepdims=True)
    assert np.all(np.abs(a - b) <= TOL["rtol"] * (np.abs(b) + scale)), np.abs(a - b).max()


def test_continued_features_equal_those_of_the_whole_series():
    # Chunk after chunk, continuing from the carry gives the whole series' features, bit
    # for bit (including the empty chunk an update never sends, and a one-event chunk).
    rng = np.random.default_rng(0)
    n, c = 40, 4
    t = np.cumsum(rng.exponential(1.0, n))
    t -= t[0]
    y = rng.normal(size=(n, c))
    y[rng.random((n, c)) < 0.6] = np.nan
    y[:15, 3] = np.nan  # a variable first seen late
    static = rng.normal(size=2)
    whole = series_features(t, y, static)
    carry = Carry.start(c)
    parts = []
    for a, b in [(0, 1), (1, 7), (7, 7), (7, 8), (8, 23), (23, n)]:
        f, carry = continue_features(t[a:b], y[a:b], static, carry)
        parts.append(f)
    for name in ("x", "dt", "locf", "since", "seen", "level"):
        got = np.concatenate([getattr(f, name) for f in parts])
        np.testing.assert_array_equal(got, getattr(whole, name), err_msg=name)
    # The recent mean's decaying sums restart their blocks at each chunk: equal to rounding.
    got = np.concatenate([f.recent for f in parts])
    np.testing.assert_allclose(got, whole.recent, rtol=1e-6, atol=1e-7)
    assert carry.t == t[-1] and carry.count.sum() == (~np.isnan(y)).sum()


def test_recent_mean_matches_a_plain_loop_across_long_gaps():
    # The recent mean against a float64 loop in log space (each weight relative to the
    # largest, so no sum underflows), on a series with gaps of up to 30,000 model units:
    # after a gap the decaying sums of `recent_sums` would underflow; the mean holds.
    rng = np.random.default_rng(1)
    n, c = 60, 3
    gaps = rng.exponential(1.0, n)
    gaps[[20, 40]] = [9_000.0, 30_000.0]
    t = np.cumsum(gaps)
    t -= t[0]
    y = rng.normal(size=(n, c))
    y[rng.random((n, c)) < 0.5] = np.nan
    y[21:, 2] = np.nan  # a variable last seen before the first long gap
    whole = series_features(t, y, np.zeros(0))
    want = np.zeros((n, c))
    for i in range(n):
        for k in range(c):
            j = np.flatnonzero(~np.isnan(y[: i + 1, k]))
            if len(j):
                logw = -(t[i] - t[j]) * np.log(2.0) / 8.0
                w = np.exp(logw - logw.max())
                want[i, k] = (w * y[j, k]).sum() / w.sum()
    np.testing.assert_allclose(whole.recent, want, rtol=1e-5, atol=1e-6)
    carry, parts = Carry.start(c), []
    for a, b in [(0, 21), (21, 22), (22, 41), (41, n)]:
        f, carry = continue_features(t[a:b], y[a:b], np.zeros(0), carry)
        parts.append(f.recent)
    np.testing.assert_allclose(np.concatenate(parts), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("how", ["whole", "one_event_at_a_time", "one_chunk"])
def test_streamed_forecasts_equal_predict_on_the_full_history(data, sharp, ward, how):
    df, static_df = data
    full, head, rest = ward
    # The split leaves variables not yet seen at the start of the stream (Lactate is rare).
    unseen = head.groupby("unique_id")[list(sharp.target_cols_)].count() == 0
    assert unseen.any(axis=None)
    if how == "whole":
        state = sharp.init_state(full, static_df)
    else:
        state = sharp.init_state(head, static_df)
        if how == "one_chunk":  # several events per series, different counts: padded
            state = sharp.update(state, rest)
        else:
            for k in range(len(rest)):
                state = sharp.update(state, rest.iloc[[k]])
    assert state.n_series == 3 and state.n_events.sum() == len(full)
    q = _queries(IDS, [24.25, 25.0, 30.0, 41.5])
    streamed = sharp.predict_from_state(state, q, level=[80, 95], quantiles=[0.1, 0.9])
    direct = sharp.predict(full, q, static_df=static_df, level=[80, 95], quantiles=[0.1, 0.9])
    _same_forecasts(streamed, direct)


# Queries a day past a two-event history: beyond twice the horizon, on purpose.
@pytest.mark.filterwarnings("ignore::s5ts.ExtrapolationWarning")
def test_update_returns_a_new_state_and_leaves_the_old_one(sharp, ward, data):
    _, static_df = data
    _, head, rest = ward
    before = sharp.init_state(head, static_df)
    q = _queries(IDS, [30.0])
    old = sharp.predict_from_state(before, q, level=[80])
    after = sharp.update(before, rest.iloc[:10])
    assert after is not before and before.n_events.sum() == len(head)
    pd.testing.assert_frame_equal(sharp.predict_from_state(before, q, level=[80]), old)
    assert not np.allclose(_values(sharp.predict_from_state(after, q, level=[80])), _values(old))
    with pytest.raises(ValueError, match="read-only"):
        before.locf[0, 0] = 1.0


# Queries a day past a two-event history: beyond twice the horizon, on purpose.
@pytest.mark.filterwarnings("ignore::s5ts.ExtrapolationWarning")
def test_updating_some_series_leaves_the_others_unchanged(sharp, ward, data):
    _, static_df = data
    _, head, rest = ward
    state = sharp.init_state(head, static_df)
    q = _queries(IDS, [26.0, 29.0])
    before = sharp.predict_from_state(state, q)
    one = sharp.update(state, rest[rest["unique_id"] == IDS[1]].iloc[:5])
    after = sharp.predict_from_state(one, q)
    moved = (after["unique_id"] == IDS[1]).to_numpy()
    np.testing.assert_array_equal(_values(after[~moved]), _values(before[~moved]))
    assert not np.allclose(_values(after[moved]), _values(before[moved]))
    assert one.n_events.tolist() == [2, 7, 2]


def test_grid_like_predict(data, sharp):
    df, static_df = data
    state = sharp.init_state(df, static_df)
    kw = dict(h=3, freq=0.5, level=[95, 80], quantiles=[0.1])
    _same_forecasts(
        sharp.predict_from_state(state, **kw), sharp.predict(df, static_df=static_df, **kw)
    )
    # freq defaults to the median gap seen in training, as in predict
    _same_forecasts(
        sharp.predict_from_state(state, h=2), sharp.predict(df, h=2, static_df=static_df)
    )


def test_histories_longer_than_max_len_are_kept_whole(sharp):
    # `predict` would cut these to their latest max_len_ events; streaming encodes all of
    # them, in windows of max_len_ events that carry the state.
    df, static_df = synthetic_vitals(2, seed=8, hours=96.0)
    assert df.groupby("unique_id").size().min() > sharp.max_len_
    whole = sharp.init_state(df, static_df)
    head = df[df["ds"] <= 30.0]
    streamed = sharp.update(sharp.init_state(head, static_df), df[df["ds"] > 30.0])
    assert whole.n_events.sum() == streamed.n_events.sum() == len(df)
    a, b = (sharp.predict_from_state(s, h=3, level=[80]) for s in (whole, streamed))
    _close(_values(a), _values(b))


def test_errors(data, fitted, ward):
    df, static_df = data
    _, head, rest = ward
    state = fitted.init_state(head, static_df)
    other = df[df["unique_id"] == "patient_001"].iloc[[5]]
    with pytest.raises(ValueError, match=r"series \['patient_001'\].*not in the state"):
        fitted.update(state, other)
    stale = head[head["unique_id"] == IDS[0]].iloc[[-1]]
    with pytest.raises(ValueError, match=r"at or before the series' last time"):
        fitted.update(state, stale)
    with pytest.raises(ValueError, match="lacks target column"):
        fitted.update(state, rest.drop(columns=["HR"]))
    with pytest.raises(ValueError, match="static"):
        fitted.init_state(head)
    last = head.loc[head["unique_id"] == IDS[2], "ds"].max()
    with pytest.raises(ValueError, match="last observed time in the state"):
        fitted.predict_from_state(state, _queries([IDS[2]], [last]))
    with pytest.raises(ValueError, match="pass query_df"):
        fitted.predict_from_state(state)
    with pytest.raises(TypeError, match="ForecastState"):
        fitted.predict_from_state(head, h=2)


def test_context_and_unfitted_forecasters_refuse_to_stream(data, fitted, ward):
    df, static_df = data
    _, head, _ = ward
    windowed = s5ts.S5Forecaster(**TINY | {"context": 6.0, "max_steps": 2}).fit(df, static_df)
    with pytest.raises(ValueError, match="context=None"):
        windowed.init_state(head, static_df)
    state = fitted.init_state(head, static_df)
    fresh = s5ts.S5Forecaster(**TINY)
    with pytest.raises(s5ts.NotFittedError, match="not fitted"):
        fresh.init_state(head, static_df)
    with pytest.raises(s5ts.NotFittedError, match="not fitted"):
        fresh.update(state, head)
    with pytest.raises(s5ts.NotFittedError, match="not fitted"):
        fresh.predict_from_state(state, h=2)


def test_polars_in_polars_out(data, sharp, ward):
    _, static_df = data
    full, head, rest = ward
    state = sharp.init_state(pl.from_pandas(head), pl.from_pandas(static_df))
    state = sharp.update(state, pl.from_pandas(rest))
    out = sharp.predict_from_state(state, pl.from_pandas(_queries(IDS, [25.0, 28.0])), level=[80])
    assert isinstance(out, pl.DataFrame)
    ref = sharp.predict(full, _queries(IDS, [25.0, 28.0]), static_df=static_df, level=[80])
    assert out.columns == list(ref.columns)
    _close(out.drop("unique_id", "ds").to_numpy(), _values(ref))


def test_loaded_forecaster_streams(tmp_path, data, fitted, ward):
    _, static_df = data
    _, head, rest = ward
    fitted.save(tmp_path / "m")
    loaded = s5ts.S5Forecaster.load(tmp_path / "m")
    a = fitted.predict_from_state(fitted.update(fitted.init_state(head, static_df), rest), h=2)
    b = loaded.predict_from_state(loaded.update(loaded.init_state(head, static_df), rest), h=2)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    # A state is plain data: one made by the original serves the loaded copy too.
    c = loaded.predict_from_state(fitted.update(fitted.init_state(head, static_df), rest), h=2)
    pd.testing.assert_frame_equal(a, c, check_exact=True)
    # ... but not a forecaster of another shape.
    wide = copy.deepcopy(fitted)
    arch = dataclasses.replace(wide.fitted_.architecture, state_size=16)
    wide.fitted_ = wide.fitted_.replace(architecture=arch, model=arch.build(jax.random.key(0)))
    with pytest.raises(ValueError, match="other targets, statics or network sizes"):
        wide.predict_from_state(fitted.init_state(head, static_df), h=2)
