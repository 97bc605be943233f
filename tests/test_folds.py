"""Cross-fitted ensembles (`folds`): one network per fold of the series, each validated on
its own fold, forecasting as the mixture of the networks.

Streaming with an ensemble is covered by `test_streaming.py` (its `shared-3-folds`
case), two devices by `test_sharding.py` (whose small fits use the default folds).
"""

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from _tiny import TINY

import s5ts
from s5ts.cli import main
from s5ts.datasets import synthetic_vitals
from s5ts.network import Ensemble, mixture


AUTO = {k: v for k, v in TINY.items() if k != "folds"}  # the default folds ("auto")


@pytest.fixture(scope="module")
def data():
    df, static_df = synthetic_vitals(15, seed=2, hours=24.0)
    hist = df[df["ds"] < 14.0]
    queries = df[(df["ds"] >= 14.0) & (df["ds"] < 20.0)][["unique_id", "ds"]]
    return df, static_df, hist, queries


@pytest.fixture(scope="module")
def ensemble(data):
    df, static_df, _, _ = data
    steps = []
    model = s5ts.S5Forecaster(**AUTO).fit(df, static_df, callbacks=[steps.append])
    return model, steps


def _values(frame: pd.DataFrame) -> np.ndarray:
    return frame.drop(columns=["unique_id", "ds"]).to_numpy(np.float64)


def test_auto_trains_one_network_per_fold_on_small_data(ensemble):
    model, steps = ensemble
    # val_size 0.2 -> 5 folds, as 15 series are far below the 1,000 where "auto" stops.
    assert isinstance(model.model_, Ensemble) and model.model_.size == 5
    assert model.architecture_.members == 5
    hist = model.history_
    assert all(len(hist[k]) == 5 for k in ("train_loss", "val_loss", "best_step", "stopped"))
    assert all(len(losses) == TINY["max_steps"] for losses in hist["train_loss"])
    # The callbacks see every network's steps, told apart by `fold`.
    assert [s.fold for s in steps] == [f for f in range(5) for _ in range(TINY["max_steps"])]
    assert {s.folds for s in steps} == {5}
    assert "5 networks, one per fold" in model.fitted_.training_summary()
    scores = model.validation_scores_
    assert set(scores) == {"model", "locf", "series_mean", "train_mean", "recent_mean"}


def test_forecast_is_the_mixture_of_the_members(data, ensemble):
    model, _ = ensemble
    _, static_df, hist, queries = data
    means = []
    for k in range(model.model_.size):
        # Member k alone, as a one-network forecaster.
        one = pickle.loads(pickle.dumps(model))
        one.fitted_ = one.fitted_.replace(
            model=model.model_.member(k),
            architecture=dataclasses.replace(model.architecture_, members=1),
        )
        means.append(_values(one.predict(hist, queries, static_df=static_df)))
    both = _values(model.predict(hist, queries, static_df=static_df))
    np.testing.assert_allclose(both, np.mean(means, axis=0), rtol=1e-5, atol=1e-6)
    assert np.ptp(np.stack(means), axis=0).max() > 1e-3  # the members really differ


def test_mixture_moments_against_float64():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(4, 3, 5)).astype(np.float32)
    scales = rng.uniform(0.1, 2.0, size=(4, 3, 5)).astype(np.float32)
    mean, scale = mixture(means, scales)
    m64, s64 = means.astype(np.float64), scales.astype(np.float64)
    ref_mean = m64.mean(0)
    # The mixture's second moment, minus its squared mean (law of total variance).
    ref_var = (s64**2 + m64**2).mean(0) - ref_mean**2
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(scale) ** 2, ref_var, rtol=1e-5)


