"""The forecasting network: an SSM encoder over history, one virtual query event per query.

The stack runs over the history events; each block's state after the last event is then
advanced by one virtual "query event" (`stack.step`) arriving `tau` after the cutoff, once
per query and independently of the others (vmapped), so a forecast never depends on which
other queries were asked. A small head reads the query output and predicts, per target,
a blend of the simple forecasts — the last observed value (LOCF), the series' running
mean, the training mean and its recent mean — plus a residual, and a scale. The blend
weights depend on the query (how long ago the variable was seen, how far ahead, ...) and
start at a prior fitted on the training data, so even an untrained network forecasts as
well as the best fixed blend of the baselines; with little data it stays close to it.
The two halves are `encode` (events -> states) and `decode` (states, queries -> forecasts),
so that streaming can keep the states between calls and run the same head.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Bool, Complex, Float
from ..batching import Batch
from ..ssm import AbstractSSMLayer, SSMStack
from ._blend import N_BASELINES, blend, prior_logits


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
        make_ssm: Callable[[jax.Array], AbstractSSMLayer],
        hidden_size: int,
        n_layers: int,
        dropout: float,
        n_baselines: int = N_BASELINES,
        blend_prior: np.ndarray | None = None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `n_features`, `n_targets`: sizes of an event's features and of the targets.
        - `make_ssm`: builds one SSM layer of width `hidden_size` from a key.
        - `hidden_size`, `n_layers`, `dropout`: the stack.
        - `n_baselines`: how many of the simple forecasts (LOCF, running mean, training
          mean, recent mean) the blend weighs: all four, or the first three (networks
          saved before the recent mean).
        - `blend_prior`: their initial weights, `(n_baselines,)` or per target
          `(C, n_baselines)`; None starts at LOCF.
        - `key`: a `jax.random` key.
        """
        stack_key, head_key = jax.random.split(key)
        self.stack = SSMStack(n_features, make_ssm, n_layers, dropout=dropout, key=stack_key)
        head = eqx.nn.MLP(
            hidden_size + n_features,
            (2 + n_baselines) * n_targets,
            width_size=hidden_size,
            depth=1,
            activation=jax.nn.gelu,
            key=head_key,
        )
        # A zero last layer starts the model at the prior blend, a zero residual and a
        # unit-order scale.
        last = head.layers[-1]
        bias = np.zeros(last.bias.shape, np.float32)
        bias[2 * n_targets :] = prior_logits(blend_prior, n_targets, n_baselines).reshape(-1)
        self.head = eqx.tree_at(
            lambda h: (h.layers[-1].weight, h.layers[-1].bias),
            head,
            (jnp.zeros_like(last.weight), jnp.asarray(bias, last.bias.dtype)),
        )
        self.n_targets = n_targets

    def __call__(
        self, batch: Batch, *, key: jax.Array | None = None
    ) -> tuple[Float[AnyArray, "batch queries targets"], Float[AnyArray, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` of a batch (scaled units); `key` enables dropout."""
        return self.batched(
            batch.x,
            batch.dt,
            batch.valid,
            batch.xq,
            batch.tau,
            batch.locf,
            batch.level,
            batch.recent,
            key=key,
        )

    def batched(
        self,
        x: Float[AnyArray, "batch length features"],
        dt: Float[AnyArray, "batch length"],
        valid: Bool[AnyArray, "batch length"],
        xq: Float[AnyArray, "batch queries features"],
        tau: Float[AnyArray, "batch queries"],
        locf: Float[AnyArray, "batch targets"],
        level: Float[AnyArray, "batch targets"],
        recent: Float[AnyArray, "batch targets"],
        *,
        key: jax.Array | None = None,
    ) -> tuple[Float[AnyArray, "batch queries targets"], Float[AnyArray, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` for a batch of series; `key` enables dropout.

        `encode` then `decode`: the split lets streaming keep the encoded states between
        calls and still run exactly the same head.
        """
        return self.decode(self.encode(x, dt, valid, key=key), xq, tau, locf, level, recent)

    def init_state(self, batch_shape: tuple[int, ...]) -> tuple[Complex[AnyArray, "..."], ...]:
        """Every block's state before any event, `batch_shape + state_shape`."""
        return self.stack.init_state(batch_shape)

    def encode(
        self,
        x: Float[AnyArray, "batch length features"],
        dt: Float[AnyArray, "batch length"],
        valid: Bool[AnyArray, "batch length"],
        states: tuple[Complex[AnyArray, "batch ..."], ...] | None = None,
        *,
        key: jax.Array | None = None,
    ) -> tuple[Complex[AnyArray, "batch ..."], ...]:
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
        states: tuple[Complex[AnyArray, "batch ..."], ...],
        xq: Float[AnyArray, "batch queries features"],
        tau: Float[AnyArray, "batch queries"],
        locf: Float[AnyArray, "batch targets"],
        level: Float[AnyArray, "batch targets"],
        recent: Float[AnyArray, "batch targets"],
    ) -> tuple[Float[AnyArray, "batch queries targets"], Float[AnyArray, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` of queries after the events encoded in `states`.

        Each query is one virtual event stepped from its own series' state.
        """

        def one_query(xq_q, tau_q):  # (B, F), (B,): the same query slot of every series
            _, h = self.stack.step(states, xq_q, tau_q)
            out = jax.vmap(self.head)(jnp.concatenate([h, xq_q], axis=-1))
            return blend(out, locf, level, recent)

        return jax.vmap(one_query, in_axes=(1, 1), out_axes=1)(xq, tau)
