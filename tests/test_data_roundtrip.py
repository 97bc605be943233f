"""Frame -> Panel -> frame round trips, for pandas and polars, wide and tidy layouts."""

import datetime as dt

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import polars as pl
import polars.testing
import pytest
from hypothesis import given, settings

from s5ts import data


TIME_KINDS = ["float", "int", "datetime", "datetime_tz", "timedelta"]


@st.composite
def long_frames(draw):
    """A shuffled wide pandas frame and the sorted frame to_panel/from_panel must give back."""
    kind = draw(st.sampled_from(TIME_KINDS))
    unit = draw(st.sampled_from(["s", "ms", "us", "ns"]))
    n_vars = draw(st.integers(1, 3))
    int_ids = draw(st.booleans())
    # times: unique per series, spread over many magnitudes so gaps range from tiny to huge
    if kind == "float":
        point = st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False)
    else:
        # within the nanosecond range of datetimes, whatever the unit
        bound = 10**18 // {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
        point = st.integers(-bound, bound) | st.integers(0, 50)
    times = st.lists(point, min_size=1, max_size=8, unique=True)
    series = draw(st.lists(times, min_size=1, max_size=4))
    rows = []
    for s, times in enumerate(series):
        for t in times:
            vals = draw(
                st.lists(
                    st.none() | st.floats(-1e6, 1e6, allow_nan=False),
                    min_size=n_vars,
                    max_size=n_vars,
                ).filter(lambda v: any(x is not None for x in v))
            )
            rows.append((s if int_ids else f"id{s}", t, *vals))
    names = [f"v{j}" for j in range(n_vars)]
    df = pd.DataFrame(rows, columns=["unique_id", "ds", *names])
    df[names] = df[names].astype("float64")
    df["ds"] = _as_time(df["ds"].to_numpy(), kind, unit)
    perm = draw(st.permutations(range(len(df))))
    shuffled = df.iloc[list(perm)].reset_index(drop=True)
    expected = df.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    return shuffled, expected


def _as_time(x: np.ndarray, kind: str, unit: str) -> pd.Series:
    if kind == "float":
        return pd.Series(x.astype(np.float64))
    if kind == "int":
        return pd.Series(x.astype(np.int64))
    if kind == "timedelta":
        return pd.Series(x.astype(np.int64).astype(f"timedelta64[{unit}]"))
    s = pd.Series(x.astype(np.int64).astype(f"datetime64[{unit}]"))
    return s.dt.tz_localize("UTC").dt.tz_convert("America/New_York") if kind == "datetime_tz" else s


@settings(max_examples=40, deadline=None)
@given(long_frames())
def test_round_trip_pandas_and_polars_give_same_arrays(frames):
    shuffled, expected = frames
    p_pd, rep = data.to_panel(shuffled)
    out = data.from_panel(p_pd)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_frame_equal(out, expected)
    assert rep.n_observations == int(expected.iloc[:, 2:].notna().to_numpy().sum())

    p_pl, _ = data.to_panel(pl.from_pandas(shuffled))
    out_pl = data.from_panel(p_pl)
    assert isinstance(out_pl, pl.DataFrame)
    polars.testing.assert_frame_equal(out_pl, pl.from_pandas(expected))
    for field in ["ids", "indptr", "times", "values"]:
        np.testing.assert_array_equal(getattr(p_pd, field), getattr(p_pl, field))
    assert p_pd.time_kind.kind == p_pl.time_kind.kind  # polars has no "s" unit


@settings(max_examples=20, deadline=None)
@given(long_frames())
def test_tidy_layout_matches_wide(frames):
    shuffled, expected = frames
    wide, _ = data.to_panel(shuffled)
    tidy_frame = data.from_panel(wide, tidy=True)
    assert list(tidy_frame.columns) == ["unique_id", "ds", "variable", "value"]
    tidy, rep = data.to_panel(tidy_frame, variable_col="variable", target_cols=wide.target_cols)
    assert rep.layout == "tidy"
    for field in ["ids", "indptr", "times", "values"]:
        np.testing.assert_array_equal(getattr(wide, field), getattr(tidy, field))


def test_report_counts_sorting_and_empty_rows():
    df = pd.DataFrame(
        {"unique_id": ["b", "a", "a"], "ds": [1.0, 2.0, 1.0], "y": [1.0, np.nan, 3.0]}
    )
    panel, report = data.to_panel(df)
    assert not report.was_sorted and report.n_empty_rows_dropped == 1
    assert panel.n_events == 2 and "sorted" in str(report) and "dropped" in str(report)
    assert panel.ids.tolist() == ["a", "b"] and panel.indptr.tolist() == [0, 1, 2]


