"""s5ts: forecasting irregularly sampled time series with S5 state-space layers.

The package's sub-packages:

- `s5ts.ssm`: the SSM core (S5 / S4D / DSS layers over irregular time, the stack);
- `s5ts.data`: the DataFrame layer (frames <-> numpy panels, time scale, scalers);
- `s5ts.batching`: per-event and query features, and the padded batches cut from them;
- `s5ts.network`: the forecasting networks (one clock for every variable, or one each)
  and the blend of simple forecasts they predict;
- `s5ts.training`: losses, the optimiser, the jitted step and the training loop;
- `s5ts.forecaster`: `S5Forecaster` and what it does once fitted;
- `s5ts.cli`: the `s5ts` command line;
- `s5ts.datasets`: the synthetic vitals the demo and the tests use.

The names users reach for most are also here at the top.
"""

import importlib.metadata

from . import cli as cli, data as data, datasets as datasets, forecaster as forecaster, ssm as ssm
from ._compilation_cache import enable_compilation_cache as enable_compilation_cache
from ._plot import plot_forecast as plot_forecast
from .forecaster import (
    BaselineWarning as BaselineWarning,
    DataWarning as DataWarning,
    ExtrapolationWarning as ExtrapolationWarning,
    ForecastState as ForecastState,
    NotFittedError as NotFittedError,
    S5Forecaster as S5Forecaster,
    TruncatedHistoryWarning as TruncatedHistoryWarning,
)
from .network import (
    DSS as DSS,
    S4D as S4D,
    S5 as S5,
    SharedClock as SharedClock,
    VariableClocks as VariableClocks,
)
from .ssm import (
    ZOH as ZOH,
    AbstractDiscretisation as AbstractDiscretisation,
    AbstractScan as AbstractScan,
    AbstractSSMLayer as AbstractSSMLayer,
    AssociativeScan as AssociativeScan,
    Bidirectional as Bidirectional,
    Bilinear as Bilinear,
    DSSLayer as DSSLayer,
    Impulse as Impulse,
    S4DLayer as S4DLayer,
    S5Layer as S5Layer,
    SequentialScan as SequentialScan,
    SSMBlock as SSMBlock,
    SSMStack as SSMStack,
    default_scan as default_scan,
    hippo_legs as hippo_legs,
    hippo_n as hippo_n,
    hippo_normal as hippo_normal,
    s4d_init as s4d_init,
    s5_init as s5_init,
    skew_hippo as skew_hippo,
)
from .training import (
    AbstractLoss as AbstractLoss,
    GaussianNLL as GaussianNLL,
    SquaredError as SquaredError,
)


__version__ = importlib.metadata.version("s5ts")
