"""The per-variable-clock batch layout: each variable's observations as its own tokens.

For `s5ts.network.VariableClockNet`: a sample keeps, per variable, its latest
observations up to the cutoff as tokens (value, running mean, log(1 + gap since the
variable's previous observation), log(1 + time)), oldest first and padded at the end,
with the gaps its SSM runs on, plus what the query head reads at the cutoff (LOCF, the
running and recent means, time since each variable was seen).
"""

from typing import NamedTuple

import numpy as np

from ._batches import Layout, fill_queries
from ._features import FIRST_GAP, AnySeries


TOKEN_FEATURES = 4  # value, running mean, log(1 + gap), log(1 + time)


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


VARIABLE_TOKENS = Layout(
    assemble_variables, most_per_variable, smallest=8, tiers=2, train_queries=32
)
