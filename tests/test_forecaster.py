"""S5Forecaster: the sklearn contract, query semantics, invariances, frames and persistence.

One tiny model is fitted once per module and shared; refits use the same hyperparameters
and data shapes, so they reuse its compilation.
"""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _tiny import TINY

import s5ts
from s5ts.datasets import synthetic_vitals


@pytest.fixture(scope="module")
def data():
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    return df, static_df


@pytest.fixture(scope="module")
def fitted(data):
    df, static_df = data
    return s5ts.S5Forecaster(**TINY).fit(df, static_df)


def _queries(df, ids, times):
    return pd.DataFrame({"unique_id": np.repeat(ids, len(times)), "ds": np.tile(times, len(ids))})


def _values(frame):
    return frame.drop(columns=["unique_id", "ds"]).to_numpy()


def test_not_fitted(data):
    df, _ = data
    with pytest.raises(s5ts.NotFittedError, match="not fitted"):
        s5ts.S5Forecaster().predict(df, h=2)
    assert issubclass(s5ts.NotFittedError, ValueError)
    assert issubclass(s5ts.NotFittedError, AttributeError)


def test_params_and_clone(fitted):
    sklearn_base = pytest.importorskip("sklearn.base")
    est = s5ts.S5Forecaster(**TINY)
    assert est.get_params() | TINY == est.get_params()
    assert est.set_params(hidden_size=4) is est and est.hidden_size == 4
    with pytest.raises(ValueError, match="unknown parameter"):
        est.set_params(hidden=4)
    twin = sklearn_base.clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "model_")
    assert "hidden_size=8" in repr(fitted)


def test_query_independence(data, fitted):
    df, static_df = data
    ids = ["patient_000", "patient_003"]
    many = fitted.predict(df, _queries(df, ids, [24.5, 26.0, 30.0, 33.3]), static_df=static_df)
    one = fitted.predict(df, _queries(df, ids[1:], [30.0]), static_df=static_df)
    row = many[(many["unique_id"] == ids[1]) & (many["ds"] == 30.0)]
    np.testing.assert_allclose(_values(row), _values(one), rtol=1e-6)


def test_batch_and_padding_independence(data, fitted):
    df, static_df = data
    base = fitted.predict(df, h=40, freq=0.5, static_df=static_df, level=[80])
    fitted.set_params(batch_size=3)
    try:
        small = fitted.predict(df, h=40, freq=0.5, static_df=static_df, level=[80])
        alone = fitted.predict(df[df["unique_id"] == "patient_007"], h=40, freq=0.5,
                               static_df=static_df, level=[80])  # fmt: skip
    finally:
        fitted.set_params(batch_size=TINY["batch_size"])
    np.testing.assert_allclose(_values(small), _values(base), rtol=1e-6, atol=1e-6)
    ref = base[base["unique_id"] == "patient_007"]
    np.testing.assert_allclose(_values(alone), _values(ref), rtol=1e-6, atol=1e-6)


def test_reproducible_and_clone_refit(data, fitted):
    sklearn_base = pytest.importorskip("sklearn.base")
    df, static_df = data
    q = _queries(df, ["patient_001"], [25.0, 28.0])
    ref = fitted.predict(df, q, static_df=static_df)
    again = s5ts.S5Forecaster(**TINY).fit(df, static_df).predict(df, q, static_df=static_df)
    cloned = sklearn_base.clone(fitted).fit(df, static_df).predict(df, q, static_df=static_df)
    np.testing.assert_array_equal(_values(again), _values(ref))
    np.testing.assert_array_equal(_values(cloned), _values(ref))


