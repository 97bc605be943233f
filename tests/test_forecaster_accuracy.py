"""End-to-end: a small S5Forecaster beats LOCF and the per-series mean on held-out
synthetic patients, and its intervals are roughly calibrated (loose bounds; the figures
are measured by `benchmarks/calibration.py`)."""

import numpy as np
import pytest

import s5ts
from s5ts.datasets import synthetic_vitals
from s5ts.demo import coverage, holdout_scores


@pytest.fixture(scope="module")
def scored():
    df, static_df = synthetic_vitals(256, seed=11)
    ids = np.sort(df["unique_id"].unique())
    train, test = df[df["unique_id"].isin(ids[:192])], df[df["unique_id"].isin(ids[192:])]
    model = s5ts.S5Forecaster(
        hidden_size=16,
        state_size=16,
        blocks=2,
        n_layers=1,
        horizon=24.0,
        max_steps=400,
        eval_every=50,
        folds=1,  # one network: the cross-fitted ensemble would take five times as long
        random_state=0,
        verbose=False,
    ).fit(train, static_df)
    scores, fc = holdout_scores(model, test, static_df, level=[80, 95])
    return model, scores, fc


def test_beats_locf_and_series_mean(scored):
    _, scores, _ = scored
    mse = {k: v["mse"] for k, v in scores.items()}
    assert mse["S5Forecaster"] <= 0.9 * mse["LOCF"], mse
    assert mse["S5Forecaster"] <= 0.9 * mse["series mean"], mse


def test_interval_coverage_is_roughly_calibrated(scored):
    model, _, fc = scored
    cov = coverage(fc, model.target_cols_, [80, 95])
    assert 0.65 <= cov[80] <= 0.92, cov
    assert 0.85 <= cov[95] <= 0.99, cov
