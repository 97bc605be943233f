"""Quickstart (pandas): fit S5Forecaster on synthetic ICU vitals and forecast 24 h ahead.

Each patient has 48 h of irregularly sampled vitals (HR, MAP, RespRate, SpO2, Temp,
Lactate; NaN where a variable was not measured at that time). We train on 96 patients,
then forecast hours 24-48 of 32 others from their first 24 h: once at the times their
measurements were actually taken (a query frame), once on an hourly grid.

Run: python examples/quickstart_pandas.py  (about a minute on 2 CPU cores; set
S5TS_EXAMPLE_FAST=1 for a few-second smoke run).
"""

import os
import time

import numpy as np

import s5ts
from s5ts.datasets import synthetic_vitals


FAST = os.environ.get("S5TS_EXAMPLE_FAST") == "1"
N_TRAIN, N_TEST = (24, 8) if FAST else (96, 32)
STEPS = 20 if FAST else 300

# 1. Data: a long frame (unique_id, ds in hours, one column per variable) + statics.
df, static_df = synthetic_vitals(N_TRAIN + N_TEST, seed=0)
ids = df["unique_id"].unique()
train = df[df["unique_id"].isin(ids[:N_TRAIN])]
test = df[df["unique_id"].isin(ids[N_TRAIN:])]
print(df.head())

# 2. Fit. `horizon` is how far ahead the training targets reach (hours here).
model = s5ts.S5Forecaster(
    hidden_size=32,
    state_size=32,
    blocks=2,
    horizon=24.0,
    max_steps=STEPS,
    eval_every=50,
    random_state=0,
    verbose=False,
)
start = time.perf_counter()
model.fit(train, static_df=static_df)
print(f"fitted {STEPS} steps in {time.perf_counter() - start:.0f} s")

# 3. Forecast the observed times of hours 24-48 from the first 24 h.
history = test[test["ds"] < 24]
future = test[test["ds"] >= 24]
fc = model.predict(history, future[["unique_id", "ds"]], static_df=static_df, level=[80])
print(fc[["unique_id", "ds", "HR", "HR-lo-80", "HR-hi-80"]].head())

# 4. Score against carrying the last value forward (LOCF), per variable then averaged,
#    in units of each variable's training standard deviation.
targets = list(model.target_cols_)
truth = future[targets].to_numpy()
locf = history.groupby("unique_id")[targets].last().loc[future["unique_id"]].to_numpy()
std = train[targets].std().to_numpy()
for name, pred in (("S5Forecaster", fc[targets].to_numpy()), ("LOCF", locf)):
    err = (pred - truth) / std
    print(f"{name:13s} MSE {np.nanmean(np.nanmean(err**2, axis=0)):.3f}")

# 5. Or forecast on a regular grid: 6 steps of 4 h after each patient's last observation.
grid = model.predict(history, static_df=static_df, h=6, freq=4.0)
print(grid[["unique_id", "ds", "HR", "MAP"]].head(6))