def test_time_unit_invariance(data, fitted):
    df, static_df = data
    minutes = df.assign(ds=df["ds"] * 60.0)
    est = s5ts.S5Forecaster(**TINY | {"horizon": 12.0 * 60}).fit(minutes, static_df)
    q = _queries(df, ["patient_002", "patient_009"], [24.25, 27.0, 35.5])
    in_hours = fitted.predict(df, q, static_df=static_df, level=[95])
    in_minutes = est.predict(minutes, q.assign(ds=q["ds"] * 60.0), static_df=static_df, level=[95])
    np.testing.assert_allclose(_values(in_minutes), _values(in_hours), rtol=1e-5, atol=1e-5)


def test_output_columns_and_grid(data, fitted):
    df, static_df = data
    out = fitted.predict(df, h=3, freq=0.5, static_df=static_df, level=[95, 80], quantiles=[0.1])
    assert list(out.columns[:7]) == ["unique_id", "ds", "HR", "HR-lo-95", "HR-lo-80", "HR-hi-80",
                                     "HR-hi-95"]  # fmt: skip
    assert "Lactate-q0.1" in out.columns and len(out) == 3 * df["unique_id"].nunique()
    last = df.groupby("unique_id")["ds"].max()
    np.testing.assert_allclose(
        out["ds"].to_numpy(), np.repeat(last.to_numpy(), 3) + np.tile([0.5, 1.0, 1.5], len(last))
    )
    assert np.all(out["HR-lo-95"] <= out["HR-lo-80"]) and np.all(out["HR-lo-80"] <= out["HR"])


def test_regular_datetime_grid_and_polars(data):
    _, static_df = data
    times = pd.date_range("2024-01-01", periods=30, freq="1h")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"unique_id": np.repeat(["a", "b"], 30), "ds": np.tile(times, 2),
                       "y": rng.normal(size=60).cumsum()})  # fmt: skip
    est = s5ts.S5Forecaster(**TINY | {"horizon": "6h"}).fit(df)
    out = est.predict(df, h=4, freq="1h")
    expected = pd.date_range("2024-01-02 06:00", periods=4, freq="1h")
    assert isinstance(out, pd.DataFrame)
    assert (out.loc[out["unique_id"] == "a", "ds"].to_numpy() == expected.to_numpy()).all()
    pl_out = est.predict(pl.from_pandas(df), h=4)  # freq defaults to the median gap: 1 h
    assert isinstance(pl_out, pl.DataFrame)
    np.testing.assert_allclose(pl_out["y"].to_numpy(), out["y"].to_numpy(), rtol=1e-6)
    assert pl_out["ds"].dtype == pl.Datetime


def test_bad_queries(data, fitted):
    df, static_df = data
    last = df.loc[df["unique_id"] == "patient_004", "ds"].max()
    with pytest.raises(ValueError, match="patient_004"):
        fitted.predict(df, _queries(df, ["patient_004"], [last]), static_df=static_df)
    with pytest.raises(ValueError, match="static"):
        fitted.predict(df, h=2)
    with pytest.raises(ValueError, match="pass query_df"):
        fitted.predict(df, static_df=static_df)


def test_cross_validation(data, fitted):
    df, static_df = data
    cv = fitted.cross_validation(df, static_df=static_df, n_windows=2, step_size=3, h=6,
                                 freq=1.0, level=[80])  # fmt: skip
    assert list(cv.columns[:4]) == ["unique_id", "ds", "cutoff", "HR"]
    assert "HR-y" in cv.columns and "HR-lo-80" in cv.columns
    last = cv["unique_id"].map(df.groupby("unique_id")["ds"].max())
    assert set(np.round(last - cv["cutoff"], 9)) == {6.0, 9.0}
    assert np.all(cv["ds"] > cv["cutoff"]) and np.all(cv["ds"] <= cv["cutoff"] + 6.0)
    # A window forecast equals predict() on the history up to its cutoff.
    row = cv.iloc[0]
    hist = df[(df["unique_id"] == row["unique_id"]) & (df["ds"] <= row["cutoff"])]
    q = pd.DataFrame({"unique_id": [row["unique_id"]], "ds": [row["ds"]]})
    direct = fitted.predict(hist, q, static_df=static_df)
    np.testing.assert_allclose(direct["HR"].to_numpy(), [row["HR"]], rtol=1e-6)


