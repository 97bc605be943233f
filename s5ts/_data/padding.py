"""Gathering series into fixed-shape padded batches (padding at the end, dt = 0)."""

from dataclasses import dataclass

import numpy as np

from ._messages import fmt_ids
from .panel import Panel
from .scaler import Scaler
from .timescale import TimeScale


@dataclass(frozen=True, eq=False)
class PaddedBatch:
    """B series padded to length L; C targets.

    Fields:
        values: (B, L, C) float32, scaled if a Scaler was given, 0 where not observed.
        mask: (B, L, C) bool, True where observed.
        dt: (B, L) float32 gap to the previous event in model units; 0 at each series'
            first (kept) event and at padding.
        times: (B, L) float64 model-unit time since the series' first event; padding repeats
            the last real time (so dt = diff(times) holds there too); 0 for dummy series.
        valid: (B, L) bool, True for real events.
        lengths: (B,) int64 number of real events (0 for dummy series).
        series_index: (B,) int64 panel series index, -1 for dummy series.
    """

    values: np.ndarray
    mask: np.ndarray
    dt: np.ndarray
    times: np.ndarray
    valid: np.ndarray
    lengths: np.ndarray
    series_index: np.ndarray


def pad(
    panel: Panel,
    series_index: np.ndarray,
    length: int,
    *,
    time_scale: TimeScale,
    scaler: Scaler | None = None,
    truncate: bool = False,
) -> PaddedBatch:
    """Pad the given series (index -1 = dummy series) to `length` events.

    A series longer than `length` raises unless `truncate=True`, which keeps its latest
    `length` events (their first dt is then 0; times still count from the series' start).
    """
    idx = np.asarray(series_index, dtype=np.int64).reshape(-1)
    if np.any(idx >= panel.n_series) or np.any(idx < -1):
        raise IndexError(f"series_index must lie in [-1, {panel.n_series}), got {idx.tolist()}")
    real = idx >= 0
    safe = np.where(real, idx, 0)
    full = np.where(real, panel.lengths[safe], 0)
    if not truncate and np.any(full > length):
        long = safe[full > length]
        raise ValueError(
            f"series {fmt_ids(panel.ids[long])} have {full[full > length].tolist()} events, "
            f"more than length={length}; use a longer length or truncate=True."
        )
    n = np.minimum(full, length)
    first = panel.indptr[safe]
    kept = first + full - n
    pos = np.arange(length)[None, :]
    valid = pos < n[:, None]
    # padding reads the last real row again: times carry forward, dt/values are masked below
    src = kept[:, None] + np.minimum(pos, np.maximum(n - 1, 0)[:, None])
    src = np.where(real[:, None], src, 0)
    prev = np.where(pos > 0, src - 1, src)

    times = time_scale.offsets(panel.times[src], panel.times[first][:, None])
    times[~real] = 0.0
    dt = np.where(valid & (pos > 0), time_scale.offsets(panel.times[src], panel.times[prev]), 0)

    raw = panel.values[src]
    if scaler is not None:
        raw = scaler.transform(raw)
    mask = ~np.isnan(raw) & valid[:, :, None]
    values = np.where(mask, raw, 0.0)
    return PaddedBatch(
        values=values.astype(np.float32),
        mask=mask,
        dt=dt.astype(np.float32),
        times=times,
        valid=valid,
        lengths=n.astype(np.int64),
        series_index=idx,
    )