@pytest.mark.parametrize("how, expected", [("mean", [2.0, 5.0]), ("last", [3.0, 5.0])])
def test_duplicates_are_aggregated_per_variable(how, expected):
    df = pd.DataFrame(
        {
            "unique_id": ["a", "a", "a"],
            "ds": [0.0, 0.0, 0.0],
            "x": [1.0, 3.0, np.nan],
            "y": [np.nan, 5.0, np.nan],
        }
    )
    panel, report = data.to_panel(df, duplicates=how)
    assert panel.values.tolist() == [expected]
    # the all-NaN row is dropped as empty before duplicates are looked for
    assert report.n_duplicate_rows == 2 and report.n_merged == 1
    assert report.n_empty_rows_dropped == 1
    assert how in str(report)


def test_tidy_excluded_variables_and_null_values_are_reported():
    df = pl.DataFrame(
        {
            "unique_id": ["a", "a", "a", "a"],
            "ds": [0, 1, 1, 2],
            "variable": ["hr", "hr", "temp", "hr"],
            "value": [1.0, None, 37.0, 2.0],
        }
    )
    panel, report = data.to_panel(df, variable_col="variable", target_cols=["hr", "sbp"])
    assert panel.target_cols == ("hr", "sbp") and panel.times.tolist() == [0, 2]
    assert report.n_other_variable_rows == 1 and report.other_variables == ("temp",)
    assert report.n_null_values == 1 and report.observations_per_target["sbp"] == 0
    assert "temp" in str(report) and "sbp" in str(report)


def test_static_covariates_align_with_sorted_ids():
    df = pd.DataFrame({"unique_id": ["b", "a"], "ds": [0, 0], "y": [1.0, 2.0]})
    static = pl.DataFrame({"unique_id": ["a", "b"], "age": [70, 50], "w": [1.5, 2.5]})
    panel, report = data.to_panel(df, static_df=static)
    np.testing.assert_array_equal(panel.static, [[70.0, 1.5], [50.0, 2.5]])
    assert panel.static_cols == ("age", "w") and "age" in str(report)
    assert panel.subset([1]).static.tolist() == [[50.0, 2.5]]


def test_make_frame_builds_prediction_frames_in_the_callers_type():
    ds = pd.date_range("2024-03-30", periods=3, freq="12h", tz="Europe/Paris", unit="s")
    df = pl.from_pandas(pd.DataFrame({"unique_id": ["a"] * 3, "ds": ds, "y": [1.0, 2.0, 3.0]}))
    df = df.with_columns(pl.col("unique_id").cast(pl.Categorical))
    panel, _ = data.to_panel(df)
    ts = data.TimeScale().fit(panel)
    last = panel.times[panel.indptr[1:] - 1]
    grid = last[:, None] + ts.to_raw_span("1h") * np.arange(1, 25)  # a 24 x 1h query grid
    out = data.make_frame(
        {
            "unique_id": np.repeat(panel.ids, 24),
            "ds": grid.ravel(),
            "cutoff": np.repeat(last, 24),
            "S5": np.arange(24.0),
        },
        like=panel,
    )
    assert isinstance(out, pl.DataFrame)
    assert out.schema["ds"] == df.schema["ds"] == out.schema["cutoff"]
    assert out.schema["unique_id"] == pl.Categorical
    assert out["ds"][0] == dt.datetime(2024, 3, 31, 1, tzinfo=out["ds"][0].tzinfo)
    assert out["ds"][1].hour == 3  # the DST jump: 01:00 CET + 1h = 03:00 CEST
    series, raw = data.read_queries(out, panel)
    np.testing.assert_array_equal(raw, grid.ravel())
    assert series.tolist() == [0] * 24


def test_query_grid_in_model_units_goes_back_to_raw_times():
    df = pd.DataFrame({"unique_id": ["a", "a", "b"], "ds": [0, 10, 5], "y": [1.0, 2.0, 3.0]})
    panel, _ = data.to_panel(df)
    ts = data.TimeScale().fit(panel)
    anchor = panel.times[panel.indptr[1:] - 1]
    offsets = ts.offsets(anchor[:, None] + np.arange(1, 4) * 5, anchor[:, None])
    np.testing.assert_array_equal(offsets, [[0.5, 1.0, 1.5]] * 2)
    np.testing.assert_array_equal(ts.raw_at(anchor[:, None], offsets), [[15, 20, 25], [10, 15, 20]])
