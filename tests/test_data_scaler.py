"""The NaN-aware per-variable scaler: round trips, JSON, constant and unobserved variables."""

import json

import numpy as np
import pandas as pd
import pytest

from s5ts import data


def random_panel(seed: int = 0, n_series: int = 30, max_len: int = 50):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        n = int(rng.integers(1, max_len))
        times = np.cumsum(rng.exponential(1.0, n)) * 60
        for t in times:
            vals = rng.normal([80.0, 120.0, 37.0], [10.0, 20.0, 0.5])
            vals[rng.random(3) < 0.5] = np.nan
            if np.isnan(vals).all():
                vals[0] = 80.0
            rows.append((s, t, *vals))
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "hr", "sbp", "temp"])
    return data.to_panel(df)[0]


def test_scaler_round_trip_and_json():
    panel = random_panel()
    scaler = data.Scaler().fit(panel)
    z = scaler.transform(panel.values)
    np.testing.assert_allclose(np.nanmean(z, axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.nanstd(z, axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(z), panel.values, rtol=1e-13)
    assert np.array_equal(np.isnan(z), np.isnan(panel.values))
    np.testing.assert_allclose(scaler.inverse_scale(np.ones(3)), np.nanstd(panel.values, 0))
    back = data.Scaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(back.transform(panel.values), z)
    assert back.target_cols == ("hr", "sbp", "temp")


def test_scaler_constant_and_unobserved_variables():
    values = np.array([[5.0, np.nan, 1e-100], [5.0, np.nan, 2e-100]])
    scaler = data.Scaler().fit(values)
    assert scaler.std.tolist()[:2] == [1.0, 1.0] and scaler.mean.tolist()[:2] == [5.0, 0.0]
    # tiny but varying: kept, not floored
    assert scaler.std[2] == pytest.approx(0.5e-100, rel=1e-12)
    assert np.isfinite(scaler.transform(values)[:, [0, 2]]).all()
    with pytest.raises(ValueError, match="not fitted"):
        data.Scaler().transform(values)
