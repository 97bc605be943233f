"""Every kind of frame narwhals reads: pandas with Arrow-backed or nullable dtypes, pyarrow
Tables and polars LazyFrames give what numpy-backed pandas gives, in a frame of their kind."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from _tiny import TINY

import s5ts
from s5ts.data import from_panel, to_panel
from s5ts.datasets import synthetic_vitals


def _arrow(x: pd.DataFrame) -> pd.DataFrame:
    """double[pyarrow] values with nulls, string[pyarrow] ids, timestamp[ns][pyarrow] times
    (what `pd.read_parquet(..., dtype_backend="pyarrow")` gives)."""
    dtypes = {c: pd.ArrowDtype(pa.float64()) for c in x.columns}
    dtypes["unique_id"] = pd.ArrowDtype(pa.string())
    if "ds" in x:
        dtypes["ds"] = pd.ArrowDtype(pa.timestamp("ns"))
    return x.astype(dtypes)


KINDS = {
    "pandas-arrow": _arrow,
    "pandas-nullable": lambda x: x.convert_dtypes(),  # Float64 or Int64 / string
    "pyarrow-table": lambda x: pa.Table.from_pandas(x, preserve_index=False),
    "polars-lazy": lambda x: pl.from_pandas(x).lazy(),
}
# what comes back: the caller's kind; a LazyFrame is collected, so eager polars
OUTPUT = {
    "pandas-arrow": pd.DataFrame,
    "pandas-nullable": pd.DataFrame,
    "pyarrow-table": pa.Table,
    "polars-lazy": pl.DataFrame,
}
START = pd.Timestamp("2024-01-01")
TINY = {**TINY, "max_steps": 4, "horizon": "8h"}


@pytest.fixture(scope="module")
def data():
    df, static_df = synthetic_vitals(12, seed=0, hours=24.0)
    df["ds"] = START + pd.to_timedelta(df["ds"], unit="h")
    cut = START + pd.Timedelta(hours=16)
    history, query = df[df["ds"] <= cut], df.loc[df["ds"] > cut, ["unique_id", "ds"]]
    model = s5ts.S5Forecaster(**TINY).fit(history, static_df)
    expected = model.predict(history, query, static_df=static_df)
    return history, query, static_df, expected


def _polars(frame) -> pl.DataFrame:
    if isinstance(frame, pl.DataFrame):
        return frame
    return pl.from_arrow(frame) if isinstance(frame, pa.Table) else pl.from_pandas(frame)


def test_arrow_dtypes_are_what_users_have(data):
    history = KINDS["pandas-arrow"](data[0])
    assert str(history["HR"].dtype) == "double[pyarrow]" and history["HR"].isna().any()
    assert str(history["unique_id"].dtype) == "string[pyarrow]"
    assert str(history["ds"].dtype) == "timestamp[ns][pyarrow]"


@pytest.mark.parametrize("kind", KINDS)
def test_to_panel_reads_every_kind(data, kind):
    history, _, static_df, _ = data
    want, _ = to_panel(history, static_df=static_df)
    got, _ = to_panel(KINDS[kind](history), static_df=KINDS[kind](static_df))
    assert got.ids.tolist() == want.ids.tolist()
    np.testing.assert_array_equal(got.times, want.times)
    np.testing.assert_array_equal(got.values, want.values)  # NaN where unobserved
    np.testing.assert_array_equal(got.static, want.static)
    back = from_panel(got)
    assert isinstance(back, OUTPUT[kind])
    assert _polars(back).equals(pl.from_pandas(from_panel(want)))


@pytest.mark.parametrize("kind", KINDS)
def test_forecaster_fits_and_predicts_every_kind(data, kind):
    history, query, static_df, expected = data
    convert = KINDS[kind]
    model = s5ts.S5Forecaster(**TINY).fit(convert(history), convert(static_df))
    got = model.predict(convert(history), convert(query), static_df=convert(static_df))
    assert isinstance(got, OUTPUT[kind])
    got, want = _polars(got), pl.from_pandas(expected)
    assert got.columns == want.columns
    assert got["unique_id"].to_list() == want["unique_id"].to_list()
    assert got["ds"].to_list() == want["ds"].to_list()
    np.testing.assert_allclose(
        got.drop("unique_id", "ds").to_numpy(), want.drop("unique_id", "ds").to_numpy(), rtol=1e-5
    )
    grid = model.predict(convert(history), h=2, freq="2h", static_df=convert(static_df))
    assert isinstance(grid, OUTPUT[kind]) and len(grid) == 2 * 12