def test_cross_validation_warns_of_windows_without_history(data, fitted):
    # Four windows 8 units apart on series of about 24 units: the oldest start before
    # their series' first event and forecast nothing, which the user is told.
    df, static_df = data
    with pytest.warns(s5ts.DataWarning, match=r"start before their series' first event") as w:
        cv = fitted.cross_validation(df, static_df=static_df, n_windows=4, h=8, freq=1.0)
    times = df.groupby("unique_id")["ds"]
    starts = times.max().to_numpy()[:, None] - 8.0 * np.arange(1, 5)[None]
    early = starts < times.min().to_numpy()[:, None]
    assert early.any() and not early.all()
    message = str(w[0].message)
    assert f"{early.sum()} of the {early.size} windows (4 per series)" in message
    kept = cv.groupby("unique_id")["cutoff"].nunique()
    np.testing.assert_array_equal(kept.to_numpy(), 4 - early.sum(1))


def test_save_load(tmp_path, data, fitted):
    df, static_df = data
    fitted.save(tmp_path / "m")
    fitted.save(tmp_path / "m")  # overwriting a saved model is fine
    loaded = s5ts.S5Forecaster.load(tmp_path / "m")
    a = fitted.predict(df, h=3, static_df=static_df, level=[80])
    b = loaded.predict(df, h=3, static_df=static_df, level=[80])
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert loaded.get_params() == fitted.get_params()
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.eqx"]


def test_load_errors(tmp_path, fitted):
    with pytest.raises(ValueError, match="does not exist"):
        s5ts.S5Forecaster.load(tmp_path / "nothing")
    (tmp_path / "data.csv").write_text("unique_id,ds,y\n")
    with pytest.raises(ValueError, match="it is a file, not the directory save wrote"):
        s5ts.S5Forecaster.load(tmp_path / "data.csv")
    fitted.save(tmp_path / "m")
    weights = (tmp_path / "m" / "model.eqx").read_bytes()
    (tmp_path / "m" / "model.eqx").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ValueError, match="model.eqx"):
        s5ts.S5Forecaster.load(tmp_path / "m")
    (tmp_path / "m" / "model.eqx").write_bytes(weights + b"extra")
    with pytest.raises(ValueError, match="does not match"):
        s5ts.S5Forecaster.load(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        s5ts.S5Forecaster.load(tmp_path / "m")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="refusing"):
        fitted.save(tmp_path / "other")


def test_plot(data, fitted):
    df, static_df = data
    fc = fitted.predict(df, h=4, freq=1.0, static_df=static_df, level=[80])
    fig = s5ts.plot_forecast(df, fc, ids=["patient_000", "patient_001"], target="MAP", level=[80])
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "patient_000: MAP"
    with pytest.raises(ValueError, match=r"no \[50\] % intervals for 'MAP'; its levels are"):
        s5ts.plot_forecast(df, fc, target="MAP", level=[50])


def test_a_horizon_shorter_than_every_gap_is_refused(data):
    # No training cutoff would have a target: an error, not a fit on zero losses.
    df, static_df = data
    model = s5ts.S5Forecaster(**(TINY | {"horizon": 1e-6}))
    match = r"horizon=1e-06 \(.*\) is shorter than every gap.*median gap"
    with pytest.raises(ValueError, match=match):
        model.fit(df, static_df)


@pytest.mark.filterwarnings("ignore::s5ts.BaselineWarning")  # two training steps
def test_the_default_horizon_reaches_the_training_series_next_events():
    # Series "a" has gaps of 1 (the median gap of all series), the others gaps of 5. When
    # "a" is held out (random_state=13), half the median span (2.5) is below every
    # training gap: the default horizon is then the training series' median gap.
    rows = [("a", float(t), 80.0 + t) for t in range(10)]
    rows += [(k, float(t), 70.0) for k in "bcde" for t in (0, 5)]
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "HR"])
    for seed in (13, 0, 1):
        params = TINY | {"horizon": None, "folds": 1, "random_state": seed, "max_steps": 2}
        model = s5ts.S5Forecaster(**params).fit(df)
        assert model.horizon_ in (2.5, 5.0)
    assert s5ts.S5Forecaster(**(params | {"random_state": 13})).fit(df).horizon_ == 5.0


