"""The forecasting networks and the calls that run them.

- `ForecastNet`: one SSM encoder (S5 by default) over every event of a series (all variables on one
  clock), one virtual query event per query time.
- `VariableClockNet`: each variable on its own clock, attention across the variables at
  the query time.

- `Ensemble`: trained networks of one architecture run side by side (a cross-fitted
  ensemble), forecasting as their mixture.

Each forecasts a blend of the simple forecasts plus a residual (`_blend`).
"""

from ._blend import (
    MIN_SCALE as MIN_SCALE,
    N_BASELINES as N_BASELINES,
    blend as blend,
    blend_parts as blend_parts,
    prior_logits as prior_logits,
)
from ._calls import (
    decode_batch as decode_batch,
    decode_variables as decode_variables,
    encode_batch as encode_batch,
    encode_variables as encode_variables,
    forecast as forecast,
    forecast_batch as forecast_batch,
)
from ._ensemble import Ensemble as Ensemble, mixture as mixture
from ._options import (
    DSS as DSS,
    S4D as S4D,
    S5 as S5,
    AbstractNetwork as AbstractNetwork,
    AbstractSSM as AbstractSSM,
    SharedClock as SharedClock,
    VariableClocks as VariableClocks,
)
from ._shared_clock import ForecastNet as ForecastNet
from ._variable_clocks import VariableClockNet as VariableClockNet