def test_ensemble_saves_loads_and_pickles(tmp_path, data, ensemble):
    model, _ = ensemble
    _, static_df, hist, queries = data
    before = model.predict(hist, queries, static_df=static_df, level=[80])
    model.save(tmp_path / "m")
    loaded = s5ts.S5Forecaster.load(tmp_path / "m")
    # save keeps the best steps, not the per-step losses: the summary says what it has.
    summary = loaded.fitted_.training_summary()
    assert summary.startswith("5 networks, one per fold: best steps ") and "steps," not in summary
    assert (
        loaded.architecture_.members == 5
        and loaded.history_["best_step"] == (model.history_["best_step"])
    )
    pd.testing.assert_frame_equal(
        loaded.predict(hist, queries, static_df=static_df, level=[80]), before
    )
    again = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(
        again.predict(hist, queries, static_df=static_df, level=[80]), before
    )


def test_ensemble_forecasts_do_not_depend_on_other_queries(data, ensemble):
    model, _ = ensemble
    _, static_df, hist, queries = data
    full = model.predict(hist, queries, static_df=static_df)
    some = queries.iloc[::3].reset_index(drop=True)
    alone = model.predict(hist, some, static_df=static_df)
    np.testing.assert_allclose(_values(alone), _values(full)[::3], rtol=1e-5, atol=1e-6)


def test_when_auto_trains_one_network(data):
    df, static_df, _, _ = data
    one_step = AUTO | dict(max_steps=1, eval_every=1)
    ids = df["unique_id"].unique()
    val = df[df["unique_id"].isin(ids[:3])]
    train = df[~df["unique_id"].isin(ids[:3])]
    # A validation frame of its own: one network validated on it.
    m = s5ts.S5Forecaster(**one_step).fit(train, static_df, val_df=val)
    assert not isinstance(m.model_, Ensemble) and m.architecture_.members == 1
    # Nothing held out (val_size=0): one network.
    m = s5ts.S5Forecaster(**one_step, val_size=0.0).fit(df, static_df)
    assert m.architecture_.members == 1
    # val_size 0.5 -> 2 folds; a small val_size still trains at most 5 networks.
    m = s5ts.S5Forecaster(**one_step, val_size=0.5).fit(df, static_df)
    assert m.architecture_.members == 2
    m = s5ts.S5Forecaster(**one_step, val_size=0.01).fit(df, static_df)
    assert m.architecture_.members == 5


def test_a_fold_with_nothing_to_train_on():
    # Six series, only one with two events: the fold holding it out could not train.
    df = pd.DataFrame(
        {"unique_id": [0, 0, 1, 2, 3, 4, 5], "ds": [0.0, 1.0, 0, 0, 0, 0, 0], "y": np.arange(7.0)}
    )
    tiny = AUTO | dict(max_steps=2, eval_every=1, horizon=1.0)
    # "auto" falls back to one network, exactly as folds=1 would train it.
    auto = s5ts.S5Forecaster(**tiny).fit(df)
    one = s5ts.S5Forecaster(**tiny, folds=1).fit(df)
    assert auto.architecture_.members == 1
    queries = pd.DataFrame({"unique_id": [0], "ds": [1.5]})
    pd.testing.assert_frame_equal(auto.predict(df, queries), one.predict(df, queries))
    with pytest.raises(ValueError, match="folds=2: a fold would hold out every series"):
        s5ts.S5Forecaster(**tiny, folds=2).fit(df)


def test_auto_trains_one_network_from_1000_series():
    # 1,000 series of three events each: "auto" keeps one network.
    n = 1000
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(n), 3),
            "ds": np.tile([0.0, 1.0, 2.0], n),
            "y": np.random.default_rng(0).normal(size=3 * n),
        }
    )
    m = s5ts.S5Forecaster(**(AUTO | dict(max_steps=1, eval_every=1, horizon=1.0))).fit(df)
    assert m.architecture_.members == 1
    m = s5ts.S5Forecaster(**(AUTO | dict(max_steps=1, eval_every=1, horizon=1.0))).fit(
        df[df["unique_id"] < 999]
    )
    assert m.architecture_.members == 5


