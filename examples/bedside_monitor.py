"""Bedside monitor: update one patient's forecast as each new measurement arrives.

A small forecaster is fitted on synthetic ICU patients. Then a new patient is "admitted"
and their measurements are replayed one at a time, as a monitor would receive them. After
each one the next 1 h and 4 h of MAP are re-forecast, with an 80 % interval, and an alert
is raised when the interval's lower edge falls below 65 mmHg (a common hypotension
threshold).

Streaming: `init_state` encodes the history once; `update` adds each new measurement at
the cost of that one event (the recurrent state and the carried features move on), and
`predict_from_state` forecasts from the state. At the end the streamed forecast is checked
against `predict` on the whole history, which re-reads the stay on every call.

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

# Admission: encode the first 12 hours once. Then replay the next measurements one at a time.
first = int(np.searchsorted(patient["ds"].to_numpy(), 12.0))
state = model.init_state(patient.iloc[:first], static_df)
updates, forecasts = [], []
print(f"\nstreaming {ids[-1]}: MAP now, forecast in 1 h / 4 h with 80 % interval")
for k in range(first, min(first + N_UPDATES, len(patient))):
    new = patient.iloc[[k]]  # the measurement that just arrived
    now = float(new["ds"].iloc[0])
    queries = pd.DataFrame({"unique_id": ids[-1], "ds": now + np.array([1.0, 4.0])})
    t0 = time.perf_counter()
    state = model.update(state, new)  # a new state; the old one is left as it was
    t1 = time.perf_counter()
    fc = model.predict_from_state(state, queries, level=[80])
    updates.append(t1 - t0), forecasts.append(time.perf_counter() - t1)
    last_map = patient["MAP"].iloc[: k + 1].dropna()
    now_map = f"{last_map.iloc[-1]:5.1f}" if len(last_map) else "  -  "
    lo, mid = fc["MAP-lo-80"].to_numpy(), fc["MAP"].to_numpy()
    alert = "  ALERT: MAP may fall below 65" if lo.min() < ALERT_MAP else ""
    seen = [c for c in model.target_cols_ if pd.notna(new[c].iloc[0])]
    print(
        f"t={now:6.2f} h  new {','.join(seen):22s} MAP {now_map}  "
        f"+1 h {mid[0]:5.1f} [{lo[0]:5.1f}]  +4 h {mid[1]:5.1f} [{lo[1]:5.1f}]{alert}"
    )


def ms(x):
    return f"{np.median(x[1:] or x) * 1e3:.1f} ms"


# The first update and forecast compile; the rest show the steady-state latency.
total = np.add(updates, forecasts).tolist()
print(
    f"\nper-update latency: first {total[0]:.2f} s, then median {ms(total)} "
    f"(update {ms(updates)}, forecast {ms(forecasts)})"
)

# The streamed forecast is the one predict gives on the whole history received so far.
history = patient.iloc[: k + 1]
direct = model.predict(history, queries, static_df=static_df, level=[80])
t0 = time.perf_counter()
direct = model.predict(history, queries, static_df=static_df, level=[80])
slow = time.perf_counter() - t0
cols = ["MAP", "MAP-lo-80", "MAP-hi-80"]
gap = np.abs(fc[cols].to_numpy() - direct[cols].to_numpy()).max()
print(
    f"check: streamed vs predict on the whole history ({len(history)} events): max abs "
    f"difference {gap:.1e} mmHg; predict takes {slow * 1e3:.0f} ms per call"
)
