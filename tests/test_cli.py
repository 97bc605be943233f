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


TINY = (
    "--hidden-size 8 --state-size 8 --blocks 1 --n-layers 1 --batch-size 4 --max-steps 3 --folds 1"
)


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
    # A forecasts file with interval columns, for errors that need one (each test makes
    # what it reads: under pytest-xdist another test's outputs may be on another worker)
    band = [pl.col("HR").alias("HR-lo-50"), pl.col("HR").alias("HR-hi-50")]
    future.select("unique_id", "ds", "HR", *band).write_parquet(root / "banded.parquet")
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
    assert _run(capsys, *argv, "-q", "--overwrite")[0] == 0
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


def test_csv_ids_are_labels_read_as_written(files, model_dir, capsys):
    # "07" and "7" are two series; read as numbers they would merge into one.
    ids = {"patient_000": "07", "patient_001": "7"}

    def pick(frame):
        frame = frame.filter(pl.col("unique_id").is_in(list(ids)))
        return frame.with_columns(pl.col("unique_id").replace(ids))

    pick(pl.read_parquet(files / "hist.parquet")).write_csv(files / "ids.csv")
    pick(pl.read_parquet(files / "static.parquet")).write_csv(files / "ids_static.csv")
    code, _, err = _run(
        capsys, "predict", model_dir, files / "ids.csv", "--h", 2, "--freq", 1,
        "--static", files / "ids_static.csv", "-o", files / "ids_fc.csv",
    )  # fmt: skip
    assert code == 0, err
    out = pl.read_csv(files / "ids_fc.csv", schema_overrides={"unique_id": pl.String})
    assert sorted(out["unique_id"].unique()) == ["07", "7"] and len(out) == 4


@pytest.mark.filterwarnings("always::UserWarning")
def test_library_warnings_are_one_line_in_flags(files, model_dir, capsys):
    # 40 h ahead of a model trained for 8 h: the extrapolation warning, as the CLI words it
    code, _, err = _run(
        capsys, "predict", model_dir, files / "hist.parquet", "--h", 20, "--freq", 2,
        "--static", files / "static.parquet", "-o", files / "far.csv", "-q",
    )  # fmt: skip
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s5ts: warning: ")
    assert "trained for" in lines[0] and "sys.exit" not in err


def test_level_fractions_get_the_flag_as_typed(files, model_dir, capsys):
    code, _, err = _run(
        capsys, "predict", model_dir, files / "hist.parquet", "--h", 2, "--freq", 2,
        "--static", files / "static.parquet", "--level", 0.8, 0.95, "-o", files / "x.csv",
    )  # fmt: skip
    assert code == 2 and err.strip().endswith("pass --level 80 95")


def test_target_cols_hint_only_for_a_left_over_name(files, capsys):
    d = str(files)
    code, _, err = _run(
        capsys, "fit", f"{d}/train.csv", f"{d}/m", "--target-cols", "HR,SysABP", "--bogus"
    )
    assert code == 2 and "unrecognized arguments: --bogus" in err
    assert "comma-separated" not in err  # the targets were given right


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{d}/nope.csv", "{d}/m"], "training file '{d}/nope.csv' does not exist"),
        (["fit", "{d}/train.csv", "{d}/m", "--target-cols", "HR,Foo"], "missing column(s) ['Foo']"),
        (["fit", "{d}/train.csv", "{d}/m", "--id-col", "pid"], "missing column(s) ['pid']"),
        (["fit", "{d}/train.csv", "{d}/m", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--target-cols", "HR", "SysABP"],
            "; --target-cols takes one comma-separated list: --target-cols HR,SysABP",
        ),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--max-steps", "0"],
            "--max-steps must be a positive int",
        ),
        (["fit", "{d}/train.csv", "{d}/m", "--target-weights", "HR"], "expected NAME=WEIGHT"),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--target-weights", "Foo=1"],
            "--target-weights names ['Foo']",
        ),
        (
            ["fit", "{d}/train.csv", "{d}/m", "--id-col", "pid"],
            "pass --id-col/--time-col/--target-cols to match your file",
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
        (
            ["predict", "{d}/model", "{d}/hist.parquet", "--h", "2", "-o", "{d}/x.csv"],
            "pass --static with those columns",
        ),
        (
            ["evaluate", "{d}/banded.parquet", "{d}/future.csv", "--time-col", "t"],
            "no column(s) ['t']",
        ),
        (["evaluate", "{d}/future.csv", "{d}/banded.parquet"], "are the two swapped?"),
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
    # the command line names flags and files, not the Python API's arguments
    for word in ("static_df", "id_col", "time_col", "target_cols", "target_weights", " df "):
        assert word not in err


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


# -- CSV reading -------------------------------------------------------------------------


def _messy_csv(files, path, bad=None):
    """The training CSV behind 10,000 rows with every target empty (dropped when read), with
    missing values written each way people write them, and optionally one bad value."""
    df = pl.read_csv(files / "train.csv")
    targets = [c for c in df.columns if c not in ("unique_id", "ds")]
    filler = pl.DataFrame({"unique_id": [df["unique_id"][0]] * 10_000, "ds": [0.0] * 10_000})
    text = pl.concat([filler, df], how="diagonal").cast({t: pl.String for t in targets})
    words = ["NA", "nan", "NaN", "null", "NULL", "", "N/A", " NA "]
    text = text.with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == k)
        .then(pl.lit(word))
        .otherwise(pl.col(targets[k % len(targets)]))
        .alias(targets[k % len(targets)])
        for k, word in enumerate(words[: len(targets)])
    )
    if bad is not None:
        row, col, value = bad
        text = text.with_columns(
            pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(col))
            .alias(col)
        )  # fmt: skip
    text.write_csv(path, null_value="")
    return df, targets


