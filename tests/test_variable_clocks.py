"""The per-variable-clock network through the public API: each variable's tokens and gaps
against a plain loop, query, batch and padding independence, time-unit invariance.
(Streaming, save / load and 1 vs 2 devices run for both networks in their own files.)"""

import numpy as np
import pandas as pd
import pytest
from _tiny import TINY

import s5ts
from s5ts.batching import series_features, variable_tokens
from s5ts.datasets import synthetic_vitals


OWN = dict(TINY, network=s5ts.VariableClocks(heads=2))


@pytest.fixture(scope="module")
def data():
    return synthetic_vitals(12, seed=5, hours=24.0)


@pytest.fixture(scope="module")
def fitted(data):
    df, static_df = data
    return s5ts.S5Forecaster(**OWN).fit(df, static_df)


def _queries(ids, times):
    return pd.DataFrame({"unique_id": np.repeat(ids, len(times)), "ds": np.tile(times, len(ids))})


def _values(frame):
    return frame.drop(columns=["unique_id", "ds"]).to_numpy()


def test_tokens_follow_each_variables_own_clock():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 20, 30))
    t -= t[0]
    y = rng.normal(size=(30, 3))
    y[rng.random(y.shape) < 0.6] = np.nan
    f = series_features(t, y, np.zeros(0))
    v, slot, feats, gap = variable_tokens(f, 0, 30, keep=4)
    for j in range(3):
        seen = np.flatnonzero(~np.isnan(y[:, j]))
        kept = seen[-4:]  # the latest four observations, oldest first
        mine = np.flatnonzero(v == j)
        assert sorted(slot[mine]) == list(range(len(kept)))
        order = mine[np.argsort(slot[mine])]
        np.testing.assert_allclose(feats[order, 0], y[kept, j], rtol=1e-6)  # values
        for k, e in zip(order, kept, strict=True):  # gap to the variable's previous sighting
            prev = seen[seen < e]
            want = t[e] - t[prev[-1]] if len(prev) else t[e] + 1.0
            assert gap[k] == pytest.approx(want, rel=1e-6)
            assert feats[k, 2] == pytest.approx(np.log1p(want), rel=1e-5)


def test_query_independence(data, fitted):
    df, static_df = data
    ids = ["patient_000", "patient_003"]
    many = fitted.predict(df, _queries(ids, [24.5, 26.0, 30.0, 33.3]), static_df=static_df)
    one = fitted.predict(df, _queries(ids[1:], [30.0]), static_df=static_df)
    row = many[(many["unique_id"] == ids[1]) & (many["ds"] == 30.0)]
    np.testing.assert_allclose(_values(row), _values(one), rtol=1e-6)


def test_batch_and_padding_independence(data, fitted):
    df, static_df = data
    base = fitted.predict(df, h=20, freq=0.5, static_df=static_df, level=[80])
    fitted.set_params(batch_size=3)
    try:
        small = fitted.predict(df, h=20, freq=0.5, static_df=static_df, level=[80])
        alone = fitted.predict(df[df["unique_id"] == "patient_007"], h=20, freq=0.5,
                               static_df=static_df, level=[80])  # fmt: skip
    finally:
        fitted.set_params(batch_size=TINY["batch_size"])
    np.testing.assert_allclose(_values(small), _values(base), rtol=1e-6, atol=1e-6)
    ref = base[base["unique_id"] == "patient_007"]
    np.testing.assert_allclose(_values(alone), _values(ref), rtol=1e-6, atol=1e-6)


def test_time_unit_invariance(data, fitted):
    df, static_df = data
    minutes = df.assign(ds=df["ds"] * 60.0)
    est = s5ts.S5Forecaster(**OWN | {"horizon": 12.0 * 60}).fit(minutes, static_df)
    q = _queries(["patient_002", "patient_009"], [24.25, 27.0, 35.5])
    in_hours = fitted.predict(df, q, static_df=static_df, level=[95])
    in_minutes = est.predict(minutes, q.assign(ds=q["ds"] * 60.0), static_df=static_df, level=[95])
    np.testing.assert_allclose(_values(in_minutes), _values(in_hours), rtol=1e-5, atol=1e-5)
