"""`fit` measures the model against the simple forecasts on its validation series
(`validation_scores_`), says so when verbose, and warns when the model does not beat
them; the network starts from the blend of those forecasts that fits the training data."""

import numpy as np
import pandas as pd
import pytest
from _tiny import TINY

import s5ts
from s5ts.datasets import synthetic_vitals


HORIZON = 8.0


@pytest.fixture(scope="module")
def split():
    df, static_df = synthetic_vitals(16, seed=9, hours=24.0)
    ids = np.sort(df["unique_id"].unique())
    return df[df["unique_id"].isin(ids[:10])], df[df["unique_id"].isin(ids[10:])], static_df


def _validation_cut(s: pd.DataFrame, horizon: float) -> float:
    """A validation series' cutoff: its last time at least one horizon before its end, or,
    when that is its first time and it has three or more, its last time at most half its
    span after the first."""
    first, last = s["ds"].iloc[0], s["ds"].iloc[-1]
    early = s["ds"][s["ds"] <= last - horizon]
    cut = early.iloc[-1] if len(early) else first
    if cut == first and len(s) >= 3:
        cut = s["ds"][s["ds"] - first <= (last - first) / 2].iloc[-1]
    return cut


def _reference_scores(model, val: pd.DataFrame, horizon: float = HORIZON) -> dict[str, float]:
    """The validation baselines rebuilt with pandas: per series the cutoff is
    `_validation_cut`, the targets every value in the horizon after it; per-variable MSE
    in the model's scaled units, then the mean. History values are read as the model
    reads them: clipped to its input bounds. The recent mean weighs each past value by
    0.5 ** (age / 8 model units), summed in a plain float64 loop."""
    targets = list(model.target_cols_)
    mean, std = model.scaler_.mean, model.scaler_.std
    lo, hi = model.input_bounds_
    half_life = 8.0 * model.time_scale_.unit  # in the data's own time unit
    err = {k: [] for k in ("locf", "series_mean", "train_mean", "recent_mean")}
    for _, s in val.sort_values("ds").groupby("unique_id"):
        cut = _validation_cut(s, horizon)
        hist, fut = s[s["ds"] <= cut], s[(s["ds"] > cut) & (s["ds"] <= cut + horizon)]
        z_hist = np.clip((hist[targets].to_numpy() - mean) / std, lo, hi)
        z_fut = (fut[targets].to_numpy() - mean) / std
        total, weight = np.zeros(len(targets)), np.zeros(len(targets))
        for t, z in zip(hist["ds"].to_numpy(), z_hist, strict=True):
            w = 0.5 ** ((cut - t) / half_life)
            total += np.where(np.isnan(z), 0.0, w * z)
            weight += np.where(np.isnan(z), 0.0, w)
        preds = {
            "locf": pd.DataFrame(z_hist).ffill().to_numpy()[-1],
            "series_mean": np.nanmean(np.where(np.isnan(z_hist), np.nan, z_hist), axis=0),
            "train_mean": np.zeros(len(targets)),
            "recent_mean": np.where(weight > 0, total / np.where(weight > 0, weight, 1), 0),
        }
        for name, p in preds.items():
            err[name].append((np.nan_to_num(p)[None] - z_fut) ** 2)
    return {
        name: float(np.nanmean(np.nanmean(np.concatenate(e), axis=0))) for name, e in err.items()
    }


def test_validation_scores_match_an_independent_computation(split, capsys):
    train, val, static_df = split
    model = s5ts.S5Forecaster(**(TINY | {"verbose": True, "horizon": HORIZON}))
    model.fit(train, static_df, val_df=val)
    scores = model.validation_scores_
    assert set(scores) == {"model", "locf", "series_mean", "train_mean", "recent_mean"}
    want = _reference_scores(model, val)
    for name, value in want.items():
        assert scores[name] == pytest.approx(value, rel=1e-5), name
    assert np.isfinite(scores["model"])
    err = capsys.readouterr().err
    assert "validation MSE" in err and f"last value {scores['locf']:.4g}" in err


def test_series_shorter_than_the_horizon_are_validated_from_their_middle(split):
    # A horizon beyond every validation series' span: cut at the first event, validation
    # would score forecasts from one event (LOCF, series mean and recent mean all equal).
    train, val, static_df = split
    model = s5ts.S5Forecaster(**(TINY | {"horizon": 30.0})).fit(train, static_df, val)
    scores = model.validation_scores_
    for name, value in _reference_scores(model, val, horizon=30.0).items():
        assert scores[name] == pytest.approx(value, rel=1e-5), name
    assert scores["locf"] != pytest.approx(scores["series_mean"], rel=1e-3)


def test_scores_survive_save_and_load(split, tmp_path):
    train, val, static_df = split
    model = s5ts.S5Forecaster(**(TINY | {"horizon": HORIZON})).fit(train, static_df, val)
    model.save(tmp_path / "m")
    assert s5ts.S5Forecaster.load(tmp_path / "m").validation_scores_ == model.validation_scores_