def test_csv_targets_read_as_numbers(files, capsys):
    """A lab column empty in the first 10,000 rows, and NA / nan / NaN / null / NULL / N/A /
    empty for missing values, read as numbers: the fit runs."""
    from s5ts.cli._tables import read

    path = files / "messy.csv"
    df, targets = _messy_csv(files, path)
    got = read(path, keys=("unique_id", "ds"))
    assert all(got.schema[t] == pl.Float64 for t in targets)
    assert got["unique_id"].dtype == pl.String  # the id is not coerced
    observed = sum(int(df[t].is_not_null().sum()) for t in targets)
    assert sum(int(got[t].is_not_null().sum()) for t in targets) < observed  # words -> null
    code, _, err = _run(
        capsys, "fit", path, files / "messy_model", "--static", files / "static.parquet",
        "--horizon", 8, "-q", *TINY.split(),
    )  # fmt: skip
    assert code == 0, err
    # what reading left out, one line in the command line's words (not Python's display)
    left_out = [line for line in err.splitlines() if "with no observed target" in line]
    assert len(left_out) == 1 and left_out[0].startswith("s5ts: warning: fit: reading the data")
    assert "report_" not in err and "sys.exit" not in err


def test_csv_bad_number_names_file_column_and_line(files, model_dir, capsys):
    path = files / "bad.csv"
    _messy_csv(files, path, bad=(10_500, "Lactate", "abc"))
    line = 10_500 + 2  # data row 10,500 (0-based) is line 10,502: the header is line 1
    want = f"{path}: column 'Lactate' line {line} has 'abc', not a number"
    fit = ["fit", path, files / "m_bad", "--static", files / "static.parquet", "-q"]
    predict = ["predict", model_dir, path, "--h", 2, "--static", files / "static.parquet"]
    predict += ["-o", files / "y.csv", "-q"]
    for argv in (fit, [*fit, "--chunk-size", 4], predict, [*predict, "--chunk-size", 4]):
        code, _, err = _run(capsys, *argv)
        # a chunked prediction first says what its first chunk left out
        *warned, last = err.strip().splitlines()
        assert code == 2 and last.startswith("s5ts: error: ") and want in last, err
        assert all(line.startswith("s5ts: warning: ") for line in warned)
        assert len(warned) <= ("--chunk-size" in argv and argv[0] == "predict"), err
    assert not (files / "y.csv").exists() and not (files / "m_bad").exists()


