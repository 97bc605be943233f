"""The jitted training step: the loss of a batch and one optimiser update, whole or
in groups of similar length."""

from collections.abc import Sequence

import equinox as eqx
import jax
import numpy as np

from .._array_types import AnyArray, Float
from .._sharding import shard_batch
from ..batching import AnyBatch
from ..ssm import unchecked_gaps
from ._losses import AbstractLoss


def batch_loss(
    model: eqx.Module,
    batch: AnyBatch,
    key: jax.Array | None,
    loss: AbstractLoss,
    weights: Float[AnyArray, " targets"] | None = None,
) -> Float[AnyArray, ""]:
    """The training loss of a batch; `key` (training) enables dropout, one mask per series.

    `weights` (C,) say how much each target's errors count (None = equally, in scaled
    units).
    """
    mean, scale = model(batch, key=key)
    return loss(mean, scale, batch.y, batch.mask, weights)


@eqx.filter_jit
def train_step(model, opt_state, batch: AnyBatch, key: jax.Array, optimizer, loss, weights):
    """One optimiser step on a batch: (new model, new optimiser state, loss value)."""
    with unchecked_gaps():  # gaps come from sorted, validated times; lets JAX cache the step
        value, grads = eqx.filter_value_and_grad(batch_loss)(model, batch, key, loss, weights)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state, value


@eqx.filter_jit
def group_gradients(model, batch: AnyBatch, key: jax.Array, loss, weights):
    """(loss value, gradients) of one group of a batch split by `sample_groups`."""
    with unchecked_gaps():
        return eqx.filter_value_and_grad(batch_loss)(model, batch, key, loss, weights)


@eqx.filter_jit
def apply_gradients(model, opt_state, grads: tuple, shares: Float[AnyArray, " groups"], optimizer):
    """One optimiser step on the groups' gradients weighted by their `shares` of the
    batch's targets: (new model, new optimiser state)."""
    total = jax.tree.map(lambda *g: sum(shares[k] * x for k, x in enumerate(g)), *grads)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, opt_state = optimizer.update(total, opt_state, params)
    return eqx.apply_updates(model, updates), opt_state


def target_shares(parts: Sequence[AnyBatch], weights: np.ndarray | None) -> np.ndarray:
    """Each group's share of the batch's weighted targets (all 0 if it has none).

    Both training losses are weighted means over the observed targets, so the loss of
    the whole batch is the groups' losses weighted by these shares, and so is its
    gradient."""
    w = np.ones(1) if weights is None else np.asarray(weights, np.float64)
    mass = np.array([float((np.asarray(p.mask) * w).sum()) for p in parts])
    total = mass.sum()
    return mass / total if total > 0 else np.zeros_like(mass)


def grouped_step(
    model, opt_state, parts: Sequence[AnyBatch], key, optimizer, loss, weights, traced, mesh
):
    """One optimiser step on a batch drawn in groups (`sample_groups`): each group's
    gradients in its own shape, then one update on their weighted sum. `weights` (numpy)
    set the groups' shares, `traced` (the same on the device) the loss. Returns (new
    model, new optimiser state, the batch's loss)."""
    shares = target_shares(parts, weights)
    values, grads = [], []
    for part, k in zip(parts, jax.random.split(key, len(parts)), strict=True):
        value, g = group_gradients(model, shard_batch(part, mesh), k, loss, traced)
        values.append(value), grads.append(g)
    model, opt_state = apply_gradients(
        model, opt_state, tuple(grads), np.asarray(shares, np.float32), optimizer
    )
    return model, opt_state, sum(s * float(v) for s, v in zip(shares, values, strict=True))
