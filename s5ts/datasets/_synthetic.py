"""Embedded, deterministic ICU-like vital signs with irregular sampling (no download).

Generative model, per patient ``i`` (all randomness from ``np.random.default_rng(seed)``):

- **Static covariates**: ``age`` (years, 18-90), ``sex`` (1 = male), ``weight`` (kg),
  ``icu_type`` (1 coronary, 2 cardiac surgery, 3 medical, 4 surgical).
- **Severity** ``z_i(t) = z0_i + r_i * t / 24``: a latent deterioration (r > 0) or
  recovery (r < 0, the common case) drift; ``z0`` grows with age and is higher in
  medical ICUs.
- **Signal** of variable ``v`` on a 5-minute grid::

      s_v(t) = b_v(static) + u_iv + g_v z_i(t) + a_v sin(2 pi (t + h_i - p_v) / 24) + x_v(t)

  ``b_v`` depends on age, sex, weight and ICU type, ``u_iv`` is a per-patient offset,
  ``g_v`` the severity gain (HR, RespRate, Temp, Lactate up; MAP, SpO2 down), the
  sine a daily rhythm aligned to the wall clock (``h_i`` is the admission hour,
  ``p_v`` the variable's peak time plus per-patient jitter), and ``x_v`` the sum of a
  fast (time scale 2-3 h) and a slow (about a day) mean-reverting Ornstein-Uhlenbeck
  process (exactly discretised). The OU innovations are coupled:
  HR rises when MAP falls and when temperature or respiratory rate rise, and
  respiratory rate rises with temperature; SpO2 falls when respiratory rate rises.
  Lactate is modelled on the log scale (``exp`` of the signal).
- **Measurement clocks** (times rounded to the minute): nurse "rounds" about hourly
  (gamma-jittered gaps) where HR, MAP, RespRate, SpO2 (and sometimes Temp) are taken
  together, each with its own probability; extra monitor readings of HR and SpO2 at
  exponential gaps (~1.5 h); Temp every ~4 h; Lactate at admission then every ~8 h,
  more often for sicker patients (informative missingness). The first event of each
  clock is always taken (admission assessment, within the first hour), so every
  series observes every variable. Up to three "off the unit" stretches of 2-6 h,
  starting after hour 2, remove every measurement inside them.
- **Observation**: signal + Gaussian measurement noise, clipped to physiologic ranges
  (:data:`RANGES`) and rounded to the instrument resolution.

Mean reversion to a covariate-dependent baseline, the daily rhythm and the drift make
hours 24-48 forecastable from hours 0-24 well beyond carrying the last value forward.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


VARIABLES = ("HR", "MAP", "RespRate", "Temp", "SpO2", "Lactate")
RANGES = {
    "HR": (30.0, 200.0), "MAP": (35.0, 160.0), "RespRate": (4.0, 50.0),
    "Temp": (33.0, 42.0), "SpO2": (70.0, 100.0), "Lactate": (0.3, 20.0),
}  # fmt: skip
_RESOLUTION = np.array([1.0, 1.0, 1.0, 0.1, 1.0, 0.1])
# Per variable: population mean, offset sd, severity gain, rhythm amplitude, peak
# clock hour, OU rate (1/h), OU stationary sd, measurement-noise sd.
_MEAN = np.array([84.0, 78.0, 18.0, 36.9, 97.0, np.log(1.4)])
_OFFSET_SD = np.array([7.0, 6.0, 2.0, 0.25, 1.0, 0.25])
_GAIN = np.array([7.0, -6.0, 2.5, 0.35, -1.2, 0.35])
_AMP = np.array([6.0, 5.0, 1.5, 0.35, 0.5, 0.0])
_PEAK = np.array([16.0, 14.0, 15.0, 18.0, 4.0, 0.0])
_THETA = np.array([0.5, 0.5, 0.5, 0.3, 0.6, 0.3])
_OU_SD = np.array([2.5, 2.5, 1.0, 0.12, 0.6, 0.1])
# A slow OU component (time scale about a day) carries persistent excursions.
_THETA_SLOW, _SLOW_SD = 0.04, np.array([7.0, 7.0, 2.5, 0.35, 1.4, 0.3])
_NOISE_SD = np.array([2.0, 3.0, 1.2, 0.1, 0.8, 0.08])
# Contemporaneous coupling of the OU innovations (row = affected variable).
_COUPLE = np.eye(6)
_COUPLE[0, [1, 2, 3]] = (-0.5, 0.6, 6.0)  # HR <- MAP, RespRate, Temp
_COUPLE[2, 3] = 2.5  # RespRate <- Temp
_COUPLE[4, 2] = -0.25  # SpO2 <- RespRate
_GRID = 12  # latent steps per hour (5 minutes)
_UNITS = {"h": 1.0, "min": 60.0, "s": 3600.0}


def _statics(rng, n):
    age = np.clip(rng.normal(64.0, 16.0, n), 18, 90).round()
    sex = (rng.random(n) < 0.56).astype(np.int64)
    weight = np.clip(rng.normal(74.0 + 10.0 * sex, 16.0), 40, 180).round(1)
    icu = rng.choice(np.arange(1, 5), n, p=[0.15, 0.2, 0.35, 0.3])
    return age, sex, weight, icu


def _baselines(rng, age, sex, weight, icu):
    """Per-patient baseline (n, 6) and initial severity from the covariates."""
    n = len(age)
    a, w = (age - 65.0) / 15.0, (weight - 80.0) / 15.0
    base = np.tile(_MEAN, (n, 1)) + rng.normal(0.0, 1.0, (n, 6)) * _OFFSET_SD
    base[:, 0] += -2.0 * a - 2.0 * sex + 1.5 * w - 5.0 * (icu == 1)
    base[:, 1] += 4.0 * a + 2.0 * sex - 3.0 * (icu == 2)
    base[:, 2] += 0.5 * w
    base[:, 3] += -0.3 * (icu == 2)
    base[:, 4] += -0.6 * a
    base[:, 5] += 0.1 * (icu == 3)
    z0 = 0.3 * a + 0.4 * (icu == 3) + rng.normal(0.0, 0.8, n)
    return base, z0


def _latent(rng, n, hours, base, z0):
    """Signal on the 5-minute grid, shape (n, T, 6), and the admission clock hour."""
    t = np.arange(int(np.ceil(hours * _GRID)) + 1) / _GRID
    slope = rng.normal(-0.3, 0.7, n)  # severity units per day
    admit = rng.uniform(0.0, 24.0, n)
    phase = admit[:, None] - _PEAK - rng.normal(0.0, 1.5, (n, 6))
    z = z0[:, None] + slope[:, None] * t / 24.0
    rhythm = np.sin(2 * np.pi * (t[None, :, None] + phase[:, None, :]) / 24.0)
    sig = base[:, None, :] + _GAIN * z[..., None] + _AMP * rhythm
    # Exact OU discretisation; innovations are coupled across variables.
    # Two OU components per variable (fast, slow), exactly discretised and started
    # from their stationary law; their sum is coupled across variables.
    theta = np.r_[_THETA, np.full(6, _THETA_SLOW)]
    sd = np.r_[_OU_SD, _SLOW_SD]
    decay = np.exp(-theta / _GRID)
    innov = rng.normal(0.0, 1.0, (len(t), n, 12)) * sd * np.sqrt(1 - decay**2)
    x = np.empty((len(t), n, 12))
    x[0] = rng.normal(0.0, 1.0, (n, 12)) * sd
    for k in range(1, len(t)):
        x[k] = decay * x[k - 1] + innov[k]
    sig += ((x[..., :6] + x[..., 6:]) @ _COUPLE.T).transpose(1, 0, 2)
    return sig, admit, slope


def _clock(rng, n, hours, mean_gap, shape, first=None):
    """Event times (n, K) from gamma gaps with the given mean; NaN past ``hours``."""
    mean_gap = np.broadcast_to(np.asarray(mean_gap, float), (n,))
    k = int(np.ceil(hours / mean_gap.min() * 2)) + 8
    gaps = rng.gamma(shape, 1.0, (n, k)) * (mean_gap / shape)[:, None]
    start = rng.uniform(0.0, 1.0, n) * (mean_gap if first is None else first)
    times = start[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(gaps[:, 1:], 1)], 1)
    return np.where(times <= hours, times, np.nan)


def _events(rng, n, hours, z0):
    """(patient, time, variable) triplets of every measurement."""
    pid, tim, var = [], [], []

    def add(times, v, p=1.0):
        draw = rng.random(times.shape) < p
        draw[:, 0] = True  # the admission round measures everything once
        ok = ~np.isnan(times) & draw
        rows = np.nonzero(ok)[0]
        pid.append(rows), tim.append(times[ok]), var.append(np.full(len(rows), v))

    rounds = _clock(rng, n, hours, 1.0, 6.0)
    for v, p in ((0, 0.95), (1, 0.85), (2, 0.8), (4, 0.9), (3, 0.15)):
        add(rounds, v, p)
    monitor = _clock(rng, n, hours, 1.5, 1.0)
    add(monitor, 0), add(monitor, 4, 0.7)
    add(_clock(rng, n, hours, 4.0, 4.0), 3)
    add(_clock(rng, n, hours, 8.0 / (1.0 + 0.5 * np.maximum(z0, 0.0)), 2.0, first=1.0), 5)
    pid, tim, var = (np.concatenate(a) for a in (pid, tim, var))
    tim = np.round(tim * 60.0) / 60.0  # minute resolution, like a chart
    # Off-unit stretches: nothing is measured inside them.
    k = np.minimum(rng.poisson(0.8, n), 3)
    gap_start = rng.uniform(2.0, max(hours - 2.0, 2.0), (n, 3))
    gap_len = rng.uniform(2.0, 6.0, (n, 3))
    inside = (tim[:, None] >= gap_start[pid]) & (tim[:, None] < gap_start[pid] + gap_len[pid])
    off = (inside & (np.arange(3) < k[pid, None])).any(1)
    return pid[~off], tim[~off], var[~off]


def synthetic_vitals(
    n_series: int = 64,
    *,
    seed: int = 0,
    hours: float = 48.0,
    frame: str = "pandas",
    time_unit: str = "h",
    start=None,
):
    """Simulate irregular ICU vital signs.

    The same `seed` gives identical frames; see the module docstring for the model.

    **Arguments:**

    - `n_series`: the number of patients (default 64).
    - `seed`: the seed of all randomness (default 0).
    - `hours`: the length of each stay in hours (default 48.0).
    - `frame`: `"pandas"` (default) or `"polars"` (unmeasured values are null there).
    - `time_unit`: the unit of a float `ds`: `"h"` (default), `"min"` or `"s"`.
    - `start`: `None` (default) for `ds` as the time since admission, a float in
      `time_unit`; or anything `pd.Timestamp` accepts, for a datetime `ds`: the
      patient's admission time (a whole number of days plus the admission clock hour
      after `start`) plus the elapsed time, so the daily rhythm follows the wall clock.

    **Returns:**

    `(df, static_df)`. `df` is long: `unique_id` (`"patient_000"`, ...), `ds`, then one
    float column per variable in `VARIABLES` (NaN where not measured), sorted by
    (`unique_id`, `ds`), one row per distinct measurement minute. `static_df` has one
    row per `unique_id`: `age`, `sex` (0/1), `weight`, `icu_type` (1-4).
    """
    if n_series < 1 or hours <= 0:
        raise ValueError("n_series must be >= 1 and hours > 0")
    if frame not in ("pandas", "polars"):
        raise ValueError(f"frame must be 'pandas' or 'polars', got {frame!r}")
    if time_unit not in _UNITS:
        raise ValueError(f"time_unit must be one of {sorted(_UNITS)}, got {time_unit!r}")
    rng = np.random.default_rng(seed)
    age, sex, weight, icu = _statics(rng, n_series)
    base, z0 = _baselines(rng, age, sex, weight, icu)
    sig, admit, _ = _latent(rng, n_series, hours, base, z0)
    pid, tim, var = _events(rng, n_series, hours, z0)

    val = sig[pid, np.rint(tim * _GRID).astype(np.int64), var]
    val += rng.normal(0.0, 1.0, len(val)) * _NOISE_SD[var]
    val = np.where(var == 5, np.exp(val), val)  # Lactate lives on the log scale
    lo, hi = np.array([RANGES[v] for v in VARIABLES]).T
    val = np.round(np.clip(val, lo[var], hi[var]) / _RESOLUTION[var]) * _RESOLUTION[var]

    # One row per (patient, minute); a variable measured twice in a minute keeps the
    # first draw.
    per = int(hours * 60) + 2
    row_key = pid * per + np.rint(tim * 60.0).astype(np.int64)
    _, first = np.unique(row_key * len(VARIABLES) + var, return_index=True)
    row_key, var, val = row_key[first], var[first], val[first]
    rows, row_of = np.unique(row_key, return_inverse=True)
    wide = np.full((len(rows), len(VARIABLES)), np.nan)
    wide[row_of, var] = val
    p_row, t_row = rows // per, (rows % per) / 60.0

    ids = np.array([f"patient_{i:0{max(3, len(str(n_series - 1)))}d}" for i in range(n_series)])
    if start is None:
        ds = t_row * _UNITS[time_unit]
    else:
        day = rng.integers(0, 7, n_series)
        admit_at = pd.Timestamp(start) + pd.to_timedelta(day * 24.0 + admit, unit="h")
        ds = admit_at[p_row].round("s") + pd.to_timedelta(t_row * 60.0, unit="min").round("s")
    df = pd.DataFrame(wide, columns=list(VARIABLES))
    df.insert(0, "ds", ds)
    df.insert(0, "unique_id", ids[p_row])
    static_df = pd.DataFrame(
        {"unique_id": ids, "age": age, "sex": sex, "weight": weight, "icu_type": icu}
    )
    if frame == "polars":
        import polars as pl

        return pl.from_pandas(df), pl.from_pandas(static_df)
    return df, static_df
