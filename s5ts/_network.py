"""The forecasting network: an S5 encoder over history, one virtual query event per query.

The stack runs over the history events; each block's state after the last event is then
advanced by one virtual "query event" (`stack.step`) arriving `tau` after the cutoff, once
per query and independently of the others (vmapped), so a forecast never depends on which
other queries were asked. A small head reads the query output and predicts, per target,
a blend of the three simple forecasts — the last observed value (LOCF), the series'
running mean and the training mean — plus a residual, and a scale. The blend weights
depend on the query (how long ago the variable was seen, how far ahead, ...) and start
at a prior fitted on the training data, so even an untrained network forecasts as well
as the best fixed blend of the baselines; with little data it stays close to it.
The two halves are `encode` (events -> states) and `decode` (states, queries -> forecasts),
so that streaming can keep the states between calls and run the same head.
"""

from collections.abc import Iterable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._array_types import Array, Bool, Complex, Float
from ._batches import Batch
from ._sharding import data_mesh, padded_size, replicate, shard_batch, to_host
from .ssm import AbstractDiscretisation, S5Layer, SSMStack


MIN_SCALE = 1e-3  # floor on the predicted std (in scaled units), keeps the NLL bounded
N_BASELINES = 3  # LOCF, the series' running mean, the training mean (0 in scaled units)


def blend(
    out: Float[Array, "*batch outputs"],
    locf: Float[Array, "*batch targets"],
    level: Float[Array, "*batch targets"],
) -> tuple[Float[Array, "*batch targets"], Float[Array, "*batch targets"]]:
    """Means and scales from the head's outputs: `(residual, raw scale, 3 blend logits)`
    per target, laid out `[residual (C), scale (C), logits (C, 3)]`."""
    n = locf.shape[-1]
    residual, raw_scale = out[..., :n], out[..., n : 2 * n]
    logits = out[..., 2 * n :].reshape(*out.shape[:-1], n, N_BASELINES)
    w = jax.nn.softmax(logits, axis=-1)
    mean = w[..., 0] * locf + w[..., 1] * level + residual  # w[..., 2] weighs 0
    return mean, jax.nn.softplus(raw_scale) + MIN_SCALE


def prior_logits(prior: np.ndarray | None, n_targets: int) -> np.ndarray:
    """(C, 3) initial blend logits from prior weights (C, 3) or (3,); None: plain LOCF."""
    if prior is None:
        prior = np.array([1.0, 0.0, 0.0])
    p = np.broadcast_to(np.asarray(prior, np.float64), (n_targets, N_BASELINES))
    p = np.clip(p, 1e-4, None)
    return np.log(p / p.sum(-1, keepdims=True))