@pytest.mark.filterwarnings("ignore::s5ts.BaselineWarning")  # one training step
def test_verbose_fit_names_the_targets_it_took_from_every_column(data, capsys):
    df, static_df = data
    s5ts.S5Forecaster(**(TINY | {"max_steps": 1, "verbose": True})).fit(df, static_df)
    err = capsys.readouterr().err
    assert "6 targets, every column but the id and time: HR, MAP, RespRate, Temp" in err
    some = df[["unique_id", "ds", "HR", "MAP"]].dropna(subset=["HR", "MAP"], how="all")
    s5ts.S5Forecaster(**(TINY | {"max_steps": 1, "verbose": True})).fit(
        some, static_df, target_cols=["HR", "MAP"]
    )
    assert "targets, every column" not in capsys.readouterr().err


def test_duplicate_rows_raise_by_default_and_aggregate_on_request(fitted, data):
    import copy

    df, static_df = data
    first = df["unique_id"] == df["unique_id"].iloc[0]
    row = df.index[first & df["HR"].notna()][-1]  # its last observed heart rate
    dup = pd.concat([df, df.loc[[row]].assign(HR=df.loc[row, "HR"] + 40.0)]).reset_index(drop=True)
    with pytest.raises(ValueError, match="duplicates='mean'"):
        fitted.predict(dup, h=2, freq=1.0, static_df=static_df)
    model = copy.deepcopy(fitted).set_params(duplicates="last")
    with pytest.warns(s5ts.DataWarning, match="1 duplicate row.s. merged by duplicates='last'"):
        last = model.predict(dup, h=2, freq=1.0, static_df=static_df)
    with pytest.warns(s5ts.DataWarning, match="merged by duplicates='mean'"):
        mean = model.set_params(duplicates="mean").predict(dup, h=2, freq=1.0, static_df=static_df)
    clean = fitted.predict(df, h=2, freq=1.0, static_df=static_df)
    assert len(last) == len(mean) == len(clean)
    # The duplicated row's series sees a different history, the others do not.
    sid = df["unique_id"].iloc[0]
    other = clean["unique_id"] != sid
    np.testing.assert_allclose(_values(mean[other]), _values(clean[other]), rtol=1e-6)
    assert not np.allclose(_values(last[~other]), _values(mean[~other]))


def test_val_metric_changes_only_the_checkpoint_choice(data):
    df, static_df = data
    ids = df["unique_id"].unique()
    train, val = df[df["unique_id"].isin(ids[:8])], df[df["unique_id"].isin(ids[8:])]
    fits = {
        m: s5ts.S5Forecaster(**{**TINY, "val_metric": m}).fit(train, static_df, val_df=val)
        for m in ("nll", "mse")
    }
    nll, mse = fits["nll"].history_, fits["mse"].history_
    # Same seed, same steps: the metric only decides which weights are kept.
    assert nll["train_loss"] == mse["train_loss"]
    assert [s for s, _ in nll["val_loss"]] == [s for s, _ in mse["val_loss"]]
    assert all(v >= 0 for _, v in mse["val_loss"])
    assert [v for _, v in nll["val_loss"]] != [v for _, v in mse["val_loss"]]
    for h in (nll, mse):
        steps, vals = zip(*h["val_loss"], strict=True)
        assert h["best_step"] == steps[int(np.argmin(vals))]
    with pytest.raises(ValueError, match="val_metric"):
        s5ts.S5Forecaster(**{**TINY, "val_metric": "mae"}).fit(train, static_df)
