"""Bedside monitor: update one patient's forecast as each new measurement arrives.

A small forecaster is fitted on synthetic ICU patients. Then a new patient is "admitted"
and their measurements are replayed one at a time, as a monitor would receive them. After
each one the next 4 hours of MAP are re-forecast, with an 80 % interval, and an alert is
raised when the interval's lower edge falls below 65 mmHg (a common hypotension
threshold).

Each update calls the public `predict` on the history so far; predictions depend only on
the history, never on which other queries were asked, so re-calling it is exact. It
re-reads the whole history per update (cost grows with the stay); see examples/README.md
for the streaming form.

Run: python examples/bedside_monitor.py (about a minute on 2 CPU cores;
S5TS_EXAMPLE_FAST=1 for a smoke run).
"""

import os
import time

import numpy as np
import pandas as pd

import s5ts
from s5ts.datasets import synthetic_vitals


FAST = os.environ.get("S5TS_EXAMPLE_FAST") == "1"
N_TRAIN = 24 if FAST else 96
STEPS = 20 if FAST else 300
N_UPDATES = 5 if FAST else 25
ALERT_MAP = 65.0

df, static_df = synthetic_vitals(N_TRAIN + 1, seed=1)
ids = df["unique_id"].unique()
train, patient = df[df["unique_id"] != ids[-1]], df[df["unique_id"] == ids[-1]]

model = s5ts.S5Forecaster(
    hidden_size=32,
    state_size=32,
    blocks=2,
    horizon=6.0,  # train for short-range forecasts: the next few hours
    max_steps=STEPS,
    eval_every=50,
    random_state=0,
    verbose=False,
)
start = time.perf_counter()
model.fit(train, static_df=static_df)
print(f"fitted on {N_TRAIN} patients in {time.perf_counter() - start:.0f} s")

# Replay the patient's measurements from hour 12 onwards, one event at a time.
first = int(np.searchsorted(patient["ds"].to_numpy(), 12.0))
latencies = []
print(f"\nstreaming {ids[-1]}: MAP now, forecast in 1 h / 4 h with 80 % interval")
for k in range(first, min(first + N_UPDATES, len(patient))):
    seen = patient.iloc[: k + 1]  # everything received so far
    now = float(seen["ds"].iloc[-1])
    queries = pd.DataFrame({"unique_id": ids[-1], "ds": now + np.array([1.0, 4.0])})
    t0 = time.perf_counter()
    fc = model.predict(seen, queries, static_df=static_df, level=[80])
    latencies.append(time.perf_counter() - t0)
    last_map = seen["MAP"].dropna()
    now_map = f"{last_map.iloc[-1]:5.1f}" if len(last_map) else "  -  "
    lo, mid = fc["MAP-lo-80"].to_numpy(), fc["MAP"].to_numpy()
    alert = "  ALERT: MAP may fall below 65" if lo.min() < ALERT_MAP else ""
    new = [c for c in model.target_cols_ if pd.notna(seen[c].iloc[-1])]
    print(
        f"t={now:6.2f} h  new {','.join(new):22s} MAP {now_map}  "
        f"+1 h {mid[0]:5.1f} [{lo[0]:5.1f}]  +4 h {mid[1]:5.1f} [{lo[1]:5.1f}]{alert}"
    )
# The first call compiles; the rest show the steady-state latency.
print(
    f"\nper-update latency: first {latencies[0]:.2f} s, then median "
    f"{np.median(latencies[1:] or latencies) * 1e3:.0f} ms"
)
