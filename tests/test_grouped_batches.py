"""Training batches split into groups of similar history length (`sample_groups`): the
same samples as one batch, less padding, and the same loss and gradient when the groups'
losses are weighted by their shares of the targets."""

import equinox as eqx
import jax
import numpy as np
import pandas as pd
import pytest

import s5ts
from s5ts.batching import (
    history_tiers,
    n_features,
    plan_batches,
    sample_batch,
    sample_groups,
    series_features,
    training_groups,
    training_shapes,
)
from s5ts.forecaster._fitted import Architecture
from s5ts.network import forecast_batch
from s5ts.training import batch_loss, group_gradients, target_shares


C = 3
OPTIONS = dict(batch_size=16, horizon=6.0, context=None, max_len=256, n_queries=64)


def _series(rng: np.random.Generator, n: int):
    t = np.cumsum(rng.exponential(0.5, n))
    y = rng.normal(size=(n, C)).astype(np.float32)
    y[rng.random((n, C)) < 0.5] = np.nan
    y[:, 0] = rng.normal(size=n)  # every event observes something
    bounds = np.array([[-np.inf] * C, [np.inf] * C])
    return series_features(t - t[0], y, np.zeros(0, np.float32), bounds)


@pytest.fixture(scope="module")
def feats():
    rng = np.random.default_rng(3)
    # Skewed lengths, as ICU stays are: most short, a few near max_len.
    return [_series(rng, int(n)) for n in rng.choice([20, 40, 80, 200], 40, p=[0.4, 0.3, 0.2, 0.1])]


def _rows(batch):
    # Each sample's real events and targets, independent of padding and order.
    out = []
    for i in range(len(batch.x)):
        v = batch.valid[i]
        out.append((batch.x[i][v].tobytes(), batch.y[i][batch.mask[i]].tobytes()))
    return sorted(out)


def test_groups_hold_the_same_samples_with_less_padding(feats):
    one = sample_batch(feats, np.random.default_rng(7), **OPTIONS)
    parts = sample_groups(feats, np.random.default_rng(7), groups=4, **OPTIONS)
    assert len(parts) == 4 and all(len(p.x) == 4 for p in parts)
    assert sorted(r for p in parts for r in _rows(p)) == _rows(one)
    # Sorted by history length, so the groups' padded lengths never decrease.
    lengths = [p.x.shape[1] for p in parts]
    assert lengths == sorted(lengths)
    padded = sum(p.x.shape[0] * p.x.shape[1] for p in parts)
    assert padded < one.x.shape[0] * one.x.shape[1]
    shapes = {(b.x.shape[1], b.xq.shape[1]) for b in training_shapes(feats, groups=4, **_sizes())}
    assert {(p.x.shape[1], p.xq.shape[1]) for p in parts} <= shapes


def _sizes():
    return dict(batch_size=16, max_len=256, n_queries=64)


def test_one_group_is_the_plain_batch(feats):
    one = sample_batch(feats, np.random.default_rng(7), **OPTIONS)
    (same,) = sample_groups(feats, np.random.default_rng(7), groups=1, **OPTIONS)
    for a, b in zip(one, same, strict=True):
        np.testing.assert_array_equal(a, b)


def _model():
    arch = Architecture(
        n_features=n_features(C, 0),
        n_targets=C,
        hidden_size=8,
        state_size=8,
        blocks=1,
        n_layers=1,  # one layer keeps compiling each group's shape quick
        dropout=0.0,
        discretisation=s5ts.ssm.ZOH(),
    )
    return arch.build(jax.random.key(0))


# The whole batch's loss and gradient, compiled (op by op it takes most of a minute).
_whole_batch = eqx.filter_jit(eqx.filter_value_and_grad(batch_loss))


def test_grouped_loss_and_gradient_equal_the_whole_batch(feats):
    model = _model()
    one = sample_batch(feats, np.random.default_rng(11), **OPTIONS)
    parts = sample_groups(feats, np.random.default_rng(11), groups=4, **OPTIONS)
    weights = np.array([1.0, 0.5, 2.0], np.float32)
    for loss in (s5ts.GaussianNLL(), s5ts.SquaredError()):
        want, want_g = _whole_batch(model, one, None, loss, weights)
        shares = target_shares(parts, weights)
        got, got_g = 0.0, None
        for p, s in zip(parts, shares, strict=True):
            v, g = group_gradients(model, p, jax.random.key(1), loss, weights)
            got += s * float(v)
            g = jax.tree.map(lambda x, s=s: s * x, g)
            got_g = g if got_g is None else jax.tree.map(lambda a, b: a + b, got_g, g)
        np.testing.assert_allclose(got, float(want), rtol=1e-5)
        for a, b in zip(jax.tree.leaves(got_g), jax.tree.leaves(want_g), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=1e-6)


def test_groups_only_where_they_pay():
    # Long histories and a full batch: four groups. Short series (one shape either way),
    # small batches or a batch that does not split over the devices: one.
    assert training_groups(32, max_len=256, n_queries=128) == 4
    assert training_groups(32, max_len=64, n_queries=16) == 1
    assert training_groups(16, max_len=256, n_queries=128) == 1
    assert training_groups(32, max_len=256, n_queries=128, devices=3) == 1


def test_fit_with_grouped_batches_forecasts(feats):
    # Long series and the default batch: `fit` trains on grouped batches end to end.
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        n = int(rng.choice([30, 150]))
        t = np.cumsum(rng.exponential(1.0, n))
        rows += [(f"s{i}", tt, float(np.sin(tt / 5) + 0.1 * rng.normal())) for tt in t]
    df = pd.DataFrame(rows, columns=["unique_id", "ds", "y"])
    est = s5ts.S5Forecaster(
        hidden_size=8,
        state_size=8,
        blocks=1,
        n_layers=1,
        max_steps=3,
        eval_every=3,
        folds=1,
        verbose=False,
    ).fit(df)
    assert est.max_len_ >= 256
    out = est.predict(df, h=3)
    assert np.isfinite(out["y"].to_numpy()).all() and len(out) == 3 * 24


def test_validation_tiers_give_each_row_the_same_forecast(feats):
    # Shortest histories batched first, each batch padded to its own tier: every query
    # row gets the forecast it gets in the one-shape plan.
    model = _model()
    rng = np.random.default_rng(5)
    series = rng.integers(0, len(feats), 30)
    cutoff = np.array([rng.integers(0, len(feats[s].t) - 1) for s in series])
    tau = rng.uniform(0.1, 5.0, 30)
    lengths = history_tiers(256)
    assert lengths == [64, 128, 256]
    got = {}
    for tiers in (None, lengths):
        out = np.full((30, C), np.nan)
        shapes = set()
        plan = plan_batches(
            feats,
            series,
            cutoff,
            tau,
            batch_size=4,
            length=256,
            n_queries=8,
            context=None,
            lengths=tiers,
        )
        for pos, batch in plan:
            mean, _ = forecast_batch(model, batch)
            out[pos[pos >= 0]] = np.asarray(mean)[pos >= 0]
            shapes.add(batch.x.shape[1])
        got[tiers is None] = out, shapes
    np.testing.assert_allclose(got[False][0], got[True][0], rtol=1e-5, atol=1e-6)
    assert got[True][1] == {256} and min(got[False][1]) < 256
