"""The per-variable-clock network: each variable's observations on their own time axis.

Every variable of a series is its own irregular sequence: an observation is a token
(its value, the variable's running mean, its gap since the variable's previous
observation, its time), and one SSM stack, shared by all variables and told which
variable it reads by a learned embedding, runs over each variable's tokens with that
variable's own gaps — a batch of (series, variable) rows, the tokens padded at the end
with no-op events.

At a query time each variable's states are carried with no input from its own last
observation to the query (`jump`, the continuous-time step the layers are built for) and
read out, the variables then read each other (attention across the variables at that
time), and a head shared by all variables predicts, per variable, a blend of the
last value, the running mean, the training mean and the recent mean, a residual and a
scale. A forecast depends only on its own series' history and its own time.
"""

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Complex, Float
from ..batching import TOKEN_FEATURES, VariableBatch
from ..ssm import AbstractSSMLayer, SSMStack
from ._blend import N_BASELINES, blend_parts, prior_logits


QUERY_FEATURES = 5  # LOCF, running mean, seen, log(1 + time since seen), log(1 + tau)


class VariableClockNet(eqx.Module):
    """Per-variable SSM clocks, attention across variables at the query, a shared head."""

    embed: Float[AnyArray, "targets hidden"]
    token_in: eqx.nn.Linear
    static_in: eqx.nn.Linear
    query_in: eqx.nn.Linear
    readout: eqx.nn.Linear
    stack: SSMStack
    norm: eqx.nn.LayerNorm
    attention: eqx.nn.MultiheadAttention
    head: eqx.nn.MLP
    bias: Float[AnyArray, "targets outputs"]
    n_targets: int = eqx.field(static=True)

    def __init__(
        self,
        n_targets: int,
        n_static: int,
        *,
        make_ssm: Callable[[jax.Array], AbstractSSMLayer],
        hidden_size: int,
        n_layers: int,
        dropout: float,
        heads: int = 4,
        n_baselines: int = N_BASELINES,
        blend_prior: np.ndarray | None = None,
        key: jax.Array,
    ):
        """**Arguments:**

        - `n_targets`, `n_static`: the number of variables and of static covariates.
        - `make_ssm`: builds one SSM layer of width `hidden_size` from a key.
        - `hidden_size`, `n_layers`, `dropout`: the stack shared by every variable.
        - `heads`: attention heads across the variables.
        - `n_baselines`: how many of the simple forecasts (LOCF, running mean, training
          mean, recent mean) the blend weighs: all four, or the first three (networks
          saved before the recent mean).
        - `blend_prior`: their initial weights, `(n_baselines,)` or per variable
          `(C, n_baselines)`; None starts at LOCF.
        - `key`: a `jax.random` key.
        """
        keys = jax.random.split(key, 8)
        h = hidden_size
        self.embed = jax.random.normal(keys[0], (n_targets, h)) / np.sqrt(h)
        self.token_in = eqx.nn.Linear(TOKEN_FEATURES, h, key=keys[1])
        self.static_in = eqx.nn.Linear(n_static, h, use_bias=False, key=keys[2])
        self.query_in = eqx.nn.Linear(TOKEN_FEATURES, h, key=keys[3])
        self.readout = eqx.nn.Linear(n_layers * h, h, key=keys[7])

        # Tokens arrive at width H already (features + variable embedding + statics); the
        # stack's own input projection (a learned H -> H map) mixes them before the SSM.
        self.stack = SSMStack(h, make_ssm, n_layers, dropout=dropout, key=keys[4])
        self.norm = eqx.nn.LayerNorm(h)
        self.attention = eqx.nn.MultiheadAttention(heads, h, key=keys[5])
        self.head = eqx.nn.MLP(
            2 * h + QUERY_FEATURES,
            2 + n_baselines,
            width_size=h,
            depth=1,
            activation=jax.nn.gelu,
            key=keys[6],
        )
        last = self.head.layers[-1]
        self.head = eqx.tree_at(
            lambda m: (m.layers[-1].weight, m.layers[-1].bias),
            self.head,
            (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias)),
        )
        bias = np.zeros((n_targets, 2 + n_baselines), np.float32)
        bias[:, 2:] = prior_logits(blend_prior, n_targets, n_baselines)
        self.bias = jnp.asarray(bias)
        self.n_targets = n_targets

    def init_state(self, batch_shape: tuple[int, ...]) -> tuple[Complex[AnyArray, "..."], ...]:
        """Every block's state before any observation, `batch_shape + state_shape`
        (`batch_shape` is `(B, C)`: one state per series and variable)."""
        return self.stack.init_state(batch_shape)

    def encode(
        self,
        batch: VariableBatch,
        states: tuple[Complex[AnyArray, "batch targets ..."], ...] | None = None,
        *,
        key: jax.Array | None = None,
    ) -> tuple[Complex[AnyArray, "batch targets ..."], ...]:
        """Per-block, per-variable states `(B, C, ...)` after each variable's tokens,
        from `states` (default: zero). Padding tokens leave a state unchanged."""
        u = _linear(self.token_in, batch.obs) + self.embed[:, None]
        u = u + _linear(self.static_in, batch.static)[:, None, None]
        x = jnp.moveaxis(u, 2, 0)  # (K, B, C, H): time-major, one row per variable
        dt, valid = jnp.moveaxis(batch.dt, 2, 0), jnp.moveaxis(batch.valid, 2, 0)
        _, states = self.stack.scan(x, dt, valid, states, key=key)
        return states

    def decode(
        self,
        states: tuple[Complex[AnyArray, "batch targets ..."], ...],
        batch: VariableBatch,
    ) -> tuple[Float[AnyArray, "batch queries targets"], Float[AnyArray, "batch queries targets"]]:
        """Means and scales `(B, Q, C)` at the query times of `batch` from the states.

        Each variable's states are carried with no input from its last observation to
        the cutoff, where the variables read each other (attention across the
        variables), and on to each query time (one exponential per series and variable,
        one per series and query), where every block's state is read out.
        """
        static = _linear(self.static_in, batch.static)
        cut = self.stack.jump(states, batch.since)  # (B, C, *state) per block
        level, when = batch.level, jnp.log1p(batch.t_cut)[:, None]
        at_cut = jnp.stack(
            [
                jnp.zeros_like(level),
                level,
                jnp.log1p(batch.since),
                jnp.broadcast_to(when, level.shape),
            ],
            axis=-1,
        )
        tokens = self._read(cut) + _linear(self.query_in, at_cut) + self.embed + static[:, None]
        context = jax.vmap(self._across)(tokens)  # (B, C, H)

        tau = batch.tau[:, :, None]  # (B, Q, 1)
        gap = batch.since[:, None, :] + tau  # each variable's own gap to the query time
        at = self.stack.jump(tuple(x[:, None] for x in cut), tau)  # (B, Q, C, *state)
        level = jnp.broadcast_to(level[:, None], gap.shape)
        locf = jnp.broadcast_to(batch.locf[:, None], gap.shape)
        recent = jnp.broadcast_to(batch.recent[:, None], gap.shape)
        seen = jnp.broadcast_to(batch.seen[:, None], gap.shape).astype(gap.dtype)
        extra = jnp.stack(
            [locf, level, seen, jnp.log1p(gap), jnp.broadcast_to(jnp.log1p(tau), gap.shape)],
            axis=-1,
        )
        context = jnp.broadcast_to(context[:, None], (*gap.shape, context.shape[-1]))
        out = _mlp(self.head, jnp.concatenate([context, self._read(at), extra], axis=-1))
        out = out + self.bias
        return blend_parts(out[..., 0], out[..., 1], out[..., 2:], locf, level, recent)

    def _read(self, states) -> Float[AnyArray, "*batch hidden"]:
        """Every block's read-out of `states`, mixed to width H."""
        reads = [blk.ssm.output(x) for blk, x in zip(self.stack.blocks, states, strict=True)]
        return _linear(self.readout, jnp.concatenate(reads, axis=-1))

    def _across(
        self, tokens: Float[AnyArray, "targets hidden"]
    ) -> Float[AnyArray, "targets hidden"]:
        x = jax.vmap(self.norm)(tokens)
        return tokens + self.attention(x, x, x)

    def __call__(self, batch: VariableBatch, *, key: jax.Array | None = None):
        """Means and scales `(B, Q, C)` of a batch; `key` enables dropout (training)."""
        return self.decode(self.encode(batch, key=key), batch)


def _linear(layer: eqx.nn.Linear, x):
    out = x @ layer.weight.T
    return out if layer.bias is None else out + layer.bias


def _mlp(mlp: eqx.nn.MLP, x):
    for lin in mlp.layers[:-1]:
        x = mlp.activation(_linear(lin, x))
    return _linear(mlp.layers[-1], x)
