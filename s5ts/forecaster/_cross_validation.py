"""Rolling-origin evaluation with cutoffs defined in time, without refitting.

Each window's forecasts come from the events up to its cutoff only, through the same
query path as `predict`, so a window forecast equals `predict` on the truncated history.
"""

import numpy as np

from ..data import make_frame
from ._checks import check_levels, check_quantiles
from ._predict import forecast_columns


def cross_validation(fitted, runtime, df, n_windows, step_size, h, static_df, level, quantiles):
    """The frame `S5Forecaster.cross_validation` returns (arguments as documented there)."""
    if not isinstance(n_windows, int | np.integer) or isinstance(n_windows, bool):
        raise TypeError(f"n_windows must be a positive int, got {n_windows!r}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be a positive int, got {n_windows!r}")
    check_levels(level), check_quantiles(quantiles)
    panel = fitted.read(df, static_df, runtime.duplicates)
    fitted.span(h, "h")
    h_raw = fitted.time_scale.to_raw_span(h)
    step_raw = h_raw
    if step_size is not None:
        fitted.span(step_size, "step_size")
        step_raw = fitted.time_scale.to_raw_span(step_size)
    series, cut, event, cutoff = _windows(panel, n_windows, h_raw, step_raw)
    if len(series) == 0:
        raise ValueError(
            f"no cross-validation window has both history and events to score (h={h!r}, "
            f"n_windows={n_windows}); use a smaller h or fewer windows"
        )
    event = panel.indptr[series] + event
    anchor = panel.times[panel.indptr[series] + cut]
    tau = fitted.time_scale.offsets(panel.times[event], anchor)
    cols = {
        panel.id_col: panel.ids[series],
        panel.time_col: panel.times[event],
        "cutoff": np.asarray(cutoff, panel.times.dtype),
    }
    cols.update(
        forecast_columns(fitted, panel, series, cut, tau, level, quantiles, runtime.batch_size)
    )
    cols.update({f"{c}-y": panel.values[event, j] for j, c in enumerate(fitted.target_cols)})
    return make_frame(cols, like=panel)


def _windows(panel, n_windows, h_raw, step_raw):
    """Per scored event: series, cutoff event and the event (both within the series), and
    the cutoff time. Windows without history or without events are skipped."""
    rows = {"series": [], "cut": [], "event": [], "cutoff": []}
    for i in range(panel.n_series):
        t = panel.times[panel.indptr[i] : panel.indptr[i + 1]]
        for w in range(n_windows - 1, -1, -1):
            cutoff = t[-1] - h_raw - w * step_raw
            c = int(np.searchsorted(t, cutoff, side="right")) - 1
            stop = int(np.searchsorted(t, cutoff + h_raw, side="right"))
            if c < 0 or stop <= c + 1:
                continue
            n = stop - c - 1
            rows["series"] += [i] * n
            rows["cut"] += [c] * n
            rows["event"] += list(range(c + 1, stop))
            rows["cutoff"] += [cutoff] * n
    return (
        np.asarray(rows["series"], np.int64),
        np.asarray(rows["cut"], np.int64),
        np.asarray(rows["event"], np.int64),
        rows["cutoff"],
    )
