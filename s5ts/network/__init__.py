"""The forecasting networks and the calls that run them.

- `ForecastNet`: one S5 encoder over every event of a series (all variables on one
  clock), one virtual query event per query time.
- `VariableClockNet`: each variable on its own clock, attention across the variables at
  the query time.

Both forecast a blend of the simple forecasts plus a residual (`_blend`).
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
    encode_batch as encode_batch,
    forecast as forecast,
    forecast_batch as forecast_batch,
)
from ._shared_clock import ForecastNet as ForecastNet
