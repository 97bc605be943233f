"""The time scale: results must not depend on the unit the user wrote times in."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from s5ts import data


def irregular_quarter_hours(seed: int = 0, n_series: int = 6) -> pd.DataFrame:
    """Irregular times on a quarter-hour grid (so they are exact in s, min and h as floats)."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_series):
        n = int(rng.integers(1, 30))
        steps = rng.choice([1, 1, 2, 3, 8, 40, 400], size=n)  # short and very long gaps
        quarters = int(rng.integers(0, 10_000)) + np.cumsum(steps)
        for q in quarters:
            rows.append((f"s{s}", int(q), rng.normal(), rng.choice([rng.normal(), np.nan])))
    return pd.DataFrame(rows, columns=["unique_id", "q", "hr", "sbp"])


def in_unit(df: pd.DataFrame, per_hour: float, kind: str = "float") -> pd.DataFrame:
    times = df["q"].to_numpy() * (per_hour / 4)
    out = df.drop(columns="q").assign(ds=times.astype(np.int64) if kind == "int" else times)
    return out[["unique_id", "ds", "hr", "sbp"]]


def scaled(df) -> tuple[np.ndarray, np.ndarray, data.TimeScale]:
    panel, _ = data.to_panel(df)
    ts = data.TimeScale().fit(panel)
    return ts.elapsed(panel), ts.gaps(panel), ts


@pytest.mark.parametrize("seed", range(3))
def test_seconds_minutes_hours_give_identical_arrays(seed):
    base = irregular_quarter_hours(seed)
    ref_elapsed, ref_gaps, ref_ts = scaled(in_unit(base, 1.0))
    frames = [
        in_unit(base, 60.0),
        in_unit(base, 3600.0),
        in_unit(base, 3600.0, kind="int"),
        pl.from_pandas(in_unit(base, 60.0, kind="int")),
    ]
    for frame in frames:
        elapsed, gaps, ts = scaled(frame)
        np.testing.assert_array_equal(elapsed, ref_elapsed)
        np.testing.assert_array_equal(gaps, ref_gaps)
        assert ts.to_model_span(ts.unit) == 1.0
    _, _, minutes = scaled(in_unit(base, 60.0))
    assert minutes.to_model_span(90) == ref_ts.to_model_span(1.5)


@pytest.mark.parametrize("seed", range(2))
def test_datetimes_in_any_resolution_match_durations_and_numbers(seed):
    base = irregular_quarter_hours(seed)
    ref_elapsed, ref_gaps, _ = scaled(in_unit(base, 1.0))
    ns = base["q"].to_numpy() * (900 * 10**9)
    for unit in ["s", "ms", "us", "ns"]:
        when = pd.Series((ns + 1_600_000_000 * 10**9).astype("datetime64[ns]")).dt.as_unit(unit)
        for ds in [when, when.dt.tz_localize("Asia/Kolkata"), pd.Series(ns.astype("m8[ns]"))]:
            elapsed, gaps, ts = scaled(base.drop(columns="q").assign(ds=ds))
            np.testing.assert_array_equal(elapsed, ref_elapsed)
            np.testing.assert_array_equal(gaps, ref_gaps)
            hour = ts.to_model_span("1h")
            assert hour == ts.to_model_span(dt.timedelta(hours=1))
            assert hour == ts.to_model_span(np.timedelta64(60, "m"))
            assert hour == ts.to_model_span(pd.Timedelta(minutes=60))
            assert hour == ts.to_model_span("30min30m")


def test_rounded_float_units_agree_to_rounding_error():
    # seconds / 60 is itself rounded, so no rule can be bit-exact here: a few ulps remain
    base = irregular_quarter_hours(5)
    rng = np.random.default_rng(5)
    jitter = in_unit(base, 3600.0).assign(ds=lambda d: d["ds"] + rng.integers(0, 899, len(d)))
    sec_elapsed, sec_gaps, _ = scaled(jitter)
    min_elapsed, min_gaps, _ = scaled(jitter.assign(ds=jitter["ds"] / 60.0))
    np.testing.assert_allclose(min_elapsed, sec_elapsed, rtol=1e-12)
    np.testing.assert_allclose(min_gaps, sec_gaps, rtol=1e-12, atol=1e-12)


def test_elapsed_and_gaps_definitions():
    df = pd.DataFrame({"unique_id": ["a"] * 4 + ["b"] * 2, "ds": [0, 2, 3, 7, 10, 14], "y": 1.0})
    panel, _ = data.to_panel(df)
    ts = data.TimeScale().fit(panel)
    assert ts.unit == 2  # within-series gaps 2, 1, 4, 4: lower median 2 (not the 3 across a/b)
    np.testing.assert_array_equal(ts.elapsed(panel), np.array([0, 2, 3, 7, 0, 4]) / 2)
    np.testing.assert_array_equal(ts.gaps(panel), np.array([0, 2, 1, 4, 0, 4]) / 2)


def test_single_event_series_fall_back_to_the_overall_span():
    panel, _ = data.to_panel(pd.DataFrame({"unique_id": ["a", "b"], "ds": [1.0, 5.0], "y": 1.0}))
    ts = data.TimeScale().fit(panel)
    assert ts.unit == 4.0 and ts.gaps(panel).tolist() == [0.0, 0.0]


def test_time_scale_round_trips_through_json():
    ds = pd.date_range("2021-06-01", periods=5, freq="7min", tz="UTC")
    panel, _ = data.to_panel(pd.DataFrame({"unique_id": "a", "ds": ds, "y": 1.0}))
    ts = data.TimeScale().fit(panel)
    back = data.TimeScale.from_dict(json.loads(json.dumps(ts.to_dict())))
    assert back.unit == ts.unit and back.kind == ts.kind
    np.testing.assert_array_equal(back.elapsed(panel), ts.elapsed(panel))
    offsets = back.offsets(panel.times, panel.times[0])
    np.testing.assert_array_equal(back.raw_at(panel.times[0], offsets), panel.times)
