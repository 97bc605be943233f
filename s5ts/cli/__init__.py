"""The `s5ts` command line: fit, predict, evaluate and demo over CSV / Parquet files."""

from ._main import main as main
from ._options import (
    add_hyperparameters as add_hyperparameters,
    hyperparameters_from as hyperparameters_from,
)
