"""Forecast real ICU stays: PhysioNet/CinC Challenge 2012, straight from the original files.

Reads set A of the challenge with `datasets/physionet2012.py` (37 variables observed at
irregular times over 48 h, plus admission descriptors), fits a small forecaster on a few
hundred stays, and forecasts every measurement of hours 24-48 of other stays from their
first 24 h. Errors are per variable, then averaged, in units of each variable's training
standard deviation, next to carrying the last value forward (LOCF). A reduced version of
`benchmarks/physionet.py`, which runs the full published protocol.

Run: python examples/physionet_forecasting.py [DATA_DIR] (about a minute on 2 CPU cores;
S5TS_EXAMPLE_FAST=1 for a smoke run). DATA_DIR defaults to ../shared/data/physionet2012
from the repository root; without the data the example says so and exits.
"""

import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

import s5ts


ROOT = Path(__file__).resolve().parents[1]
FAST = os.environ.get("S5TS_EXAMPLE_FAST") == "1"
N_TRAIN, N_TEST = (64, 32) if FAST else (400, 200)
STEPS = 20 if FAST else 150


def load_converter():
    # `datasets/` is a folder of scripts, not a package: load the converter by path.
    spec = importlib.util.spec_from_file_location(
        "physionet2012", ROOT / "datasets/physionet2012.py"
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


data = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/physionet2012"
if not data.is_dir():
    print(f"PhysioNet 2012 data not found at {data}; pass its folder as the first argument.")
    sys.exit(0)

pn = load_converter()
df, static_df = pn.load_physionet2012(data, sets=("a",))
static_df = static_df[["unique_id", "Age", "Gender", "Height", "ICUType", "Weight"]]
ids = np.sort(df["unique_id"].unique())
rng = np.random.default_rng(0)
chosen = rng.choice(ids, N_TRAIN + N_TEST, replace=False)
train = df[df["unique_id"].isin(chosen[:N_TRAIN])]
test = df[df["unique_id"].isin(chosen[N_TRAIN:])]
print(f"{len(ids)} stays in set A; training on {N_TRAIN}, forecasting {N_TEST}")

model = s5ts.S5Forecaster(
    hidden_size=32,
    state_size=32,
    blocks=2,
    horizon=24.0,  # hours
    loss="mse",  # point accuracy first: the mean by squared error, intervals still fitted
    val_metric="mse",
    max_steps=STEPS,
    eval_every=50,
    random_state=0,
    verbose=False,
)
t0 = time.perf_counter()
model.fit(train, static_df=static_df)
print(f"fitted {STEPS} steps in {time.perf_counter() - t0:.0f} s")

history = test[test["ds"] < 24]
future = test[(test["ds"] >= 24) & test["unique_id"].isin(history["unique_id"].unique())]
fc = model.predict(history, future[["unique_id", "ds"]], static_df=static_df)

targets = list(pn.VARIABLES)
truth = future[targets].to_numpy()
mean, std = train[targets].mean().to_numpy(), train[targets].std().to_numpy()
std = np.where(std > 0, std, 1.0)
locf = history.groupby("unique_id")[targets].last().loc[future["unique_id"]].to_numpy()
locf = np.where(np.isnan(locf), mean, locf)  # never measured before 24 h: training mean
for name, pred in (("S5Forecaster", fc[targets].to_numpy()), ("LOCF", locf)):
    err = (pred - truth) / std
    seen = ~np.isnan(err)
    per_var = (np.nan_to_num(err) ** 2).sum(0)[seen.any(0)] / seen.sum(0)[seen.any(0)]
    print(f"{name:13s} MSE {per_var.mean():.3f} (standardised units)")
show = fc.merge(future[["unique_id", "ds", "HR"]], on=["unique_id", "ds"], suffixes=("", "_true"))
print(show[["unique_id", "ds", "HR", "HR_true"]].dropna().head(8).round(1).to_string(index=False))
