"""s5ts: forecasting irregularly sampled time series with S5 state-space layers."""

import importlib.metadata

from . import data as data, datasets as datasets
from ._discretise import (
    ZOH as ZOH,
    AbstractDiscretisation as AbstractDiscretisation,
    Bilinear as Bilinear,
    Impulse as Impulse,
)
from ._dss import DSSLayer as DSSLayer
from ._errors import NotFittedError as NotFittedError
from ._forecaster import S5Forecaster as S5Forecaster
from ._init import (
    hippo_legs as hippo_legs,
    hippo_n as hippo_n,
    hippo_normal as hippo_normal,
    s4d_init as s4d_init,
    s5_init as s5_init,
    skew_hippo as skew_hippo,
)
from ._layer import AbstractSSMLayer as AbstractSSMLayer
from ._plot import plot_forecast as plot_forecast
from ._s4d import S4DLayer as S4DLayer
from ._s5 import S5Layer as S5Layer
from ._scan import (
    AbstractScan as AbstractScan,
    AssociativeScan as AssociativeScan,
    SequentialScan as SequentialScan,
    default_scan as default_scan,
)
from ._stack import SSMBlock as SSMBlock, SSMStack as SSMStack
from ._streaming import ForecastState as ForecastState


__version__ = importlib.metadata.version("s5ts")
