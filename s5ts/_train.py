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


def gaussian_nll(
    mean: Float[Array, "*batch"],
    scale: Float[Array, "*batch"],
    y: Float[Array, "*batch"],
    mask: Bool[Array, "*batch"],
) -> Float[Array, ""]:
    """Mean negative log-likelihood over the observed entries only."""
    z = (y - mean) / scale
    per = 0.5 * z**2 + jnp.log(scale) + 0.5 * _LOG_2PI
    return jnp.sum(jnp.where(mask, per, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def squared_error(
    mean: Float[Array, "*batch"], y: Float[Array, "*batch"], mask: Bool[Array, "*batch"]
) -> Float[Array, ""]:
    """Mean squared error over the observed entries only."""
    return jnp.sum(jnp.where(mask, (y - mean) ** 2, 0.0)) / jnp.maximum(jnp.sum(mask), 1)


def batch_loss(
    model: ForecastNet, batch: Batch, key: jax.Array | None, loss: str = "nll"
) -> Float[Array, ""]:
    """The training loss of a batch; `key` (training) enables dropout, one mask per series.

    `"nll"`: Gaussian NLL of mean and scale together. `"mse"`: the mean is fitted by
    squared error alone, and the scale by the NLL around that mean held fixed — the point
    forecast then minimises the usual benchmark metric while the intervals stay fitted.
    """
    mean, scale = model.batched(
        batch.x, batch.dt, batch.valid, batch.xq, batch.tau, batch.locf, key=key
    )
    if loss == "mse":
        fixed = jax.lax.stop_gradient(mean)
        return squared_error(mean, batch.y, batch.mask) + gaussian_nll(
            fixed, scale, batch.y, batch.mask
        )
    return gaussian_nll(mean, scale, batch.y, batch.mask)


@eqx.filter_jit
def train_step(model, opt_state, batch: Batch, key: jax.Array, optimizer, loss: str = "nll"):
    value, grads = eqx.filter_value_and_grad(batch_loss)(model, batch, key, loss)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state, value


def eval_loss(model: ForecastNet, batches: list[Batch], metric: str = "nll") -> float:
    """Validation score (lower is better), through the same compiled forward pass as
    prediction (so validation adds no compilation).

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
        return float(np.mean(np.asarray(sq)[seen] / np.asarray(count)[seen]))
    total, count = 0.0, 0
    for batch in batches:
        mean, scale = forecast_batch(model, batch)
        n = int(batch.mask.sum())
        total += float(gaussian_nll(mean, scale, jnp.asarray(batch.y), batch.mask)) * n
        count += n
    return total / max(count, 1)
