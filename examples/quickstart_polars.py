"""Quickstart (polars): the same workflow as quickstart_pandas.py on polars frames.

A polars input gives a polars output; unmeasured values are null. Run:
python examples/quickstart_polars.py (about a minute on 2 CPU cores;
S5TS_EXAMPLE_FAST=1 for a smoke run).
"""

import os
import time

import polars as pl

import s5ts
from s5ts.datasets import synthetic_vitals


FAST = os.environ.get("S5TS_EXAMPLE_FAST") == "1"
N_TRAIN, N_TEST = (24, 8) if FAST else (96, 32)
STEPS = 20 if FAST else 300

df, static_df = synthetic_vitals(N_TRAIN + N_TEST, seed=0, frame="polars")
ids = df["unique_id"].unique(maintain_order=True)
train = df.filter(pl.col("unique_id").is_in(ids[:N_TRAIN].to_list()))
test = df.filter(pl.col("unique_id").is_in(ids[N_TRAIN:].to_list()))

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

history = test.filter(pl.col("ds") < 24)
future = test.filter(pl.col("ds") >= 24)
fc = model.predict(history, future.select("unique_id", "ds"), static_df=static_df, level=[80])
print(type(fc).__name__, fc.select("unique_id", "ds", "HR", "HR-lo-80", "HR-hi-80").head())

# Per-variable MSE against LOCF, in training-standard-deviation units.
targets = list(model.target_cols_)
locf = history.group_by("unique_id").agg(pl.col(targets).drop_nulls().last())
locf_at = future.select("unique_id").join(locf, on="unique_id", how="left", maintain_order="left")
std = train.select(pl.col(targets).std())
for name, pred in (("S5Forecaster", fc), ("LOCF", locf_at)):
    mse = pl.DataFrame(
        {t: ((pred[t] - future[t]) / std[t][0]) ** 2 for t in targets}
    ).mean()  # nulls (unobserved truth) are skipped
    print(f"{name:13s} MSE {mse.mean_horizontal()[0]:.3f}")

grid = model.predict(history, static_df=static_df, h=6, freq=4.0)
print(grid.select("unique_id", "ds", "HR", "MAP").head(6))
