"""The training losses: `loss="nll"` / `"mse"` and `target_weights` against a float64
numpy reference, and the split of the gradient under `"mse"` (the mean never sees the NLL)."""

import math

import equinox as eqx
import numpy as np
import pytest
from _tiny import TINY

import s5ts
from s5ts.batching import assemble, n_features, queries_in_window, sample_batch, series_features
from s5ts.datasets import synthetic_vitals
from s5ts.training import batch_loss, squared_error


@pytest.fixture(scope="module")
def fitted_and_batch():
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    est = s5ts.S5Forecaster(**TINY, loss="mse").fit(df, static_df)
    feats = est.fitted_.features(est.fitted_.read(df, static_df, "raise"))
    batch = sample_batch(
        feats,
        np.random.default_rng(0),
        batch_size=4,
        horizon=est.fitted_.horizon,  # model units
        context=None,
        max_len=est.max_len_,
        n_queries=16,
    )
    return est, batch


# Compiled: op by op, a loss and its gradient take seconds each on the CPU.
_loss = eqx.filter_jit(batch_loss)
_grad = eqx.filter_jit(eqx.filter_grad(batch_loss))


def _forward(model, b):
    return model.batched(b.x, b.dt, b.valid, b.xq, b.tau, b.locf, b.level, b.recent)


@pytest.mark.parametrize("weighted", [False, True])
def test_losses_match_numpy_reference(fitted_and_batch, weighted):
    est, b = fitted_and_batch
    model = eqx.nn.inference_mode(est.model_)
    mean, scale = (np.asarray(a, np.float64) for a in _forward(model, b))
    c = model.n_targets
    w = np.linspace(0.0, 2.0, c) if weighted else np.ones(c)
    m, y = b.mask, b.y.astype(np.float64)
    wm = np.where(m, w, 0.0)  # per-entry weight, 0 where not observed
    assert wm.sum() > 0
    sq = (wm * (y - mean) ** 2).sum() / wm.sum()
    z = (y - mean) / scale
    nll = (wm * (0.5 * z**2 + np.log(scale) + 0.5 * math.log(2 * math.pi))).sum() / wm.sum()
    weights = np.float32(w) if weighted else None
    for loss, want in ((s5ts.GaussianNLL(), nll), (s5ts.SquaredError(), sq + nll)):
        got = float(_loss(model, b, None, loss, weights))
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_mse_loss_mean_gradient_is_the_squared_error_alone(fitted_and_batch):
    est, b = fitted_and_batch
    model = eqx.nn.inference_mode(est.model_)
    c = model.n_targets

    def sq_only(mdl):
        return squared_error(_forward(mdl, b)[0], b.y, b.mask)

    def last(g):
        return np.asarray(g.head.layers[-1].weight)

    g_mse = last(_grad(model, b, None, s5ts.SquaredError()))
    g_nll = last(_grad(model, b, None, s5ts.GaussianNLL()))
    g_sq = last(eqx.filter_jit(eqx.filter_grad(sq_only))(model))
    # The head's rows are [residual (c), scale (c), blend logits (4c)]. The mean's rows
    # (residual and logits) get exactly the squared-error gradient; the scale rows get the
    # NLL's (which the squared error leaves at zero), so the intervals are still fitted.
    mean_rows = np.r_[0:c, 2 * c : (2 + s5ts.network.N_BASELINES) * c]
    assert len(g_sq) == (2 + s5ts.network.N_BASELINES) * c
    np.testing.assert_allclose(g_mse[mean_rows], g_sq[mean_rows], rtol=1e-5, atol=1e-8)
    assert np.all(g_sq[c : 2 * c] == 0.0) and np.abs(g_mse[c : 2 * c]).max() > 0
    assert not np.allclose(g_nll[:c], g_sq[:c], rtol=1e-3)


