"""The optimiser: clipped AdamW on warm-up + cosine, with S5's parameter groups."""

import functools

import equinox as eqx
import jax
import optax


_SSM_PREFIXES = ("Lambda_", "B_")


def _is_ssm_parameter(path) -> bool:
    name = getattr(path[-1], "name", "") if path else ""
    return name == "log_step" or name.startswith(_SSM_PREFIXES)


def make_optimizer(
    model: eqx.Module,
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
