"""The jitted calls every caller of a network goes through: whole batches in inference
mode, streaming's encode and decode, and the loop over prediction batches (data
parallel over every device)."""

from collections.abc import Iterable

import equinox as eqx
import numpy as np

from .._sharding import data_mesh, padded_size, replicate, shard_batch, to_host
from ..ssm import unchecked_gaps


@eqx.filter_jit
def forecast_batch(model: eqx.Module, batch):
    """Means and scales (B, Q, C) for a whole batch, in inference mode."""
    with unchecked_gaps():  # gaps come from sorted, validated times
        return eqx.nn.inference_mode(model)(batch)


@eqx.filter_jit
def encode_batch(model: eqx.Module, x, dt, valid, states):
    """`ForecastNet.encode` (or an `Ensemble` of them) from given states, in inference
    mode (streaming updates)."""
    with unchecked_gaps():
        return eqx.nn.inference_mode(model).encode(x, dt, valid, states=states)


@eqx.filter_jit
def decode_batch(model: eqx.Module, states, xq, tau, locf, level, recent):
    """`ForecastNet.decode` (or an `Ensemble`'s) in inference mode (forecasts from
    streamed states)."""
    with unchecked_gaps():
        return eqx.nn.inference_mode(model).decode(states, xq, tau, locf, level, recent)


@eqx.filter_jit
def encode_variables(model, batch, states):
    """`VariableClockNet.encode` from given states, in inference mode (streaming)."""
    with unchecked_gaps():
        return eqx.nn.inference_mode(model).encode(batch, states=states)


@eqx.filter_jit
def decode_variables(model, states, batch):
    """`VariableClockNet.decode` in inference mode (forecasts from streamed states)."""
    with unchecked_gaps():
        return eqx.nn.inference_mode(model).decode(states, batch)


def forecast(
    model: eqx.Module, items: Iterable[tuple[np.ndarray, object]], n_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Run fixed-shape batches of (result row of each query (B, Q), Batch) pairs.

    Returns means and scales (n_rows, C) in scaled units; row -1 marks padding.
    """
    n_t = model.n_targets
    mean, scale = np.zeros((n_rows, n_t)), np.zeros((n_rows, n_t))
    mesh = data_mesh()  # data parallel over every device; None with one device
    model = replicate(model, mesh)
    for pos, batch in items:
        m, s = forecast_batch(model, shard_batch(_pad_rows(batch, mesh), mesh))
        keep = pos >= 0
        mean[pos[keep]] = to_host(m)[: len(pos)][keep]
        scale[pos[keep]] = to_host(s)[: len(pos)][keep]
    return mean, scale


def _pad_rows(batch, mesh):
    # Dummy rows (all-invalid history) make the batch split evenly over the devices.
    b = len(batch[0])
    extra = padded_size(b, mesh) - b
    if not extra:
        return batch
    return type(batch)(
        *(np.concatenate([a, np.zeros((extra, *a.shape[1:]), a.dtype)]) for a in batch)
    )
