"""Training pieces: the losses, the optimiser with S5 parameter groups, one jitted step.

The loop that drives them (early stopping, callbacks, checkpoints, faults) is `_loop.py`.
"""

import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._custom_types import Array, Bool, Float
from ._features import Batch
from ._model import ForecastNet, forecast_batch


_SSM_PREFIXES = ("Lambda_", "B_")
_LOG_2PI = math.log(2 * math.pi)


def _is_ssm_parameter(path) -> bool:
    name = getattr(path[-1], "name", "") if path else ""
    return name == "log_step" or name.startswith(_SSM_PREFIXES)


def make_optimizer(
    model: ForecastNet,
    learning_rate: float,
    max_steps: int,
    *,
    weight_decay: float = 1e-2,
    ssm_lr_scale: float = 0.2,
    clip: float = 1.0,
) -> optax.GradientTransformation:
    """Clipped AdamW on warm-up + cosine; the S5 spectrum (Λ, log Δ) and B̃ get a smaller
    rate and no weight decay, as in S5: decaying them would pull eigenvalues and input
    couplings towards zero rather than regularise.

    The same settings and parameter structure give the same (cached) object: the jitted
    step takes the optimiser as a static argument, so an equal one reuses its compilation.
    """
    params = eqx.filter(model, eqx.is_inexact_array)
    labels = jax.tree_util.tree_map_with_path(
        lambda p, _: "ssm" if _is_ssm_parameter(p) else "rest", params
    )
    leaves, treedef = jax.tree_util.tree_flatten(labels)
    settings = (learning_rate, max_steps, weight_decay, ssm_lr_scale, clip)
    return _optimizer(settings, treedef, tuple(leaves))


@functools.lru_cache(maxsize=32)
def _optimizer(settings, treedef, leaves) -> optax.GradientTransformation:
    learning_rate, max_steps, weight_decay, ssm_lr_scale, clip = settings
    labels = jax.tree_util.tree_unflatten(treedef, leaves)
    warmup = max(1, min(100, max_steps // 10))

    def schedule(scale):
        peak = learning_rate * scale
        return optax.warmup_cosine_decay_schedule(
            0.0, peak, warmup, max(max_steps, warmup + 1), end_value=0.05 * peak
        )

    groups = {
        "ssm": optax.adam(schedule(ssm_lr_scale)),
        "rest": optax.adamw(schedule(1.0), weight_decay=weight_decay),
    }
    # The label tree is itself a (callable) Module, hence the lambda.
    return optax.chain(
        optax.clip_by_global_norm(clip), optax.multi_transform(groups, lambda _: labels)
    )


def _average(
    per: Float[Array, "*batch targets"],
    mask: Bool[Array, "*batch targets"],
    weights: Float[Array, " targets"] | None,
) -> Float[Array, ""]:
    # Weighted mean over the observed entries; a batch with no weight scores 0.
    w = jnp.asarray(mask, per.dtype) if weights is None else jnp.where(mask, weights, 0.0)
    total = jnp.sum(w)
    return jnp.where(total > 0, jnp.sum(jnp.where(mask, per, 0.0) * w) / total, 0.0)


def gaussian_nll(
    mean: Float[Array, "*batch targets"],
    scale: Float[Array, "*batch targets"],
    y: Float[Array, "*batch targets"],
    mask: Bool[Array, "*batch targets"],
    weights: Float[Array, " targets"] | None = None,
) -> Float[Array, ""]:
    """Negative log-likelihood averaged over the observed entries, per-target weighted."""
    z = (y - mean) / scale
    return _average(0.5 * z**2 + jnp.log(scale) + 0.5 * _LOG_2PI, mask, weights)


def squared_error(
    mean: Float[Array, "*batch targets"],
    y: Float[Array, "*batch targets"],
    mask: Bool[Array, "*batch targets"],
    weights: Float[Array, " targets"] | None = None,
) -> Float[Array, ""]:
    """Squared error averaged over the observed entries, per-target weighted."""
    return _average((y - mean) ** 2, mask, weights)


class Objective(eqx.Module):
    """What training minimises: `kind` (`"nll"` or `"mse"`) and optional per-target weights.

    `"nll"`: Gaussian NLL of mean and scale together. `"mse"`: the mean is fitted by
    squared error alone, and the scale by the NLL around that mean held fixed — the point
    forecast then minimises the usual benchmark metric while the intervals stay fitted.
    `weights` (C,) say how much each target's errors count (None = equally, in scaled units).
    A Module, so the kind is static under `filter_jit` and the weights are traced.
    """

    kind: str = eqx.field(static=True, default="nll")
    weights: Float[Array, " targets"] | None = None

    def __call__(self, mean, scale, y, mask) -> Float[Array, ""]:
        if self.kind == "mse":
            fixed = jax.lax.stop_gradient(mean)
            return squared_error(mean, y, mask, self.weights) + gaussian_nll(
                fixed, scale, y, mask, self.weights
            )
        return gaussian_nll(mean, scale, y, mask, self.weights)


NLL = Objective()


def batch_loss(
    model: ForecastNet, batch: Batch, key: jax.Array | None, objective: Objective = NLL
) -> Float[Array, ""]:
    """The training loss of a batch; `key` (training) enables dropout, one mask per series."""
    mean, scale = model.batched(
        batch.x, batch.dt, batch.valid, batch.xq, batch.tau, batch.locf, key=key
    )
    return objective(mean, scale, batch.y, batch.mask)


@eqx.filter_jit
def train_step(
    model, opt_state, batch: Batch, key: jax.Array, optimizer, objective: Objective = NLL
):
    value, grads = eqx.filter_value_and_grad(batch_loss)(model, batch, key, objective)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state, value


def eval_loss(
    model: ForecastNet,
    batches: list[Batch],
    metric: str = "nll",
    weights: np.ndarray | None = None,
) -> float:
    """Validation score (lower is better), through the same compiled forward pass as
    prediction (so validation adds no compilation); `weights` (C,) as in `Objective`.

    `"nll"`: Gaussian NLL over all observed entries. `"mse"`: squared error of the mean,
    per variable then averaged over variables (scaled units) — the shape of the usual
    benchmark metric, and far less sensitive than the NLL to a few outlying targets.
    """
    if metric == "mse":
        sq, count = 0.0, 0.0
        for batch in batches:
            mean, _ = forecast_batch(model, batch)
            err = np.where(batch.mask, (np.asarray(mean) - batch.y) ** 2, 0.0)
            sq = sq + err.sum(axis=(0, 1))
            count = count + batch.mask.sum(axis=(0, 1))
        seen = np.asarray(count) > 0
        per_target = np.asarray(sq)[seen] / np.asarray(count)[seen]
        w = np.ones(len(per_target)) if weights is None else np.asarray(weights)[seen]
        return float(np.sum(w * per_target) / np.sum(w)) if np.sum(w) > 0 else 0.0
    w = None if weights is None else jnp.asarray(weights, jnp.float32)
    total, count = 0.0, 0.0
    for batch in batches:
        mean, scale = forecast_batch(model, batch)
        mask = np.asarray(batch.mask)
        n = float(mask.sum() if weights is None else (mask * np.asarray(weights)).sum())
        total += float(gaussian_nll(mean, scale, jnp.asarray(batch.y), mask, w)) * n
        count += n
    return total / count if count > 0 else 0.0
