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
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._array_types import AnyArray, Complex, Float
from ..batching import FIRST_GAP, AnySeries, Layout, fill_queries
from ..ssm import AbstractSSMLayer, SSMStack
from ._blend import N_BASELINES, blend_parts, prior_logits


TOKEN_FEATURES = 4  # value, running mean, log(1 + gap), log(1 + time)
QUERY_FEATURES = 5  # LOCF, running mean, seen, log(1 + time since seen), log(1 + tau)


class VariableBatch(NamedTuple):
    """B samples: each variable's latest observations up to a cutoff, Q query times."""

    obs: np.ndarray  # (B, C, K, 4) tokens per variable, oldest first, padding last
    dt: np.ndarray  # (B, C, K) gap since the variable's previous observation (0: padding)
    valid: np.ndarray  # (B, C, K) bool
    since: np.ndarray  # (B, C) time from each variable's last observation to the cutoff
    seen: np.ndarray  # (B, C) bool
    t_cut: np.ndarray  # (B,) time of the cutoff since the series began
    static: np.ndarray  # (B, S)
    tau: np.ndarray  # (B, Q) time from the cutoff to each query
    locf: np.ndarray  # (B, C) last value at the cutoff (scaled; 0 = never seen)
    level: np.ndarray  # (B, C) running mean at the cutoff (scaled; 0 = never seen)
    recent: np.ndarray  # (B, C) recent mean at the cutoff (scaled; 0 = never seen)
    y: np.ndarray  # (B, Q, C) scaled truth, 0 where not observed
    mask: np.ndarray  # (B, Q, C) bool

    @classmethod
    def empty(cls, b: int, n_t: int, k: int, n_s: int, n_queries: int) -> "VariableBatch":
        """All padding: B samples, C targets, K tokens per variable, S statics, Q queries."""
        return cls(
            obs=np.zeros((b, n_t, k, TOKEN_FEATURES), np.float32),
            dt=np.zeros((b, n_t, k), np.float32),
            valid=np.zeros((b, n_t, k), bool),
            since=np.zeros((b, n_t), np.float32),
            seen=np.zeros((b, n_t), bool),
            t_cut=np.zeros(b, np.float32),
            static=np.zeros((b, n_s), np.float32),
            tau=np.zeros((b, n_queries), np.float32),
            locf=np.zeros((b, n_t), np.float32),
            level=np.zeros((b, n_t), np.float32),
            recent=np.zeros((b, n_t), np.float32),
            y=np.zeros((b, n_queries, n_t), np.float32),
            mask=np.zeros((b, n_queries, n_t), bool),
        )


def variable_tokens(
    f: AnySeries, start: int, stop: int, keep: int, seen_at: np.ndarray | None = None
):
    """Tokens of the events `start:stop` of series `f`, at most the latest `keep` per
    variable: the variable and slot of each kept token, its features (T, 4) and gap (T,).

    A gap reaches back to the variable's previous observation, before `start` too; for
    the first event, `seen_at` (C,) says when each variable was last observed before it
    (NaN: never; default: nothing came before, as at a series' start).
    """
    obs = ~np.isnan(f.y[start:stop])
    after = np.cumsum(obs[::-1], axis=0)[::-1]  # observations at or after each event
    kept = np.minimum(obs.sum(0), keep)
    e, v = np.nonzero(obs & (after <= keep))
    slot = kept[v] - after[e, v]
    e = e + start
    prev = np.maximum(e - 1, 0)
    if seen_at is None:
        seen_at = np.full(f.y.shape[1], np.nan)
    # When each token's variable was last observed before it (NaN: never).
    last = np.where(e > 0, np.where(f.seen[prev, v], f.t[prev] - f.since[prev, v], np.nan),
                    seen_at[v])  # fmt: skip
    gap = np.where(np.isnan(last), f.t[e] + FIRST_GAP, f.t[e] - last)
    feats = np.stack([f.x[e, v], f.level[e, v], np.log1p(gap), np.log1p(f.t[e])], axis=1).astype(
        np.float32
    )
    return v, slot, feats, gap.astype(np.float32)


def assemble_variables(
    feats: list[AnySeries | None],
    cutoffs: list[int],
    taus: list[np.ndarray],
    targets: list[np.ndarray | None],
    *,
    length: int,
    n_queries: int,
    context: float | None = None,
) -> VariableBatch:
    """Pad samples (None = dummy) into a VariableBatch keeping each variable's latest
    `length` observations up to its cutoff (`context` is not used: each variable keeps
    its latest observations whatever their age)."""
    del context
    f0 = next(f for f in feats if f is not None)
    out = VariableBatch.empty(len(feats), f0.y.shape[1], length, len(f0.static), n_queries)
    for i, (f, c, tau, y) in enumerate(zip(feats, cutoffs, taus, targets, strict=True)):
        if f is None:
            continue
        g = f.features(c + 1)  # built here, for the events the sample sees
        v, slot, tok, gap = variable_tokens(g, 0, c + 1, length)
        out.obs[i, v, slot], out.dt[i, v, slot], out.valid[i, v, slot] = tok, gap, True
        out.since[i], out.seen[i], out.t_cut[i] = g.since[c], g.seen[c], g.t[c]
        out.static[i], out.locf[i], out.level[i] = g.static, g.locf[c], g.level[c]
        out.recent[i] = g.recent[c]
        fill_queries(out, i, tau, y)
    return out


def most_per_variable(f: AnySeries, c: int, context=None, max_len=None) -> int:
    """The most observations any variable of `f` has up to event `c`."""
    return int((~np.isnan(f.y[: c + 1])).sum(0).max(initial=1))


VARIABLES = Layout(assemble_variables, most_per_variable, smallest=8, tiers=2, train_queries=32)


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
