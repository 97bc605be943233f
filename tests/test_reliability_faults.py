"""Faults during fit: non-finite losses, Ctrl-C, callbacks, and resuming from a checkpoint.

Same tiny model and data shapes as `test_forecaster.py`, so compilations are shared.
"""

import json
import threading

import numpy as np
import pandas as pd
import pytest
from _tiny import TINY

import s5ts
from s5ts.datasets import synthetic_vitals


@pytest.fixture(scope="module")
def data():
    return synthetic_vitals(12, seed=5, hours=24.0)


@pytest.fixture(scope="module")
def straight(data):
    df, static_df = data
    return s5ts.S5Forecaster(**TINY).fit(df, static_df)


def _forecast(est, data):
    df, static_df = data
    return est.predict(df, h=3, static_df=static_df, level=[80])


def _finite(frame):
    return np.isfinite(frame.drop(columns=["unique_id", "ds"]).to_numpy()).all()


def _stop_at(step, exc=None):
    def callback(info):
        if info.step == step:
            if exc is not None:
                raise exc
            return True
        return None

    return callback


def test_non_finite_loss_keeps_best_weights(data):
    df, static_df = data
    # A huge learning rate blows the weights up within a few steps (after a zero-rate
    # warm-up step); validation every step makes an early step the best one.
    est = s5ts.S5Forecaster(**TINY | {"learning_rate": 1e30, "eval_every": 1})
    with pytest.raises(FloatingPointError, match=r"NaN/inf at step \d+.*keeps the weights"):
        est.fit(df, static_df)
    assert est.history_["stopped"] == "non_finite"
    assert est.history_["best_step"] < len(est.history_["train_loss"]) + 1
    assert _finite(_forecast(est, data))


def test_keyboard_interrupt_leaves_a_fitted_model(data):
    df, static_df = data
    est = s5ts.S5Forecaster(**TINY)
    with pytest.raises(KeyboardInterrupt):
        est.fit(df, static_df, callbacks=[_stop_at(5, KeyboardInterrupt())])
    assert est.history_["stopped"] == "interrupted"
    assert len(est.history_["train_loss"]) == 5
    assert _finite(_forecast(est, data))


def _drawing_threads() -> list:
    return [t for t in threading.enumerate() if t.name == "s5ts-batches"]


def test_no_batch_thread_outlives_a_fit_however_it_ends(data):
    # Batches are drawn a step ahead in a background thread; a fit that ends (normally,
    # by a callback, by Ctrl-C or with a fault inside a step) leaves none behind.
    df, static_df = data
    s5ts.S5Forecaster(**TINY).fit(df, static_df, callbacks=[_stop_at(3)])
    with pytest.raises(KeyboardInterrupt):
        s5ts.S5Forecaster(**TINY).fit(df, static_df, callbacks=[_stop_at(4, KeyboardInterrupt())])
    with pytest.raises(RuntimeError, match="boom"):
        s5ts.S5Forecaster(**TINY).fit(df, static_df, callbacks=[_stop_at(2, RuntimeError("boom"))])
    # A fit that fails right after a validation pass.
    with pytest.raises(RuntimeError, match="boom"):
        s5ts.S5Forecaster(**TINY).fit(df, static_df, callbacks=[_stop_at(10, RuntimeError("boom"))])
    assert _drawing_threads() == []


def test_no_batch_thread_outlives_a_prediction(straight, data):
    # Prediction and validation build each batch while the one before is forecast.
    assert _finite(_forecast(straight, data))
    assert _drawing_threads() == []


def test_batches_built_ahead_arrive_in_order_and_errors_reach_the_caller():
    from s5ts.batching import built_ahead

    assert list(built_ahead(iter(range(7)))) == list(range(7))
    assert list(built_ahead([])) == []

    def failing():
        yield from (0, 1)
        raise ValueError("bad row")

    got = []
    with pytest.raises(ValueError, match="bad row"):
        for item in built_ahead(failing()):
            got.append(item)
    assert got == [0, 1]
    # A caller that stops early stops the building thread; one item at most is built
    # ahead (item 2 may or may not have started when the caller stops).
    built = []

    def counted():
        for i in range(100):
            built.append(i)
            yield i

    items = built_ahead(counted())
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert _drawing_threads() == [] and built in ([0, 1], [0, 1, 2])


def test_callback_sees_every_step_and_can_stop(data):
    df, static_df = data
    seen = []
    est = s5ts.S5Forecaster(**TINY).fit(df, static_df, callbacks=[seen.append, _stop_at(12)])
    assert [i.step for i in seen] == list(range(1, 13))
    assert seen[9].val_loss is not None and seen[8].val_loss is None
    assert all(np.isfinite(i.loss) and i.max_steps == 20 for i in seen)
    assert est.history_["stopped"] == "callback" and len(est.history_["train_loss"]) == 12


@pytest.mark.parametrize("interrupt_at", [7, 13])
def test_resume_matches_uninterrupted_run(tmp_path, data, straight, interrupt_at):
    df, static_df = data
    ckpt = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        s5ts.S5Forecaster(**TINY).fit(
            df,
            static_df,
            checkpoint_dir=ckpt,
            callbacks=_stop_at(interrupt_at, KeyboardInterrupt()),
        )
    assert json.loads((ckpt / "state.json").read_text())["step"] == interrupt_at
    resumed = s5ts.S5Forecaster(**TINY).fit(df, static_df, checkpoint_dir=ckpt)
    assert resumed.history_ == straight.history_
    pd.testing.assert_frame_equal(
        _forecast(resumed, data), _forecast(straight, data), check_exact=True
    )
    # A finished checkpoint restores the result without training again.
    again = s5ts.S5Forecaster(**TINY).fit(
        df, static_df, checkpoint_dir=ckpt, callbacks=[pytest.fail]
    )
    pd.testing.assert_frame_equal(
        _forecast(again, data), _forecast(straight, data), check_exact=True
    )


def test_checkpoint_of_another_fit_is_refused(tmp_path, data):
    df, static_df = data
    ckpt = tmp_path / "ckpt"
    s5ts.S5Forecaster(**TINY | {"max_steps": 2}).fit(df, static_df, checkpoint_dir=ckpt)
    with pytest.raises(ValueError, match="different fit"):
        s5ts.S5Forecaster(**TINY | {"max_steps": 3}).fit(df, static_df, checkpoint_dir=ckpt)
    with pytest.raises(ValueError, match="different fit"):
        s5ts.S5Forecaster(**TINY | {"max_steps": 2}).fit(
            df.iloc[1:], static_df, checkpoint_dir=ckpt
        )
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="refusing"):
        s5ts.S5Forecaster(**TINY).fit(df, static_df, checkpoint_dir=tmp_path / "other")
    (ckpt / "state.json").write_text("{broken")
    with pytest.raises(ValueError, match="corrupt"):
        s5ts.S5Forecaster(**TINY | {"max_steps": 2}).fit(df, static_df, checkpoint_dir=ckpt)


def test_batches_drawn_ahead_are_those_drawn_in_turn():
    # Each draw comes with the sampler's state right after it (what a checkpoint keeps),
    # not the state after the draw already made for the next step.
    from s5ts.training._loop import _drawn_ahead

    rng, ref = np.random.default_rng(7), np.random.default_rng(7)
    ahead = _drawn_ahead(lambda: rng.normal(size=3), rng, limit=4)
    for _ in range(4):
        got, state = next(ahead)
        np.testing.assert_array_equal(got, ref.normal(size=3))
        assert state == ref.bit_generator.state
    ahead.close()
    assert _drawing_threads() == []