def test_a_callback_stop_keeps_the_networks_trained_so_far(data):
    df, static_df, hist, queries = data

    def stop_in_second_fold(info):
        return info.fold == 1 and info.step == 3

    m = s5ts.S5Forecaster(**AUTO, folds=3).fit(df, static_df, callbacks=[stop_in_second_fold])
    assert m.architecture_.members == 2 and m.model_.size == 2
    assert m.history_["stopped"] == ["max_steps", "callback"]
    assert m.history_["best_step"][1] <= 3
    assert np.isfinite(_values(m.predict(hist, queries, static_df=static_df))).all()


def test_folds_errors(data):
    df, static_df, _, _ = data
    val = df[df["unique_id"] == df["unique_id"].iloc[0]]
    with pytest.raises(ValueError, match="folds=3 cannot be combined with val_df"):
        s5ts.S5Forecaster(**AUTO, folds=3).fit(df, static_df, val_df=val)
    with pytest.raises(ValueError, match="needs at least 20 series"):
        s5ts.S5Forecaster(**AUTO, folds=20).fit(df, static_df)
    for bad in (0, -1, 2.5, "all"):
        with pytest.raises(ValueError, match="folds must be 'auto' or a positive int"):
            s5ts.S5Forecaster(**AUTO, folds=bad).fit(df, static_df)


def test_command_line_folds(tmp_path, data, capsys):
    df, _, _, _ = data
    df.to_csv(tmp_path / "train.csv", index=False)
    df.iloc[:40].to_csv(tmp_path / "val.csv", index=False)
    base = ["fit", str(tmp_path / "train.csv"), "--hidden-size", "8", "--state-size", "8"]
    base += ["--blocks", "1", "--n-layers", "1", "--max-steps", "4", "--eval-every", "2"]
    base += ["--horizon", "6"]
    assert main([*base, "--folds", "2", str(tmp_path / "m")]) == 0
    assert "2 networks, one per fold" in capsys.readouterr().err
    assert s5ts.S5Forecaster.load(tmp_path / "m").architecture_.members == 2
    code = main(
        [
            *base,
            "--folds",
            "2",
            "--val",
            str(tmp_path / "val.csv"),
            str(tmp_path / "n"),
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "--folds 2 cannot be combined with the --val file" in err
    assert main([*base, "--folds", "many", str(tmp_path / "o")]) == 2
    assert "expected 'auto' or a whole number" in capsys.readouterr().err


def test_variable_clocks_ensemble_streams_as_it_predicts(data):
    df, static_df, hist, queries = data
    model = s5ts.S5Forecaster(**AUTO, folds=2, network=s5ts.VariableClocks()).fit(df, static_df)
    assert model.model_.size == 2
    ids = hist["unique_id"].unique()[:3]
    mine = hist[hist["unique_id"].isin(ids)].reset_index(drop=True)
    asked = queries[queries["unique_id"].isin(ids)].reset_index(drop=True)
    cut = mine.groupby("unique_id").cumcount() < 4  # the first four events, then the rest
    state = model.init_state(mine[cut], static_df)
    state = model.update(state, mine[~cut])
    streamed = model.predict_from_state(state, asked)
    np.testing.assert_allclose(
        _values(streamed), _values(model.predict(mine, asked, static_df=static_df)), rtol=1e-5
    )


def test_verbose_fit_says_how_many_networks(data, capsys):
    df, static_df, _, _ = data
    tiny = AUTO | dict(max_steps=1, eval_every=1, verbose=True)
    s5ts.S5Forecaster(**tiny).fit(df, static_df)
    assert "5 networks, one per fold (folds='auto': fewer than 1,000 series)" in (
        capsys.readouterr().err
    )
    s5ts.S5Forecaster(**tiny, folds=1).fit(df, static_df)
    assert "networks" not in capsys.readouterr().err
