"""The embedded synthetic ICU vitals generator."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from s5ts.datasets import RANGES, VARIABLES, synthetic_vitals


@pytest.fixture(scope="module")
def data():
    return synthetic_vitals(64, seed=0)


def test_deterministic_by_seed(data):
    df, static_df = synthetic_vitals(64, seed=0)
    pd.testing.assert_frame_equal(df, data[0])
    pd.testing.assert_frame_equal(static_df, data[1])


def test_seeds_differ(data):
    other, _ = synthetic_vitals(64, seed=1)
    assert not (other.shape == data[0].shape and other.equals(data[0]))


def test_no_global_rng(data):
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    synthetic_vitals(8, seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_columns_and_dtypes(data):
    df, static_df = data
    assert list(df.columns) == ["unique_id", "ds", *VARIABLES]
    assert len(VARIABLES) >= 6
    assert pd.api.types.is_string_dtype(df["unique_id"])
    assert df["ds"].dtype == np.float64
    assert all(df[v].dtype == np.float64 for v in VARIABLES)
    assert df["unique_id"].iloc[0] == "patient_000"
    assert list(static_df.columns) == ["unique_id", "age", "sex", "weight", "icu_type"]
    assert set(static_df["sex"].unique()) <= {0, 1}
    assert set(static_df["icu_type"].unique()) <= {1, 2, 3, 4}


def test_sorted_rows_with_observations(data):
    df, _ = data
    assert (
        df.groupby("unique_id", sort=False)["ds"].apply(lambda s: s.is_monotonic_increasing).all()
    )
    assert not df.duplicated(["unique_id", "ds"]).any()
    assert df[list(VARIABLES)].notna().any(axis=1).all()  # no empty rows
    assert ((df["ds"] >= 0) & (df["ds"] <= 48)).all()


def test_every_series_observed_and_static_one_row_per_id(data):
    df, static_df = data
    assert df["unique_id"].nunique() == 64
    counts = df.groupby("unique_id")[list(VARIABLES)].count()
    assert (counts > 0).all().all()  # the admission round measures everything
    assert static_df["unique_id"].is_unique
    assert set(static_df["unique_id"]) == set(df["unique_id"])


def test_values_within_ranges(data):
    df, _ = data
    for v in VARIABLES:
        lo, hi = RANGES[v]
        x = df[v].dropna()
        assert x.between(lo, hi).all(), v


def test_irregular_with_distinct_rates(data):
    df, _ = data
    gaps = df.groupby("unique_id")["ds"].diff().dropna()
    assert gaps.nunique() > 50 and gaps.std() > 0.1
    assert gaps.max() >= 2.0  # missing stretches of several hours exist
    per_var = df[list(VARIABLES)].notna().sum()
    assert per_var["HR"] > 2 * per_var["Temp"] > 2 * per_var["Lactate"]
    # variables are partly measured together on shared rounds, not always
    both = (df["HR"].notna() & df["MAP"].notna()).sum()
    assert 0 < both < df["MAP"].notna().sum()


def test_polars_equals_pandas(data):
    df, static_df = synthetic_vitals(64, seed=0, frame="polars")
    assert isinstance(df, pl.DataFrame) and isinstance(static_df, pl.DataFrame)
    pd.testing.assert_frame_equal(df.to_pandas(), data[0], check_dtype=False)
    pd.testing.assert_frame_equal(static_df.to_pandas(), data[1], check_dtype=False)


def test_time_units_and_datetimes(data):
    df_min, _ = synthetic_vitals(64, seed=0, time_unit="min")
    np.testing.assert_allclose(df_min["ds"], data[0]["ds"] * 60)
    pd.testing.assert_frame_equal(df_min.drop(columns="ds"), data[0].drop(columns="ds"))
    df_dt, _ = synthetic_vitals(64, seed=0, start="2024-01-01")
    assert pd.api.types.is_datetime64_any_dtype(df_dt["ds"])
    assert (df_dt["ds"] >= pd.Timestamp("2024-01-01")).all()
    elapsed = df_dt.groupby("unique_id")["ds"].transform(lambda s: s - s.iloc[0])
    first = data[0].groupby("unique_id")["ds"].transform("first")
    np.testing.assert_allclose(elapsed.dt.total_seconds() / 3600, data[0]["ds"] - first, atol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="frame"):
        synthetic_vitals(2, frame="arrow")
    with pytest.raises(ValueError, match="time_unit"):
        synthetic_vitals(2, time_unit="d")
    with pytest.raises(ValueError, match="n_series"):
        synthetic_vitals(0)


def _features(t, y, tq):
    """Hand-made predictors from a series' first 24 h, for the targets at ``tq``."""
    w = 2 * np.pi / 24
    X = np.c_[np.ones_like(t), np.sin(w * t), np.cos(w * t)]
    c = np.linalg.solve(X.T @ X + np.diag([0.0, 3.0, 3.0]), X.T @ y)  # shrunk daily fit
    rhythm = np.sin(w * tq) * c[1] + np.cos(w * tq) * c[2]
    recent = y[t >= t[-1] - 6].mean()
    ones = np.ones_like(tq)
    return np.c_[ones, y[-1] * ones, y.mean() * ones, recent * ones, rhythm]


def test_forecastable_beyond_locf_and_mean():
    """A pooled linear model on simple features beats LOCF and the series mean at 24-48 h."""
    df, _ = synthetic_vitals(256, seed=3)
    ids = df["unique_id"].unique()
    train = set(ids[: len(ids) // 2])
    scores = []
    for v in ("HR", "MAP", "Temp"):
        parts = {True: [], False: []}
        for uid, g in df[["unique_id", "ds", v]].dropna().groupby("unique_id"):
            t, y = g["ds"].to_numpy(), g[v].to_numpy()
            h = t < 24
            if h.sum() and (~h).sum():
                parts[uid in train].append((_features(t[h], y[h], t[~h]), y[~h]))
        F, y = (np.concatenate(a) for a in zip(*parts[True], strict=True))
        coef = np.linalg.lstsq(F, y, rcond=None)[0]
        F, y = (np.concatenate(a) for a in zip(*parts[False], strict=True))
        mse = [np.mean((F[:, j] - y) ** 2) for j in (1, 2)] + [np.mean((F @ coef - y) ** 2)]
        scores.append(np.array(mse) / df[v].var())
    locf, mean, model = np.mean(scores, axis=0)
    assert model < 0.9 * min(locf, mean)


@pytest.mark.parametrize("n", [1, 5])
def test_small_and_short(n):
    df, static_df = synthetic_vitals(n, seed=2, hours=6.0)
    assert len(static_df) == n
    assert df["ds"].max() <= 6.0
