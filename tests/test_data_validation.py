"""Bad inputs raise before anything runs, naming the column, the series and the rows."""

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest

from s5ts import data


def wide(**overrides):
    cols = {
        "unique_id": ["a", "a", "b", "b"],
        "ds": [0.0, 1.0, 0.0, 2.0],
        "hr": [60.0, 61.0, 70.0, np.nan],
        "sbp": [120.0, np.nan, np.nan, 110.0],
    }
    cols.update(overrides)
    return pd.DataFrame(cols)


def tidy(**overrides):
    cols = {
        "unique_id": ["a", "a", "b"],
        "ds": [0, 1, 0],
        "variable": ["hr", "hr", "sbp"],
        "value": [60.0, 61.0, 120.0],
    }
    cols.update(overrides)
    return pd.DataFrame(cols)


STATIC = pd.DataFrame({"unique_id": ["a", "b"], "age": [70.0, 50.0]})

# (case, frame, to_panel kwargs, error type, substrings the message must contain)
CASES = [
    ("missing time column", wide().drop(columns="ds"), {}, ValueError, ["'ds'", "available"]),
    ("missing target", wide(), {"target_cols": ["hr", "spo2"]}, ValueError, ["spo2", "hr"]),
    ("missing id column", wide(), {"id_col": "patient"}, ValueError, ["'patient'"]),
    ("non-numeric target", wide(note=list("wxyz")), {}, TypeError, ["'note'", "numeric"]),
    (
        "NaN time",
        wide(ds=[0.0, 1.0, np.nan, 2.0]),
        {},
        ValueError,
        ["'ds'", "'b'", "rows [2]"],
    ),
    (
        "NaT time",
        wide(ds=pd.to_datetime(["2020-01-01", None, "2020-01-02", "2020-01-03"])),
        {},
        ValueError,
        ["'ds'", "'a'", "rows [1]"],
    ),
    (
        "inf value",
        wide(sbp=[120.0, np.inf, np.nan, -np.inf]),
        {},
        ValueError,
        ["'sbp'", "'a'", "'b'", "rows [1, 3]"],
    ),
    (
        "duplicate (id, time)",
        wide(ds=[0.0, 1.0, 2.0, 2.0]),
        {},
        ValueError,
        ["'b'", "rows [2, 3]", "duplicates='mean'"],
    ),
    (
        "duplicate tidy cell",
        tidy(ds=[0, 0, 0], unique_id=["a", "a", "b"]),
        {"variable_col": "variable"},
        ValueError,
        ["'a'", "'hr'", "rows [0, 1]"],
    ),
    (
        "series never observed",
        wide(hr=[60.0, 61.0, np.nan, np.nan], sbp=[1.0, 2.0, np.nan, np.nan]),
        {},
        ValueError,
        ["'b'", "no observed", "rows [2, 3]"],
    ),
    (
        "mixed time types",
        wide(
            ds=pd.Series(
                [pd.Timestamp("2020-01-01"), 1, 2, pd.Timestamp("2020-01-02")], dtype=object
            )
        ),
        {},
        TypeError,
        ["'ds'", "mixes", "rows [0, 3]", "rows [1, 2]"],
    ),
    ("string times", wide(ds=["0", "1", "0", "2"]), {}, TypeError, ["'ds'", "to_datetime"]),
    ("empty frame", wide().iloc[:0], {}, ValueError, ["empty"]),
    ("null id", wide(unique_id=["a", None, "b", "b"]), {}, ValueError, ["'unique_id'", "rows [1]"]),
    ("bad duplicates", wide(), {"duplicates": "first"}, ValueError, ["duplicates", "'first'"]),
    ("target_cols as str", wide(), {"target_cols": "hr"}, TypeError, ["target_cols"]),
    ("target is id", wide(), {"target_cols": ["unique_id"]}, ValueError, ["clash"]),
    ("not a frame", {"unique_id": [1]}, {}, TypeError, ["DataFrame", "dict"]),
    (
        "null tidy variable",
        tidy(variable=["hr", None, "sbp"]),
        {"variable_col": "variable"},
        ValueError,
        ["'variable'", "'a'", "rows [1]"],
    ),
    (
        "static missing id",
        wide(),
        {"static_df": STATIC.iloc[:1]},
        ValueError,
        ["static_df", "lacks", "'b'"],
    ),
    (
        "static duplicate id",
        wide(),
        {"static_df": pd.concat([STATIC, STATIC.iloc[1:]], ignore_index=True)},
        ValueError,
        ["'b'", "rows [2]", "one row"],
    ),
    (
        "static non-numeric",
        wide(),
        {"static_df": STATIC.assign(sex=["f", "m"])},
        TypeError,
        ["'sex'", "numeric"],
    ),
    (
        "static missing value",
        wide(),
        {"static_df": STATIC.assign(age=[70.0, np.nan])},
        ValueError,
        ["'age'", "'b'", "rows [1]"],
    ),
]


