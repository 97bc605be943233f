"""The training loop: early stopping, callbacks, checkpoints and faults around the
jitted step.

Each step's results are committed in one assignment, so whatever stops the loop (a
non-finite loss, Ctrl-C, a callback) leaves the state of the last completed step: the best
weights so far for the forecaster, and an exact point to resume from for a checkpoint.
"""

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import equinox as eqx
import jax
import numpy as np
import optax

from .._progress import progress_bar
from .._sharding import data_mesh, replicate, shard_batch
from ..batching import AnyBatch, built_ahead
from ._average import average_decay, moving_average
from ._losses import AbstractLoss, GaussianNLL
from ._memory import release_free_memory
from ._scores import evaluate
from ._step import apply_gradients, group_gradients, grouped_step, train_step


@dataclass(frozen=True)
class StepInfo:
    """What a `fit` callback receives after each completed step.

    `val_loss` is None except at validation steps; `best_step` is the step of the best
    validation loss so far (0 = the initial weights). With `folds > 1` the fit trains
    one network per fold, one after another, and `step` starts again at 1 for each;
    `fold` says which. Return True to stop training (the networks trained so far are
    kept).
    """

    step: int
    max_steps: int
    loss: float
    val_loss: float | None
    best_step: int
    fold: int = 0  # which network is training (0-based; one per fold with `folds > 1`)
    folds: int = 1  # how many networks the fit trains


@dataclass(frozen=True)
class LoopState:
    """Everything needed to continue training exactly where it stopped."""

    model: Any
    opt_state: Any
    key: jax.Array
    rng_state: dict  # the numpy sampler's bit generator state
    best: Any
    average: Any  # the weights' moving average: what is validated and kept
    step: int = 0
    best_loss: float = np.inf
    best_step: int = 0
    bad: int = 0  # evaluations since the best one
    stopped: str | None = None  # set only once training has finished for good
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class TrainResult:
    """The best model and what happened on the way."""

    model: eqx.Module
    best_step: int
    stopped: str  # "max_steps", "early_stopping", "callback", "interrupted" or "non_finite"
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[tuple[int, float]] = field(default_factory=list)
    step: int = 0  # the last completed step


