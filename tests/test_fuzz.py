"""Fuzzed panels: fit + predict either forecasts every query row with finite numbers or
raises a clear ValueError/TypeError. Never a silent NaN, never a lost row.

Kept cheap: few examples, a tiny model, a few steps, and panels small enough that every
example compiles to the same few shapes (histories padded to 16 events, 2 targets).
"""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _tiny import TINY
from hypothesis import HealthCheck, event, given, settings, strategies as st

import s5ts


TINY = {**TINY, "max_steps": 4, "eval_every": 4, "horizon": None, "random_state": 0}
_GAPS = [1e-3, 0.25, 1.0, 3.0, 50.0]
_VALUE = st.one_of(st.just(np.nan), st.floats(-1e3, 1e3, allow_nan=False), st.just(0.0))


@st.composite
def panels(draw):
    zero_gaps = draw(st.sampled_from([False, False, True]))  # zero gap = duplicate time
    rows = []
    for i in range(draw(st.integers(1, 6))):
        n = draw(st.integers(1, 14))
        gaps = draw(st.lists(st.sampled_from(_GAPS + [0.0] * zero_gaps), min_size=n, max_size=n))
        for t in np.cumsum(gaps):
            rows.append((f"id{i}", float(t), draw(_VALUE), draw(_VALUE)))
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "a", "b"])
    return pl.from_pandas(df) if draw(st.booleans()) else df


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(panels())
@pytest.mark.filterwarnings("ignore::s5ts.DataWarning")  # empty rows: reported
@pytest.mark.filterwarnings("ignore::s5ts.ExtrapolationWarning")  # arbitrary spans: warned
def test_fit_predict_is_finite_or_refuses(df):
    est = s5ts.S5Forecaster(**TINY)
    try:
        est.fit(df)
        out = est.predict(df, h=2)
    except (ValueError, TypeError) as err:
        assert "jax" not in str(err).lower() and len(str(err)) > 20
        event(f"refused: {type(err).__name__}")
        return
    event("forecast")
    assert type(out) is type(df)
    out = pl.from_pandas(out) if isinstance(out, pd.DataFrame) else out
    ids = pl.from_pandas(df)["unique_id"] if isinstance(df, pd.DataFrame) else df["unique_id"]
    assert out.height == 2 * ids.n_unique()  # one row per query, none lost
    assert sorted(set(out["unique_id"].to_list())) == sorted(set(ids.to_list()))
    forecasts = out.drop(["unique_id", "ds"]).to_numpy()
    assert np.isfinite(forecasts).all()