@pytest.mark.parametrize("backend", ["pandas", "polars"])
@pytest.mark.parametrize(
    "frame, kwargs, error, needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_names_the_culprit(backend, frame, kwargs, error, needles):
    if backend == "polars":
        if not isinstance(frame, pd.DataFrame) or frame.get("ds", frame.index).dtype == object:
            pytest.skip("polars cannot hold this input")
        frame = pl.from_pandas(frame)
        if isinstance(kwargs.get("static_df"), pd.DataFrame):
            kwargs = {**kwargs, "static_df": pl.from_pandas(kwargs["static_df"])}
    with pytest.raises(error) as info:
        data.to_panel(frame, **kwargs)
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


def test_underscore_time_zones_are_read():
    ds = pd.date_range("2020-01-01", periods=2, freq="h", tz="America/New_York")
    panel, _ = data.to_panel(pd.DataFrame({"unique_id": ["a", "a"], "ds": ds, "y": [1.0, 2.0]}))
    assert panel.time_kind.time_zone == "America/New_York"
    pd.testing.assert_series_equal(data.from_panel(panel)["ds"], pd.Series(ds, name="ds"))


def test_queries_with_unknown_ids_or_other_time_kinds_are_refused():
    panel, _ = data.to_panel(wide())
    with pytest.raises(ValueError, match=r"'zz'.*rows \[1\]"):
        data.read_queries(pd.DataFrame({"unique_id": ["a", "zz"], "ds": [3.0, 4.0]}), panel)
    when = [dt.datetime(2020, 1, 1)]
    with pytest.raises(TypeError, match="holds tz-naive datetime times but the data had float"):
        data.read_queries(pl.DataFrame({"unique_id": ["a"], "ds": when}), panel)


def test_spans_of_the_wrong_kind_are_refused():
    panel, _ = data.to_panel(wide())
    ts = data.TimeScale().fit(panel)
    with pytest.raises(TypeError, match="numbers"):
        ts.to_model_span("1h")
    dated, _ = data.to_panel(wide(ds=pd.date_range("2020", periods=4, freq="h")))
    ts = data.TimeScale().fit(dated)
    with pytest.raises(TypeError, match="timedelta"):
        ts.to_model_span(3)
    with pytest.raises(ValueError, match="'mo'"):
        ts.to_model_span("1mo")
    # pandas' month ("M") and month start ("MS") are not a minute and a millisecond
    for month in ("1M", "2MS"):
        with pytest.raises(ValueError, match="pandas' month"):
            ts.to_model_span(month)
    # words, any case, singular or plural
    for words, short in (("2 hours", "2h"), ("1 Day", "1d"), ("90 mins", "90min"), ("3 S", "3s")):
        assert ts.to_model_span(words) == ts.to_model_span(short)
    with pytest.raises(ValueError, match="not fitted"):
        data.TimeScale().elapsed(dated)


def test_static_rows_of_other_series_are_counted_not_used():
    # One contract wherever static_df is read: every series of df needs its row; rows of
    # other series are allowed (one table may serve many frames) and reported.
    static = pd.DataFrame({"unique_id": ["a", "b", "z"], "age": [1.0, 2.0, 3.0]})
    panel, report = data.to_panel(wide(), static_df=static)
    np.testing.assert_array_equal(panel.static[:, 0], [1.0, 2.0])
    assert report.n_static_rows_unused == 1
    assert report.excluded() == []  # nothing of df itself was left out
    assert "static_df rows of other series not used" in str(report)