def test_loss_through_the_public_api(fitted_and_batch):
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    est, _ = fitted_and_batch
    nll = s5ts.S5Forecaster(**TINY).fit(df, static_df)
    assert est.get_params()["loss"] == "mse" and nll.get_params()["loss"] == s5ts.GaussianNLL()
    assert est.history_["train_loss"] != nll.history_["train_loss"]
    fc = est.predict(df, h=3, freq=1.0, static_df=static_df, level=[80])
    for name in est.target_cols_:
        lo, mid, hi = (fc[f"{name}{s}"].to_numpy() for s in ("-lo-80", "", "-hi-80"))
        assert np.isfinite(mid).all() and np.all(lo < mid) and np.all(mid < hi)
    with pytest.raises(ValueError, match=r"loss must be s5ts.GaussianNLL\(\) or s5ts.Squared"):
        s5ts.S5Forecaster(**TINY, loss="mae").fit(df, static_df)


def test_target_weights_through_the_public_api(tmp_path):
    df, static_df = synthetic_vitals(12, seed=5, hours=24.0)
    base = s5ts.S5Forecaster(**TINY).fit(df, static_df)
    first = base.target_cols_[0]
    weights = {c: 0.0 for c in base.target_cols_[1:]}  # fit the first target only
    est = s5ts.S5Forecaster(**TINY, target_weights=weights).fit(df, static_df)
    assert est.history_["train_loss"] != base.history_["train_loss"]
    # All-ones weights are the default, exactly.
    ones = s5ts.S5Forecaster(**TINY, target_weights={first: 1.0}).fit(df, static_df)
    assert ones.history_["train_loss"] == base.history_["train_loss"]
    est.save(tmp_path / "m")
    back = s5ts.S5Forecaster.load(tmp_path / "m")
    assert back.get_params()["target_weights"] == weights
    for bad, err, match in (
        ({"nope": 1.0}, ValueError, r"target_weights names \['nope'\].*not target columns"),
        ({first: -1.0}, ValueError, r"target_weights\['.*'\] must lie in \[0"),
        ({first: "a"}, TypeError, r"target_weights\['.*'\] must be a number"),
        ([1.0], TypeError, "target_weights must be None or a dict"),
        (dict.fromkeys(base.target_cols_, 0.0), ValueError, "every target weight 0"),
    ):
        with pytest.raises(err, match=match):
            s5ts.S5Forecaster(**TINY, target_weights=bad).fit(df, static_df)


def test_training_batch_shape_tiers_do_not_change_the_loss(fitted_and_batch):
    # Long series train on half-length batches when every sample fits: padding is exact.
    est, _ = fitted_and_batch
    model = eqx.nn.inference_mode(est.model_)
    rng = np.random.default_rng(1)
    n_t = len(est.target_cols_)
    t = np.cumsum(rng.uniform(0.05, 0.2, 120))
    y = np.where(rng.random((120, n_t)) < 0.3, rng.normal(size=(120, n_t)), np.nan)
    f = series_features(t, y, np.zeros(est.n_features_ - n_features(n_t, 0), np.float32))
    kw = dict(batch_size=3, horizon=1.0, context=None, n_queries=128)
    assert sample_batch([f], rng, max_len=512, **kw).x.shape[1] == 256
    assert sample_batch([f], rng, max_len=128, **kw).x.shape[1] == 128  # too short to halve
    assert sample_batch([f], rng, max_len=512, **kw).xq.shape[1] == 64
    cuts = [30, 70, 110]
    qs = [queries_in_window(f, c, 1.0) for c in cuts]
    args = ([f] * 3, cuts, [f.t[q] - f.t[c] for q, c in zip(qs, cuts, strict=True)])
    ys = [f.y[q] for q in qs]
    half = assemble(*args, ys, length=128, n_queries=16, context=None)
    full = assemble(*args, ys, length=256, n_queries=64, context=None)
    assert half.mask.sum() == full.mask.sum() > 0
    for loss in (s5ts.GaussianNLL(), s5ts.SquaredError()):
        a = float(_loss(model, half, None, loss))
        b = float(_loss(model, full, None, loss))
        np.testing.assert_allclose(a, b, rtol=1e-5)
