"""`S5Forecaster.fit`: validate, fit the time scale and scalers, split, then train.

Every check runs before the first JAX call. The fitted state is stored on the forecaster
even when training ends early (non-finite loss, Ctrl-C), so it is usable with the best
weights so far; the error is raised after that.
"""

import jax
import numpy as np

from ._checkpoint import Checkpoint, fingerprint
from ._data import Scaler, TimeScale
from ._features import (
    max_window_events,
    next_pow2,
    plan_batches,
    queries_in_window,
    sample_batch,
)
from ._loop import train
from ._predict import PREDICT_QUERIES
from ._train import Objective, make_optimizer
from ._validation import (
    check_fit_panel,
    check_hyperparameters,
    check_magnitude,
    read_panel,
    target_weights,
)


def fit(est, df, static_df, val_df, id_col, time_col, target_cols, callbacks, checkpoint_dir):
    check_hyperparameters(est)
    callbacks = _check_callbacks(callbacks)
    panel = read_panel(df, static_df, id_col, time_col, target_cols, est.duplicates)
    check_fit_panel(panel)
    val_panel = None
    if val_df is not None:
        val_panel = read_panel(
            val_df, static_df, id_col, time_col, panel.target_cols, est.duplicates
        )
        if not val_panel.time_kind.same_as(panel.time_kind):
            raise TypeError(
                f"val_df has {val_panel.time_kind.kind} times (time zone "
                f"{val_panel.time_kind.time_zone}) but df has {panel.time_kind.kind} times "
                f"(time zone {panel.time_kind.time_zone}); convert {time_col!r} to match"
            )
        check_magnitude(val_panel)
    _fit_scales(est, panel, id_col, time_col)

    rng = np.random.default_rng(est.random_state)
    train_panel = panel
    if val_panel is None and est.val_size > 0 and panel.n_series >= 5:
        n_val = max(1, int(round(est.val_size * panel.n_series)))
        perm = rng.permutation(panel.n_series)
        train_panel, val_panel = panel.subset(perm[n_val:]), panel.subset(perm[:n_val])
    train_feats = [f for f in est._features(train_panel) if len(f.t) >= 2]
    if not train_feats:
        raise ValueError(
            "every training series has a single event; forecasting needs series with >= 2 "
            "events (distinct times)"
        )
    est.max_len_ = next_pow2(max(len(f.t) for f in train_feats), 16)
    n_queries = next_pow2(min(max_window_events(train_feats, est.horizon_), 256), 8)
    val_batches = [] if val_panel is None else _val_batches(est, val_panel)
    checkpoint = None
    if checkpoint_dir is not None:
        params = {k: v for k, v in est.get_params().items() if k != "verbose"}
        checkpoint = Checkpoint(checkpoint_dir, fingerprint(params, [train_panel, val_panel]))

    est.n_features_ = train_feats[0].x.shape[1]
    init_key, train_key = jax.random.split(jax.random.key(est.random_state))
    model = est._skeleton(init_key)
    optimizer = make_optimizer(
        model, est.learning_rate, est.max_steps, weight_decay=est.weight_decay
    )

    def sample():
        return sample_batch(
            train_feats,
            rng,
            batch_size=est.batch_size,
            horizon=est.horizon_,
            context=est.context_,
            max_len=est.max_len_,
            n_queries=n_queries,
        )

    result = train(
        model,
        optimizer,
        sample,
        val_batches,
        rng=rng,
        max_steps=est.max_steps,
        eval_every=est.eval_every,
        patience=est.patience,
        key=train_key,
        verbose=est.verbose,
        val_metric=est.val_metric,
        objective=Objective(est.loss, target_weights(est.target_weights, panel.target_cols)),
        callbacks=callbacks,
        checkpoint=checkpoint,
    )
    est.model_ = result.model
    est.history_ = {
        "train_loss": result.train_loss,
        "val_loss": result.val_loss,
        "best_step": result.best_step,
        "stopped": result.stopped,
    }
    kept = (
        f"the weights of step {result.best_step}"
        + (" (the initial weights)" if result.best_step == 0 else "")
        + (" (best validation loss so far)" if val_batches else " (the last finite step)")
    )
    if result.stopped == "non_finite":
        raise FloatingPointError(
            f"fit: the training or validation loss became NaN/inf at step {result.step + 1}; "
            f"training stopped and the forecaster keeps {kept}, usable for predict. Try a "
            "smaller learning_rate, or check the data for extreme values."
        )
    if result.stopped == "interrupted":
        # The forecaster is fitted (best weights so far); let the interrupt reach the caller.
        raise KeyboardInterrupt(f"fit interrupted after step {result.step}; keeping {kept}")
    return est


def _check_callbacks(callbacks) -> tuple:
    if callbacks is None:
        return ()
    if callable(callbacks):
        callbacks = [callbacks]
    callbacks = tuple(callbacks)
    bad = [c for c in callbacks if not callable(c)]
    if bad:
        raise TypeError(f"callbacks must be callables (or a list of them), got {bad!r}")
    return callbacks


def _fit_scales(est, panel, id_col, time_col) -> None:
    est.time_scale_ = TimeScale().fit(panel)
    est.scaler_ = Scaler().fit(panel)
    static = panel.static if panel.static is not None else np.zeros((panel.n_series, 0))
    est.static_mean_ = static.mean(0)
    est.static_std_ = np.where(static.std(0) > 0, static.std(0), 1.0)
    est.target_cols_, est.static_cols_ = panel.target_cols, panel.static_cols
    est.id_col_, est.time_col_ = id_col, time_col
    est.context_ = None if est.context is None else est._span(est.context, "context")
    if est.horizon is None:
        spans = np.array([f.t[-1] for f in est._features(panel)])
        est.horizon_ = float(0.5 * np.median(spans)) or 1.0
    else:
        est.horizon_ = est._span(est.horizon, "horizon")


def _val_batches(est, panel):
    # Fixed cutoffs: the last event at least one horizon before the series ends.
    feats = est._features(panel)
    series, cuts, taus, ys = [], [], [], []
    for i, f in enumerate(feats):
        edge = f.t[-1] - est.horizon_ * (1 - 1e-9)  # robust to unit rounding
        c = max(int(np.searchsorted(f.t, edge, side="right")) - 1, 0)
        q = queries_in_window(f, c, est.horizon_)
        series += [i] * len(q)
        cuts += [c] * len(q)
        taus.append(f.t[q] - f.t[c])
        ys.append(f.y[q])
    if not series:
        return []
    return [
        b
        for _, b in plan_batches(
            feats,
            np.asarray(series),
            np.asarray(cuts),
            np.concatenate(taus),
            np.concatenate(ys),
            batch_size=est.batch_size,
            length=est.max_len_,
            n_queries=PREDICT_QUERIES,
            context=est.context_,
        )
    ]