def test_warns_when_the_model_does_not_beat_the_baselines():
    # Constant series: each series' last value and mean are exact, so no model can beat
    # them (a blend that gives the training mean any weight is worse).
    rng = np.random.default_rng(0)
    rows = []
    for i in range(12):
        level = rng.normal(80, 10)
        for t in np.sort(rng.uniform(0, 24, 30)):
            rows.append((f"s{i}", t, level))
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "HR"])
    model = s5ts.S5Forecaster(**(TINY | {"horizon": HORIZON, "max_steps": 2, "eval_every": 1}))
    match = r"on the 2 validation series .* not below that of forecasting .*noisy"
    with pytest.warns(s5ts.BaselineWarning, match=match) as record:
        model.fit(df)
    assert record[0].filename == __file__  # points at the caller's fit
    scores = model.validation_scores_
    assert scores["locf"] == pytest.approx(0.0, abs=1e-12) and scores["model"] > 0


def test_the_network_starts_at_the_best_blend_of_the_baselines(split):
    # With no training step the forecasts are the prior blend: between the last value
    # and the series mean, never outside them by more than the training-mean share.
    train, val, static_df = split
    model = s5ts.S5Forecaster(**(TINY | {"horizon": HORIZON, "learning_rate": 1e-12}))
    model.fit(train, static_df, val_df=val)
    scores = model.validation_scores_
    assert scores["model"] <= max(scores["locf"], scores["series_mean"]) + 1e-6


def test_intervals_are_calibrated_on_the_validation_series():
    # The intervals read the validation residuals' quantiles: on those same forecasts
    # they cover the nominal share (up to interpolation), whatever the residuals' shape.
    df, static_df = synthetic_vitals(48, seed=4, hours=24.0)
    ids = np.sort(df["unique_id"].unique())
    train, val = df[df["unique_id"].isin(ids[:32])], df[df["unique_id"].isin(ids[32:])]
    model = s5ts.S5Forecaster(**(TINY | {"horizon": HORIZON, "max_steps": 40}))
    model.fit(train, static_df, val_df=val)
    assert model.residual_quantiles_.shape == (len(model.target_cols_), 199)
    inside = {80: [], 95: []}
    for _, s in val.sort_values("ds").groupby("unique_id"):
        cut = _validation_cut(s, HORIZON)
        hist, fut = s[s["ds"] <= cut], s[(s["ds"] > cut) & (s["ds"] <= cut + HORIZON)]
        fc = model.predict(hist, fut[["unique_id", "ds"]], static_df=static_df, level=[80, 95])
        for lv in inside:
            for t in model.target_cols_:
                y = fut[t].to_numpy()
                ok = ~np.isnan(y)
                lo, hi = fc[f"{t}-lo-{lv}"].to_numpy()[ok], fc[f"{t}-hi-{lv}"].to_numpy()[ok]
                inside[lv].append((y[ok] >= lo) & (y[ok] <= hi))
    for lv, hits in inside.items():
        assert np.concatenate(hits).mean() == pytest.approx(lv / 100, abs=0.03), lv


def test_a_network_of_three_baselines_still_loads_and_forecasts(split, tmp_path):
    # Files written before the recent mean hold a blend of three simple forecasts, and
    # their config has no `baselines`: such a file (written here by saving a three-way
    # network and removing the field) loads as three, and predicts and streams.
    import dataclasses
    import json

    import jax

    from s5ts._atomic_io import seal

    train, val, static_df = split
    model = s5ts.S5Forecaster(**(TINY | {"horizon": HORIZON, "max_steps": 2}))
    model.fit(train, static_df, val_df=val)
    assert model.architecture_.baselines == 4
    arch = dataclasses.replace(model.architecture_, baselines=3)
    model.fitted_ = model.fitted_.replace(architecture=arch, model=arch.build(jax.random.key(1)))
    model.save(tmp_path / "three")
    config = json.loads((tmp_path / "three" / "config.json").read_text())
    del config["fitted"]["architecture"]["baselines"]
    weights = {"model.eqx": (tmp_path / "three" / "model.eqx").read_bytes()}
    config = seal(config, "config.json", weights)
    (tmp_path / "three" / "config.json").write_text(json.dumps(config))
    loaded = s5ts.S5Forecaster.load(tmp_path / "three")
    assert loaded.architecture_.baselines == 3
    hist = val[val["ds"] < 12.0]
    queries = val[(val["ds"] >= 12.0) & (val["ds"] < 18.0)][["unique_id", "ds"]]
    want = model.predict(hist, queries, static_df=static_df)
    got = loaded.predict(hist, queries, static_df=static_df)
    pd.testing.assert_frame_equal(got, want)
    state = loaded.init_state(hist, static_df)
    streamed = loaded.predict_from_state(state, queries)
    np.testing.assert_allclose(
        streamed[list(model.target_cols_)].to_numpy(),
        want[list(model.target_cols_)].to_numpy(),
        rtol=1e-5,
    )