def test_fit_chunk_by_chunk_from_parquet(files, capsys):
    train = files / "train.parquet"
    pl.read_csv(files / "train.csv").sort("unique_id", "ds").write_parquet(train)
    code, _, err = _run(
        capsys, "fit", train, files / "m_chunked", "--static", files / "static.parquet",
        "--horizon", 8, "--chunk-size", 3, *TINY.split(),
    )  # fmt: skip
    assert code == 0, err
    assert "fitted on 10 series" in err
    code, _, err = _run(
        capsys, "predict", files / "m_chunked", files / "hist.parquet", "--h", 2,
        "--static", files / "static.parquet", "-o", files / "chunked.parquet", "-q",
    )  # fmt: skip
    assert code == 0, err
    assert pl.read_parquet(files / "chunked.parquet").height == 20
    code, _, err = _run(
        capsys, "fit", train, files / "m_chunked2", "--chunk-size", 3,
        "--checkpoint-dir", files / "ckpt_chunked", "-q",
    )  # fmt: skip
    assert code == 2 and "--chunk-size" in err and "--checkpoint-dir" in err
    code, _, err = _run(
        capsys, "fit", train, files / "m_chunked3", "--chunk-size", 3,
        "--network", "variable-clocks", "-q",
    )  # fmt: skip
    assert code == 2 and "--network shared-clock" in err and "s5ts." not in err, err


def test_not_a_parquet_file(files, capsys):
    (files / "x.parquet").write_text("unique_id,ds,HR\na,1,2\n")
    code, _, err = _run(capsys, "fit", files / "x.parquet", files / "m_x")
    assert code == 2
    assert err.startswith(f"s5ts: error: {files / 'x.parquet'} is not a Parquet file: ")


# -- not losing work ---------------------------------------------------------------------


def test_fit_ctrl_c_saves_the_best_model_and_resumes(files, capsys, monkeypatch):
    """Ctrl-C during `s5ts fit` saves the best model so far; run again with --overwrite,
    the same command resumes from --checkpoint-dir."""
    from s5ts import S5Forecaster

    fit = S5Forecaster.fit

    def press_ctrl_c_at_step_2(self, *args, **kwargs):
        def callback(info):
            if info.step == 2:
                raise KeyboardInterrupt

        return fit(self, *args, callbacks=[callback], **kwargs)

    out, ckpt = files / "m_int", files / "ckpt"
    argv = ["fit", files / "train.csv", out, "--static", files / "static.parquet", "-q"]
    argv += [*TINY.replace("--max-steps 3", "--max-steps 4").split(), "--eval-every", 1]
    argv += ["--horizon", 8, "--checkpoint-dir", ckpt]
    with monkeypatch.context() as m:
        m.setattr(S5Forecaster, "fit", press_ctrl_c_at_step_2)
        code, _, err = _run(capsys, *argv)
    assert code == 130
    assert (
        "interrupted: saved the best model so far (" in err
        and "best step" in err
        and f"to {out}" in err
    )
    assert "--overwrite to resume" in err
    model = S5Forecaster.load(out)
    assert model.history_["stopped"] == "interrupted"
    assert any(ckpt.iterdir())

    code, _, err = _run(capsys, *argv)
    assert code == 2 and "already holds a model; pass --overwrite" in err
    assert _run(capsys, *argv, "--overwrite")[0] == 0
    assert S5Forecaster.load(out).history_["stopped"] == "max_steps"


