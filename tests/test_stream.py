"""Out-of-core prediction: chunks of whole series give the in-memory forecasts."""

import numpy as np
import polars as pl
import pytest
from _tiny import TINY

import s5ts
from s5ts.cli._chunked import predict_file
from s5ts.datasets import synthetic_vitals


TINY = {
    **TINY,
    "batch_size": 4,
    "max_steps": 3,
    "eval_every": 50,
    "horizon": 8.0,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    df, static_df = synthetic_vitals(9, seed=2, hours=12.0, frame="polars")
    model = s5ts.S5Forecaster(**TINY).fit(df, static_df)
    root = tmp_path_factory.mktemp("stream")
    # Shuffled rows: chunking must not rely on the file being sorted.
    df.sample(fraction=1.0, shuffle=True, seed=0).write_parquet(root / "hist.parquet")
    df.write_csv(root / "hist.csv")
    static_df.write_csv(root / "static.csv")
    return model, df, static_df, root


def _sorted(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(["unique_id", "ds"])


@pytest.mark.parametrize("ext", ["parquet", "csv"])
@pytest.mark.parametrize("chunk", [None, 2, 4, 100])
def test_chunks_match_in_memory(setup, ext, chunk):
    model, df, static_df, root = setup
    expected = model.predict(df, static_df=static_df, h=3, freq=1.5, level=[80])
    out = root / f"out_{chunk}.{ext}"
    rows = predict_file(
        model,
        root / f"hist.{ext}",
        out,
        chunk_size=chunk,
        static=root / "static.csv",
        h=3,
        freq=1.5,
        level=[80],
    )
    got = pl.read_parquet(out) if ext == "parquet" else pl.read_csv(out)
    assert rows == len(expected) == len(got)
    assert got.columns == expected.columns
    a, b = _sorted(got), _sorted(expected)
    assert a["unique_id"].to_list() == b["unique_id"].to_list()
    np.testing.assert_allclose(
        a.drop("unique_id").to_numpy(), b.drop("unique_id").to_numpy(), rtol=1e-6
    )


def test_query_file_in_chunks(setup):
    model, df, static_df, root = setup
    last = df.group_by("unique_id").agg(pl.col("ds").max())
    query = last.with_columns(pl.col("ds") + 2.5).vstack(last.with_columns(pl.col("ds") + 0.5))
    query.write_parquet(root / "query.parquet")
    predict_file(
        model,
        root / "hist.parquet",
        root / "q.parquet",
        chunk_size=3,
        query=root / "query.parquet",
        static=root / "static.csv",
    )
    expected = model.predict(df, query, static_df=static_df)
    got = pl.read_parquet(root / "q.parquet")
    np.testing.assert_allclose(
        _sorted(got).drop("unique_id").to_numpy(),
        _sorted(expected).drop("unique_id").to_numpy(),
        rtol=1e-6,
    )


def test_unknown_query_ids_and_bad_inputs(setup):
    model, _, _, root = setup
    pl.DataFrame({"unique_id": [999], "ds": [1.0]}).write_csv(root / "bad_q.csv")
    with pytest.raises(ValueError, match="not in the history file: '999'"):
        predict_file(
            model, root / "hist.csv", root / "x.csv", chunk_size=2, query=root / "bad_q.csv"
        )
    assert not (root / "x.csv").exists()  # nothing half-written
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict_file(model, root / "nope.parquet", root / "x.csv", h=1)
    with pytest.raises(ValueError, match=r"must end in \.csv"):
        predict_file(model, root / "hist.parquet", root / "x.txt", h=1)
    with pytest.raises(ValueError, match="chunk_size"):
        predict_file(model, root / "hist.parquet", root / "x.csv", chunk_size=0, h=1)