class ForecastNet(eqx.Module):
    """Maps one history `(L, F)` and queries `(Q, F)` to per-target means and scales `(Q, C)`."""

    stack: SSMStack
    head: eqx.nn.MLP
    n_targets: int = eqx.field(static=True)

    def __init__(
        self,
        n_features: int,
        n_targets: int,
        *,
        hidden_size: int,
        state_size: int,
        blocks: int,
        n_layers: int,
        dropout: float,
        discretisation: AbstractDiscretisation,
        blend_prior: np.ndarray | None = None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `n_features`, `n_targets`: sizes of an event's features and of the targets.
        - `hidden_size`, `state_size`, `blocks`, `n_layers`, `dropout`,
          `discretisation`: the S5 stack.
        - `blend_prior`: initial weights of (LOCF, running mean, training mean), `(3,)`
          or per target `(C, 3)`; None starts at LOCF.
        - `key`: a `jax.random` key.
        """
        stack_key, head_key = jax.random.split(key)

        def make_ssm(k):
            return S5Layer(
                hidden_size, state_size, blocks=blocks, discretisation=discretisation, key=k
            )

        self.stack = SSMStack(n_features, make_ssm, n_layers, dropout=dropout, key=stack_key)
        head = eqx.nn.MLP(
            hidden_size + n_features,
            (2 + N_BASELINES) * n_targets,
            width_size=hidden_size,
            depth=1,
            activation=jax.nn.gelu,
            key=head_key,
        )
        # A zero last layer starts the model at the prior blend, a zero residual and a
        # unit-order scale.
        last = head.layers[-1]
        bias = np.zeros(last.bias.shape, np.float32)
        bias[2 * n_targets :] = prior_logits(blend_prior, n_targets).reshape(-1)
        self.head = eqx.tree_at(
            lambda h: (h.layers[-1].weight, h.layers[-1].bias),
            head,
            (jnp.zeros_like(last.weight), jnp.asarray(bias, last.bias.dtype)),
        )
        self.n_targets = n_targets

    def __call__(
        self,
        x: Float[Array, "length features"],
        dt: Float[Array, " length"],
        valid: Bool[Array, " length"],
        xq: Float[Array, "queries features"],
        tau: Float[Array, " queries"],
        locf: Float[Array, " targets"],
        level: Float[Array, " targets"],
        *,
        key: jax.Array | None = None,
    ) -> tuple[Float[Array, "queries targets"], Float[Array, "queries targets"]]:
        """Means and scales (scaled units) at every query of one series; `key` enables
        dropout. The batched path on a batch of one, so both give the same numbers."""
        args = (x, dt, valid, xq, tau, locf, level)
        mean, scale = self.batched(*(a[None] for a in args), key=key)
        return mean[0], scale[0]

    def batched(
        self,
        x: Float[Array, "batch length features"],
        dt: Float[Array, "batch length"],
        valid: Bool[Array, "batch length"],
        xq: Float[Array, "batch queries features"],
        tau: Float[Array, "batch queries"],
        locf: Float[Array, "batch targets"],
        level: Float[Array, "batch targets"],
        *,
        key: jax.Array | None = None,
    ) -> tuple[Float[Array, "batch queries targets"], Float[Array, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` for a batch of series; `key` enables dropout.

        `encode` then `decode`: the split lets streaming keep the encoded states between
        calls and still run exactly the same head.
        """
        return self.decode(self.encode(x, dt, valid, key=key), xq, tau, locf, level)

    def encode(
        self,
        x: Float[Array, "batch length features"],
        dt: Float[Array, "batch length"],
        valid: Bool[Array, "batch length"],
        states: tuple[Complex[Array, "batch ..."], ...] | None = None,
        *,
        key: jax.Array | None = None,
    ) -> tuple[Complex[Array, "batch ..."], ...]:
        """Per-block states after each series' events, from `states` (default: zero).

        The history runs time-major through the stack — only the real-valued features
        are transposed, never the complex states — which is several times faster on
        CPU than a vmap around the scan (`benchmarks/scan.py`). Padding (`valid=False`,
        `dt=0`) leaves a state exactly unchanged, so a batch may mix lengths.
        """
        _, states = self.stack.scan(jnp.swapaxes(x, 0, 1), dt.T, valid.T, states, key=key)
        return states

    def decode(
        self,
        states: tuple[Complex[Array, "batch ..."], ...],
        xq: Float[Array, "batch queries features"],
        tau: Float[Array, "batch queries"],
        locf: Float[Array, "batch targets"],
        level: Float[Array, "batch targets"],
    ) -> tuple[Float[Array, "batch queries targets"], Float[Array, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` of queries after the events encoded in `states`.

        Each query is one virtual event stepped from its own series' state.
        """

        def one_query(xq_q, tau_q):  # (B, F), (B,): the same query slot of every series
            _, h = self.stack.step(states, xq_q, tau_q)
            out = jax.vmap(self.head)(jnp.concatenate([h, xq_q], axis=-1))
            return blend(out, locf, level)

        return jax.vmap(one_query, in_axes=(1, 1), out_axes=1)(xq, tau)


@eqx.filter_jit
def forecast_batch(model: ForecastNet, batch: Batch):
    """Means and scales (B, Q, C) for a whole batch, in inference mode."""
    model = eqx.nn.inference_mode(model)
    return model.batched(
        batch.x, batch.dt, batch.valid, batch.xq, batch.tau, batch.locf, batch.level
    )


@eqx.filter_jit
def encode_batch(model: ForecastNet, x, dt, valid, states):
    """`ForecastNet.encode` from given states, in inference mode (streaming updates)."""
    return eqx.nn.inference_mode(model).encode(x, dt, valid, states)


@eqx.filter_jit
def decode_batch(model: ForecastNet, states, xq, tau, locf, level):
    """`ForecastNet.decode` in inference mode (forecasts from streamed states)."""
    return eqx.nn.inference_mode(model).decode(states, xq, tau, locf, level)


def forecast(
    model: ForecastNet, items: Iterable[tuple[np.ndarray, Batch]], n_rows: int
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


def _pad_rows(batch: Batch, mesh) -> Batch:
    # Dummy rows (all-invalid history) make the batch split evenly over the devices.
    b = len(batch.x)
    extra = padded_size(b, mesh) - b
    if not extra:
        return batch
    return Batch(*(np.concatenate([a, np.zeros((extra, *a.shape[1:]), a.dtype)]) for a in batch))
