"""The `s5ts` command line end to end: fit -> predict -> evaluate, and its bad-input errors.

Commands run in-process through `main(argv)` (one jax start-up for the module); one real
subprocess checks `python -m s5ts`.
"""

import json
import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from s5ts.cli import main
from s5ts.datasets import synthetic_vitals


TINY = "--hidden-size 8 --state-size 8 --blocks 1 --n-layers 1 --batch-size 4 --max-steps 3"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    df, static_df = synthetic_vitals(10, seed=4, hours=24.0, frame="polars")
    df.write_csv(root / "train.csv")
    static_df.write_parquet(root / "static.parquet")
    df.filter(pl.col("ds") <= 16.0).write_parquet(root / "hist.parquet")
    future = df.filter(pl.col("ds") > 16.0)
    future.write_csv(root / "future.csv")
    future.select("unique_id", "ds").write_parquet(root / "query.parquet")
    return root


@pytest.fixture(scope="module")
def model_dir(files):
    argv = ["fit", str(files / "train.csv"), str(files / "model"), "--static"]
    argv += [str(files / "static.parquet"), "--horizon", "8", "-q", *TINY.split()]
    argv += ["--loss", "mse", "--val-metric", "mse", "--target-weights", "HR=2", "MAP=0.5"]
    assert main(argv) == 0
    return files / "model"


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_fit_writes_a_model(model_dir):
    config = json.loads((model_dir / "config.json").read_text())
    assert config["hyperparameters"]["hidden_size"] == 8
    assert config["hyperparameters"]["max_steps"] == 3
    loss, val_metric = config["hyperparameters"]["loss"], config["hyperparameters"]["val_metric"]
    assert loss == val_metric == {"class": "SquaredError"}
    assert config["hyperparameters"]["target_weights"] == {"HR": 2.0, "MAP": 0.5}


def test_predict_grid_then_evaluate(files, model_dir, capsys):
    code, _, err = _run(
        capsys, "predict", model_dir, files / "hist.parquet", "--h", 4, "--freq", 2,
        "--static", files / "static.parquet", "--level", 80, "--quantiles", 0.1,
        "-o", files / "grid.csv",
    )  # fmt: skip
    assert code == 0, err
    grid = pl.read_csv(files / "grid.csv")
    assert len(grid) == 10 * 4
    assert {"HR", "HR-lo-80", "HR-hi-80", "HR-q0.1"} <= set(grid.columns)
    assert "wrote 40 forecast rows" in err


def test_predict_query_chunked_then_evaluate(files, model_dir, capsys):
    out = files / "fc.parquet"
    argv = ["predict", model_dir, files / "hist.parquet", "--query", files / "query.parquet"]
    argv += ["--static", files / "static.parquet", "--level", 50, 95, "-o", out]
    assert _run(capsys, *argv, "--chunk-size", 3, "-q")[0] == 0
    chunked = pl.read_parquet(out).sort("unique_id", "ds")
    assert _run(capsys, *argv, "-q")[0] == 0
    whole = pl.read_parquet(out).sort("unique_id", "ds")
    np.testing.assert_allclose(
        chunked.drop("unique_id").to_numpy(), whole.drop("unique_id").to_numpy(), rtol=1e-6
    )

    code, table, _ = _run(capsys, "evaluate", out, files / "future.csv", "--json", files / "s.json")
    assert code == 0
    assert table.splitlines()[0].split() == [
        "variable",
        "n",
        "MSE",
        "MAE",
        "cov",
        "50%",
        "cov",
        "95%",
    ]
    assert "mean" in table and f"{len(whole)} of {len(whole)} forecast rows matched" in table
    scores = json.loads((files / "s.json").read_text())
    hr = scores["variables"]["HR"]
    truth = pl.read_csv(files / "future.csv").sort("unique_id", "ds")["HR"].to_numpy()
    ok = ~np.isnan(truth)
    err = whole["HR"].to_numpy()[ok] - truth[ok]
    assert hr["n"] == ok.sum()
    np.testing.assert_allclose([hr["mse"], hr["mae"]], [np.mean(err**2), np.mean(np.abs(err))])
    assert 0 <= hr["coverage"]["50"] <= hr["coverage"]["95"] <= 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{d}/nope.csv", "{d}/m"], "training file '{d}/nope.csv' does not exist"),
        (["fit", "{d}/train.csv", "{d}/m", "--target-cols", "HR,Foo"], "missing column(s) ['Foo']"),
        (["fit", "{d}/train.csv", "{d}/m", "--id-col", "pid"], "missing column(s) ['pid']"),
        (["fit", "{d}/train.csv", "{d}/m", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--max-steps", "0"],
            "--max-steps must be a positive int",
        ),
        (["fit", "{d}/train.csv", "{d}/m", "--target-weights", "HR"], "expected NAME=WEIGHT"),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--target-weights", "Foo=1"],
            "target_weights names ['Foo']",
        ),
        (["fit", "{d}/train.txt", "{d}/m"], "must end in .csv, .parquet or .pq"),
        (["predict", "{d}/model", "{d}/hist.parquet", "-o", "{d}/x.csv"], "one of the arguments"),
        (
            ["predict", "{d}/nomodel", "{d}/hist.parquet", "--h", "2", "-o", "{d}/x.csv"],
            "not a saved",
        ),
        (
            ["predict", "{d}/model", "{d}/hist.parquet", "--h", "2", "-o", "{d}/x.txt"],
            "must end in",
        ),
        (["predict", "{d}/model", "{d}/hist.parquet", "--h", "2", "-o", "{d}/x.csv"], "static"),
        (["evaluate", "{d}/fc.parquet", "{d}/future.csv", "--time-col", "t"], "no column(s) ['t']"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_bad_input_is_one_clean_line(files, model_dir, capsys, argv, message):
    d = str(files)
    code, out, err = _run(capsys, *[a.format(d=d) for a in argv])
    assert code == 2
    assert err.startswith("s5ts: error: ") and message.format(d=d) in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (files / "x.csv").exists()


def test_help_and_no_command(capsys):
    assert _run(capsys, "--help")[0] == 0
    assert _run(capsys, "predict", "--help")[0] == 0
    assert _run(capsys)[0] == 2


def test_python_dash_m_help():
    proc = subprocess.run(
        [sys.executable, "-m", "s5ts", "--help"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    for command in ("fit", "predict", "evaluate", "demo"):
        assert command in proc.stdout
