"""Training a network: losses, the optimiser, the jitted step, the weights' moving
average, the loop (early stopping, callbacks, checkpoints, faults) and the validation
scores and residual quantiles a fit keeps.

`train` is the loop `S5Forecaster.fit` runs once per network; everything it needs is a
network, an optimiser (`make_optimizer`), a batch sampler and validation batches
(`s5ts.batching`). Losses are option objects (`GaussianNLL`, `SquaredError`), also
exported at the top of the package.
"""

from ._average import average_decay as average_decay, moving_average as moving_average
from ._checkpoints import Checkpoint as Checkpoint, fingerprint as fingerprint
from ._loop import StepInfo as StepInfo, TrainResult as TrainResult, train as train
from ._losses import (
    LOSSES as LOSSES,
    AbstractLoss as AbstractLoss,
    GaussianNLL as GaussianNLL,
    SquaredError as SquaredError,
    as_loss as as_loss,
    squared_error as squared_error,
)
from ._memory import release_free_memory as release_free_memory
from ._optimizer import make_optimizer as make_optimizer
from ._scores import (
    CALIBRATION_PROBS as CALIBRATION_PROBS,
    evaluate as evaluate,
    residual_quantiles as residual_quantiles,
    validation_scores as validation_scores,
)
from ._step import (
    batch_loss as batch_loss,
    group_gradients as group_gradients,
    target_shares as target_shares,
    train_step as train_step,
)
