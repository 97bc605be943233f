"""`ema_decay`: the weights `fit` keeps are an exponential moving average of the training
steps' weights, checked against a float64 average of the same steps taken one by one."""

import equinox as eqx
import jax
import numpy as np
import pytest
from _tiny import TINY

import s5ts
from s5ts.batching import sample_batch
from s5ts.datasets import synthetic_vitals
from s5ts.training import evaluate, make_optimizer, train, train_step


STEPS = 6


@pytest.fixture(scope="module")
def setup():
    df, static_df = synthetic_vitals(12, seed=2, hours=24.0)
    est = s5ts.S5Forecaster(**TINY, ema_decay=0.0, loss="mse").fit(df, static_df)
    feats = est.fitted_.features(est.fitted_.read(df, static_df, "raise"))

    def draw(rng):
        kw = dict(horizon=est.fitted_.horizon, context=None, max_len=est.max_len_)
        return sample_batch(feats, rng, batch_size=4, n_queries=16, **kw)

    return est.fitted_.model, draw


def _weights(model) -> list[np.ndarray]:
    leaves = jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array))
    return [np.asarray(w, np.float64) for w in leaves]


def _with_weights(model, weights: list[np.ndarray]):
    params, rest = eqx.partition(model, eqx.is_inexact_array)
    leaves = [np.asarray(w, np.float32) for w in weights]
    return eqx.combine(jax.tree.unflatten(jax.tree.structure(params), leaves), rest)


def _steps(model, draw, optimizer, key):
    """The weights after each of STEPS training steps, taken as `train` takes them."""
    rng = np.random.default_rng(7)
    opt_state = optimizer.init(eqx.filter(model, eqx.is_inexact_array))
    out = []
    for _ in range(STEPS):
        key, sub = jax.random.split(key)
        model, opt_state, _ = train_step(
            model, opt_state, draw(rng), sub, optimizer, s5ts.SquaredError(), None
        )
        out.append(_weights(model))
    return out


def _reference(model, steps, decay: float) -> dict[int, list[np.ndarray]]:
    """Float64 moving average after each step k = 1, 2, ... (0: the initial weights),
    with the decay ramped up as `min(decay, (1 + k) / (10 + k))`."""
    avg = _weights(model)
    out = {0: avg}
    for k, w in enumerate(steps, start=1):
        d = min(decay, (1 + k) / (10 + k))
        avg = [d * a + (1 - d) * x for a, x in zip(avg, w, strict=True)]
        out[k] = avg
    return out


def _run(model, draw, ema_decay, val_batches=(), eval_every=100):
    optimizer = make_optimizer(model, 3e-3, STEPS)
    rng = np.random.default_rng(7)
    result = train(
        model,
        optimizer,
        lambda: draw(rng),
        list(val_batches),
        rng=rng,
        max_steps=STEPS,
        eval_every=eval_every,
        patience=100,
        key=jax.random.key(0),
        verbose=False,
        loss=s5ts.SquaredError(),
        ema_decay=ema_decay,
    )
    return result, _steps(model, draw, optimizer, jax.random.key(0))


def _assert_close(got, want):
    for g, w in zip(_weights(got), want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_without_validation_fit_keeps_the_moving_average_of_the_steps(setup):
    model, draw = setup
    result, steps = _run(model, draw, ema_decay=0.3)
    want = _reference(model, steps, 0.3)[STEPS]
    _assert_close(result.model, want)
    # ... which is neither the last step's weights nor the uncapped ramp's average.
    for other in (steps[-1], _reference(model, steps, 1.0)[STEPS]):
        with pytest.raises(AssertionError):
            _assert_close(result.model, other)


def test_zero_decay_keeps_the_last_steps_weights(setup):
    model, draw = setup
    result, steps = _run(model, draw, ema_decay=0.0)
    _assert_close(result.model, steps[-1])


def test_validation_scores_and_keeps_the_average(setup):
    model, draw = setup
    val = [draw(np.random.default_rng(7))]  # the first training batch: its loss falls
    result, steps = _run(model, draw, ema_decay=0.3, val_batches=val, eval_every=1)
    scores = _reference(model, steps, 0.3)
    assert result.best_step > 0
    assert result.best_step == min(result.val_loss, key=lambda sv: sv[1])[0]
    _assert_close(result.model, scores[result.best_step])
    # The recorded validation losses are the averages' scores.
    assert [s for s, _ in result.val_loss] == list(range(STEPS + 1))
    for step, loss in result.val_loss:
        want = evaluate(_with_weights(model, scores[step]), val, s5ts.SquaredError())
        assert loss == pytest.approx(want, rel=1e-5)


def test_fit_keeps_the_average_of_its_steps(setup):
    # Through the public API: without validation the fitted weights are the moving
    # average, which moves away from the raw weights as the decay grows.
    df, static_df = synthetic_vitals(12, seed=2, hours=24.0)
    fits = {
        d: s5ts.S5Forecaster(**TINY, val_size=0.0, ema_decay=d, learning_rate=0.03).fit(
            df, static_df
        )
        for d in (0.0, 0.3)
    }
    raw, averaged = (_weights(fits[d].fitted_.model) for d in (0.0, 0.3))
    assert fits[0.0].history_["train_loss"] == fits[0.3].history_["train_loss"]
    assert max(np.abs(a - b).max() for a, b in zip(raw, averaged, strict=True)) > 1e-4


def test_estimators_pickled_before_ema_decay_existed_trained_without_it():
    state = s5ts.S5Forecaster(**TINY).__getstate__()
    del state["hyperparameters"]["ema_decay"]
    old = s5ts.S5Forecaster.__new__(s5ts.S5Forecaster)
    old.__setstate__(state)
    assert old.get_params()["ema_decay"] == 0.0
    assert old.get_params()["hidden_size"] == TINY["hidden_size"]