def train(
    model: eqx.Module,
    optimizer: optax.GradientTransformation,
    sample: Callable[[], AnyBatch],
    val_batches,
    *,
    rng: np.random.Generator,
    max_steps: int,
    eval_every: int,
    patience: int,
    key: jax.Array,
    verbose: bool,
    loss: AbstractLoss | None = None,
    val_metric: AbstractLoss | None = None,
    weights: np.ndarray | None = None,
    callbacks: Sequence[Callable[[StepInfo], Any]] = (),
    checkpoint=None,
    warmup: Sequence[AnyBatch] = (),
    ema_decay: float = 0.0,
    fold: tuple[int, int] = (0, 1),
    groups: int = 1,
) -> TrainResult:
    """Train for up to `max_steps`; validate every `eval_every` steps, stop after `patience`
    evaluations without improvement and return the best weights (the last ones without
    validation data). `sample()` draws from `rng`, whose state is part of the loop state.
    `loss` is minimised, `val_metric` (default: `loss`) selects the weights; `weights`
    (C,) are per-target weights for both. With `ema_decay > 0` an exponential moving
    average of the weights (`average_decay`) is what is validated and returned; with 0,
    the weights themselves. `fold` (which, of how many) is this network's place among a
    fit's networks, shown in the progress bar and passed to the callbacks.

    `sample()` returns a batch, or a list of `groups` batches that make one
    (`sample_groups`): each is then differentiated in its own shape and one update
    applies their gradients weighted by their shares of the targets.

    `warmup` batches (one of every shape `sample()` can draw, groups if it draws them)
    are compiled before the first step. A non-finite loss, Ctrl-C or a callback
    returning True stop early with the best so far. `checkpoint` (a `Checkpoint`)
    resumes from its saved state if it has one, saves every `eval_every` steps and saves
    again when the loop ends, however it ends.
    """
    objective = GaussianNLL() if loss is None else loss
    val_metric = objective if val_metric is None else val_metric
    traced_weights = None if weights is None else jax.numpy.asarray(weights, np.float32)
    params = eqx.filter(model, eqx.is_inexact_array)
    state = LoopState(model, optimizer.init(params), key, rng.bit_generator.state, model, model)
    if checkpoint is not None:
        state = checkpoint.restore(state)
        rng.bit_generator.state = state.rng_state
    # Data parallel over every device: batches split, weights and state replicated.
    mesh = data_mesh()
    state = dataclasses.replace(
        state,
        model=replicate(state.model, mesh),
        opt_state=replicate(state.opt_state, mesh),
        best=replicate(state.best, mesh),
        average=replicate(state.average, mesh),
    )
    val_batches = _Sharded(val_batches, mesh)
    if val_batches and state.step == 0 and not state.val_loss:
        # The starting point (the prior blend of the baselines) competes too: with little
        # data, training may only make it worse, and then the initial weights are kept.
        initial = evaluate(state.model, val_batches, val_metric, weights)
        if np.isfinite(initial):
            state = dataclasses.replace(state, best_loss=initial, val_loss=[(0, initial)])

    stopped = state.stopped
    if state.step < max_steps:
        # Compile every shape the sampler can draw now, not when it first appears (a
        # stall of seconds mid-run); the steps' results are thrown away.
        if groups == 1:
            for batch in warmup:
                train_step(
                    state.model,
                    state.opt_state,
                    shard_batch(batch, mesh),
                    state.key,
                    optimizer,
                    objective,
                    traced_weights,
                )
                # What compiling it freed; `eqx.filter_jit` has returned once the step ran.
                release_free_memory()
        elif warmup:
            for batch in warmup:
                _, grads = group_gradients(
                    state.model, shard_batch(batch, mesh), state.key, objective, traced_weights
                )
                release_free_memory()
            shares = np.full(groups, 1 / groups, np.float32)
            apply_gradients(state.model, state.opt_state, (grads,) * groups, shares, optimizer)
        if ema_decay > 0:
            moving_average(state.average, state.model, np.float32(ema_decay))
        release_free_memory()
    bar = progress_bar(
        total=max_steps,
        initial=state.step,
        disable=not verbose,
        desc="s5ts fit" + (f" {fold[0] + 1}/{fold[1]}" if fold[1] > 1 else ""),
        leave=False,
    )
    # The next batch is drawn (in numpy) while the current step runs (in XLA).
    ahead = None
    if state.step < max_steps and stopped is None:
        ahead = _drawn_ahead(sample, rng, limit=max_steps - state.step)
    try:
        while stopped is None and state.step < max_steps:
            key, sub = jax.random.split(state.key)
            drawn, rng_state = next(ahead)
            if isinstance(drawn, list) and len(drawn) > 1:
                model, opt_state, loss = grouped_step(
                    state.model,
                    state.opt_state,
                    drawn,
                    sub,
                    optimizer,
                    objective,
                    weights,
                    traced_weights,
                    mesh,
                )
            else:
                batch = shard_batch(drawn[0] if isinstance(drawn, list) else drawn, mesh)
                model, opt_state, loss = train_step(
                    state.model, state.opt_state, batch, sub, optimizer, objective, traced_weights
                )
            loss = float(loss)
            if not np.isfinite(loss):
                stopped = "non_finite"
                break
            step = state.step + 1
            average = model
            if ema_decay > 0:
                decay = np.float32(average_decay(ema_decay, step))
                average = moving_average(state.average, model, decay)
            val = None
            if val_batches and (step % eval_every == 0 or step == max_steps):
                val = evaluate(average, val_batches, val_metric, weights)
                release_free_memory()  # the pass's batches, built and dropped
                if not np.isfinite(val):
                    stopped = "non_finite"
                    break
            state = _commit(state, model, opt_state, average, key, rng_state, step, loss, val)
            if val is not None and state.best_step != step and state.bad >= patience:
                stopped = "early_stopping"
            if checkpoint is not None and step % eval_every == 0:
                checkpoint.save(state)
            info = StepInfo(step, max_steps, loss, val, state.best_step, *fold)
            if any([bool(cb(info)) for cb in callbacks]) and stopped is None:
                stopped = "callback"
            bar.set_postfix({"loss": loss} | ({} if val is None else {"val": val}), refresh=False)
            bar.update()
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        bar.close()
        if ahead is not None:
            ahead.close()
        # The sampler's stream as if nothing had been drawn ahead: what follows (the next
        # fold's network, a resumed run) draws exactly what it would have.
        rng.bit_generator.state = state.rng_state
    stopped = stopped or "max_steps"
    if checkpoint is not None:
        # A run that ended for good is recorded as such; one stopped by Ctrl-C, a callback
        # (e.g. a time budget) or a non-finite loss resumes from its last completed step.
        final = stopped in ("max_steps", "early_stopping")
        checkpoint.save(dataclasses.replace(state, stopped=stopped if final else None))
    best, best_step = state.best, state.best_step
    if not val_batches:
        best, best_step = state.average, state.step
    return TrainResult(
        best, best_step, stopped, state.train_loss[: state.step], _upto(state), state.step
    )


def _drawn_ahead(
    sample: Callable[[], Any], rng: np.random.Generator, limit: int
) -> Iterator[tuple[Any, dict]]:
    """At most `limit` training batches, each with the random state right after its own
    draw, drawn one ahead in a background thread (`built_ahead`) while the step before
    runs: the batches are those `sample()` would draw in the loop itself, and the state
    is what a checkpoint keeps."""
    return built_ahead((sample(), rng.bit_generator.state) for _ in range(limit))


class _Sharded:
    """Batches split over the mesh as they are drawn (re-iterable, like its source)."""

    def __init__(self, batches, mesh):
        self.batches, self.mesh = batches, mesh

    def __iter__(self):
        return (shard_batch(b, self.mesh) for b in self.batches)

    def __bool__(self) -> bool:
        return bool(self.batches)


def _commit(
    state: LoopState, model, opt_state, average, key, rng_state, step, loss, val
) -> LoopState:
    """The state after a completed step, built aside and swapped in by one assignment;
    `average` is the weights' moving average after it (validated as `val`), `rng_state`
    the sampler's random state after drawing its batch."""
    state.train_loss.append(loss)  # lists are trimmed to `step` if the swap never happens
    best = dict(best=state.best, best_loss=state.best_loss, best_step=state.best_step)
    bad = state.bad
    if val is not None:
        state.val_loss.append((step, val))
        if val < state.best_loss:
            best, bad = dict(best=average, best_loss=val, best_step=step), 0
        else:
            bad += 1
    return dataclasses.replace(
        state,
        model=model,
        opt_state=opt_state,
        average=average,
        key=key,
        rng_state=rng_state,
        step=step,
        bad=bad,
        **best,
    )


def _upto(state: LoopState) -> list[tuple[int, float]]:
    return [(s, v) for s, v in state.val_loss if s <= state.step]