@pytest.mark.parametrize(
    "argv, message",
    [
        # model_dir is checked before the (broken) training file is read
        (["fit", "{d}/broken.parquet", "{d}/model"], "already holds a model; pass --overwrite"),
        (["fit", "{d}/broken.parquet", "{d}"], "exists and does not hold a model"),
        (["fit", "{d}/broken.parquet", "{d}/train.csv"], "is a file; pick another path"),
        (["fit", "{d}/broken.parquet", "{d}/train.csv/m"], "'{d}/train.csv' is a file"),
        (["fit", "{d}/train.csv", "{d}/m", "--static", "{d}/no.csv"], "'{d}/no.csv' does not"),
        (["fit", "{d}/train.csv", "{d}/m", "--val", "{d}/v.txt"], "must end in .csv"),
        (
            ["fit", "{d}/broken.parquet", "{d}/m", "--checkpoint-dir", "{d}/train.csv"],
            "--checkpoint-dir '{d}/train.csv' is a file",
        ),
        (["predict", "{d}/model", "{d}/hist.parquet", "--h", "1", "-o", "{d}/future.csv"],
         "'{d}/future.csv' exists; pass --overwrite"),
        (
            ["predict", "{d}/model", "{d}/hist.parquet", "--h", "1", "-o", "{d}/hist.parquet",
             "--overwrite"],
            "would overwrite the input '{d}/hist.parquet'",
        ),
        (
            ["predict", "{d}/model", "{d}/hist.parquet", "--query", "{d}/query.parquet",
             "-o", "{d}/./query.parquet", "--overwrite"],
            "would overwrite the input",
        ),
        (
            ["predict", "{d}/model", "{d}/hist.parquet", "--h", "1", "-o",
             "{d}/model/config.csv", "--overwrite"],
            "would overwrite the input '{d}/model'",
        ),
        (
            ["evaluate", "{d}/hist.parquet", "{d}/future.csv", "--json", "{d}/future.csv",
             "--overwrite"],
            "would overwrite the input '{d}/future.csv'",
        ),
        (["evaluate", "{d}/hist.parquet", "{d}/future.csv", "--json", "{d}/train.csv"],
         "exists; pass --overwrite"),
    ],
)  # fmt: skip
def test_paths_are_checked_first_and_inputs_never_overwritten(
    files, model_dir, capsys, argv, message
):
    d = str(files)
    (files / "broken.parquet").write_bytes(b"not parquet")
    before = {p: p.read_bytes() for p in files.rglob("*") if p.is_file()}
    code, _, err = _run(capsys, *[a.format(d=d) for a in argv])
    assert code == 2 and err.startswith("s5ts: error: "), err
    assert message.format(d=d) in err, err
    after = {p: p.read_bytes() for p in files.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing replaced


def test_outputs_replaced_only_with_overwrite(files, model_dir, capsys):
    out = files / "scores.json"
    argv = ["evaluate", files / "future.csv", files / "train.csv", "--json", out, "-q"]
    out.write_text("{}")
    assert _run(capsys, *argv)[0] == 2 and out.read_text() == "{}"
    assert _run(capsys, *argv, "--overwrite")[0] == 0 and "variables" in out.read_text()


def test_fit_help_shows_every_option_with_its_default(capsys):
    code, out, _ = _run(capsys, "fit", "--help")
    assert code == 0
    for text in ("--checkpoint-dir", "--overwrite", "--hidden-size", "(default: "):
        assert text in out


def test_fit_nan_loss_saves_the_best_model_and_says_so(files, capsys):
    # A huge learning rate blows the weights up within a few steps: a clean error in flag
    # words, exit 2, and the best weights before it saved (as Ctrl-C does).
    out = files / "m_nan"
    argv = ["fit", files / "train.csv", out, "--static", files / "static.parquet", "-q"]
    argv += [*TINY.split(), "--eval-every", 1, "--horizon", 8, "--learning-rate", 1e30]
    code, _, err = _run(capsys, *argv)
    last = err.strip().splitlines()[-1]  # after the warnings, if any
    assert code == 2 and last.startswith("s5ts: error: the training loss became NaN/inf")
    assert "--learning-rate" in err and f"to {out}" in err
    from s5ts import S5Forecaster

    assert S5Forecaster.load(out).history_["stopped"] == "non_finite"


# -- files as pandas and people write them -------------------------------------------------


def test_pandas_row_index_in_a_file(files, capsys):
    # A filtered pandas frame written to Parquet keeps its index as `__index_level_0__`:
    # pandas reads it back as the index, and so does the command line. In a CSV it is a
    # nameless column, which is refused rather than trained on as a target.
    train = pl.read_csv(files / "train.csv").to_pandas()
    part = train[train["ds"] > 1.0]
    part.to_parquet(files / "indexed.parquet")
    assert "__index_level_0__" in pl.read_parquet_schema(files / "indexed.parquet")
    code, _, err = _run(
        capsys, "fit", files / "indexed.parquet", files / "m_indexed", "--static",
        files / "static.parquet", "--horizon", 8, "-q", *TINY.split(),
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((files / "m_indexed" / "config.json").read_text())
    assert "__index_level_0__" not in json.dumps(config)
    part.to_csv(files / "indexed.csv")
    code, _, err = _run(capsys, "fit", files / "indexed.csv", files / "m_x", "-q", *TINY.split())
    assert code == 2 and "a row index that pandas wrote" in err and "--target-cols" in err


def test_text_times_of_a_parquet_file_read_as_a_csv_s(files, capsys):
    hist = pl.read_parquet(files / "hist.parquet")
    start = pl.datetime(2024, 1, 1)
    stamped = hist.with_columns(
        (start + pl.duration(seconds=(pl.col("ds") * 3600).round())).alias("ds")
    ).unique(["unique_id", "ds"], keep="first", maintain_order=True)
    stamped.write_csv(files / "stamped.csv")
    stamped.with_columns(pl.col("ds").dt.to_string("%Y-%m-%d %H:%M:%S")).write_parquet(
        files / "stamped_text.parquet"
    )
    code, _, err = _run(
        capsys, "fit", files / "stamped.csv", files / "m_stamped", "--horizon", "8h",
        "--context", "none", "--discretisation", "zoh", "-q", *TINY.split(),
    )  # fmt: skip
    assert code == 0, err
    forecasts = []
    for name in ("stamped.csv", "stamped_text.parquet"):
        out = files / f"fc_{name}.csv"
        argv = ["predict", files / "m_stamped", files / name, "--h", 2, "--freq", "h", "-o", out]
        code, _, err = _run(capsys, *argv, "-q")
        assert code == 0, err
        forecasts.append(pl.read_csv(out))
    assert forecasts[0].equals(forecasts[1])


def test_whole_number_times_and_duplicates_at_predict(files, model_dir, capsys):
    # float times written as "3" in one file and "3.0" in another are the same times
    hist = pl.read_parquet(files / "hist.parquet").filter(pl.col("ds") == pl.col("ds").round())
    whole = hist.with_columns(pl.col("ds").cast(pl.Int64))
    doubled = pl.concat([whole, whole.head(3)])
    doubled.write_csv(files / "doubled.csv")
    argv = ["predict", model_dir, files / "doubled.csv", "--h", 2, "--freq", 1]
    argv += ["--static", files / "static.parquet", "-o", files / "dd.csv"]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "Pass --duplicates 'mean'" in err and "to_panel" not in err
    code, _, err = _run(capsys, *argv, "--duplicates", "mean", "-q")
    assert code == 0, err
    assert "s5ts: warning: reading the history file left out 3 duplicate row(s) merged" in err
    whole.write_csv(files / "whole.csv")
    argv[2], argv[-1] = files / "whole.csv", files / "whole_fc.csv"
    assert _run(capsys, *argv, "-q")[0] == 0
    assert pl.read_csv(files / "dd.csv").equals(pl.read_csv(files / "whole_fc.csv"))


def test_chunked_prediction_warns_once_for_every_chunk(files, model_dir, capsys):
    # every series gets a row with nothing observed (left out), and forecasts far ahead
    hist = pl.read_parquet(files / "hist.parquet")
    empty = hist.group_by("unique_id").agg(pl.col("ds").min() - 0.5)
    padded = pl.concat([hist, empty], how="diagonal").sort("unique_id", "ds")
    padded.write_parquet(files / "padded.parquet")
    argv = ["predict", model_dir, files / "padded.parquet", "--h", 20, "--freq", 2, "--static"]
    argv += [files / "static.parquet", "-q", "--overwrite"]
    _, _, whole = _run(capsys, *argv, "-o", files / "far_whole.csv")
    _, _, chunked = _run(capsys, *argv, "-o", files / "far_chunked.csv", "--chunk-size", 3)
    assert len(whole.strip().splitlines()) == len(chunked.strip().splitlines()) == 2
    assert "left out 10 row(s) with no observed target" in whole
    assert "left out 10 row(s) with no observed target" in chunked
    far = [line for line in whole.splitlines() if "extrapolation" in line]
    assert far and far[0] in chunked.splitlines()
    assert "the model's --horizon 8" in whole and "horizon_" not in whole


def test_help_names_the_subcommand(capsys):
    code, _, err = _run(capsys, "predict", "m", "h.csv", "--h", 2, "-o", "x.csv", "--bogus")
    assert code == 2 and "(see 's5ts predict --help')" in err
    code, out, _ = _run(capsys, "demo", "--help")
    assert code == 0 and out.startswith("usage: s5ts demo") and "patients to train on" in out
    code, out, _ = _run(capsys, "fit", "--help")
    help_text = " ".join(out.split())
    assert "when no --val file is given" in help_text and "val_df" not in help_text


def test_text_times_name_the_line_and_value(files, model_dir, capsys):
    """A time column that reads as text: its first value that is neither a number nor a
    date, by line; a column mixing numbers and dates, said as such."""
    bad = files / "text_times.csv"
    bad.write_text("unique_id,ds,HR\na,0,80\na,1,81\nb,later,82\nb,3,83\n")
    code, _, err = _run(capsys, "fit", bad, files / "m_text", "-q", *TINY.split())
    assert code == 2 and not (files / "m_text").exists()
    assert f"{bad}: time column 'ds' line 4 has 'later', neither a number nor a date" in err
    # a fit that reads the file in chunks says the same, not the library's Python advice
    argv = ["fit", bad, files / "m_text_chunked", "-q", "--chunk-size", 1, *TINY.split()]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "line 4 has 'later'" in err and "pd.to_datetime" not in err, err
    query = files / "text_query.csv"  # a query file reads no numbers: lines all the same
    query.write_text("unique_id,ds\npatient_000,30\npatient_000,soon\n")
    argv = ["predict", model_dir, files / "hist.parquet", "--query", query]
    code, _, err = _run(capsys, *argv, "--static", files / "static.parquet", "-o", files / "q.csv")
    assert code == 2 and f"{query}: time column 'ds' line 3 has 'soon'" in err, err
    mixed = files / "mixed_times.csv"
    mixed.write_text("unique_id,ds,HR\na,1,80\na,2024-01-01 10:00,81\n")
    code, _, err = _run(capsys, "fit", mixed, files / "m_mixed", "-q", *TINY.split())
    assert code == 2 and "mixes numbers and dates" in err, err
    assert "pd.to_datetime" not in err  # not the library's Python advice


def test_row_numbers_are_explained_as_lines(files, capsys):
    bad = files / "inf.csv"
    bad.write_text("unique_id,ds,HR\na,0,80\na,1,81\nb,0,70\nb,2,inf\n")
    code, _, err = _run(capsys, "fit", bad, files / "m_inf", "-q", *TINY.split())
    assert code == 2 and "at rows [3]" in err, err
    assert "row n is line n + 2 of a CSV file" in err


def test_tiny_toy_file_fits_with_the_default_horizon(files, capsys):
    """Series two or three events long: half the median span (0.75) is below every gap
    (1), so the default horizon is the median gap instead of an error."""
    toy = files / "toy.csv"
    toy.write_text("unique_id,ds,HR\na,0,80\na,1,81\na,2,82\nb,0,70\nb,1,71\n")
    code, _, err = _run(capsys, "fit", toy, files / "m_toy", "-q", *TINY.split())
    assert code == 0, err
    config = json.loads((files / "m_toy" / "config.json").read_text())
    assert config["fitted"]["horizon"] == 1.0, config["fitted"]  # model units: the median gap


def test_text_time_edge_cases(files, capsys):
    """An empty file is the library's 'empty' error; numbers stored as text in a Parquet
    file are said to be that; evaluate matches text time keys as they are."""
    empty = files / "empty.csv"
    empty.write_text("unique_id,ds,HR\n")
    code, _, err = _run(capsys, "fit", empty, files / "m_empty", "-q", *TINY.split())
    assert code == 2 and "is empty (0 rows)" in err and "Traceback" not in err, err
    text = files / "text_numbers.parquet"
    pl.DataFrame({"unique_id": ["a", "a"], "ds": ["0", "1"], "HR": [80.0, 81.0]}).write_parquet(
        text
    )
    code, _, err = _run(capsys, "fit", text, files / "m_textnum", "-q", *TINY.split())
    assert code == 2 and "holds numbers stored as text" in err, err
    keyed = files / "keyed.csv"
    keyed.write_text("unique_id,ds,HR\na,t1,80\na,t2,81\n")
    code, out, err = _run(capsys, "evaluate", keyed, keyed)
    assert code == 0 and "HR" in out, err


def test_row_note_only_when_rows_are_lines(files, capsys):
    bad = files / "inf_chunked.csv"
    bad.write_text("unique_id,ds,HR\na,0,80\na,1,81\nb,0,70\nb,2,inf\n")
    argv = ["fit", bad, files / "m_infc", "-q", "--chunk-size", 1, *TINY.split()]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "inf" in err and "line n + 2" not in err, err
