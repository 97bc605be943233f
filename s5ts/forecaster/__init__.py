"""The forecaster: the scikit-learn-style estimator and everything it does once fitted.

`S5Forecaster` holds hyperparameters; `fit` produces a frozen `FittedForecaster`;
`predict`, `cross_validation`, streaming (`init_state` / `update` /
`predict_from_state` over a `ForecastState`) and `save` / `load` read it.
"""

from ._checks import check_hyperparameters as check_hyperparameters
from ._errors import (
    BaselineWarning as BaselineWarning,
    DataWarning as DataWarning,
    ExtrapolationWarning as ExtrapolationWarning,
    NotFittedError as NotFittedError,
    TruncatedHistoryWarning as TruncatedHistoryWarning,
)
from ._estimator import S5Forecaster as S5Forecaster
from ._fitted import Architecture as Architecture, FittedForecaster as FittedForecaster
from ._forecast_state import ForecastState as ForecastState
from ._hyperparameters import (
    Hyperparameter as Hyperparameter,
    hyperparameters as hyperparameters,
)
