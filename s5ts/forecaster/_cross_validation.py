"""Rolling-origin evaluation with cutoffs defined in time, with or without refitting.

Windows are per series: series i's last cutoff is its last time minus `h` steps of
`freq`, earlier ones `step_size` steps apart. Each window's forecasts come from the events
up to its cutoff only, through the same query path as `predict`, so a window forecast
equals `predict` on the truncated history. With refitting, window w's forecasts come from
a model fitted on every series cut at its own window-w cutoff.
"""

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..data import Panel, from_panel, make_frame
from ._checks import check_levels, check_quantiles
from ._errors import DataWarning
from ._predict import check_steps, forecast_columns, raw_step, suffixes, warn_far
from ._user_warnings import warn


_STEPS = "; h counts steps of freq, as in predict (a window spans h * freq)"


def cross_validation(
    fitted,
    runtime,
    df,
    n_windows,
    step_size,
    h,
    freq,
    static_df,
    level,
    quantiles,
    refit: Callable[[object], object] | None = None,
    long_name: str | None = None,
):
    """The frame `S5Forecaster.cross_validation` returns (arguments as documented there).

    `refit(frame)`: the FittedForecaster of a model fitted on `frame` (a window's training
    data), or None to forecast every window with `fitted`. `long_name`: the model's name
    for the long layout, or None for the wide one.
    """
    check_steps(h, hint=_STEPS)
    if not isinstance(n_windows, int | np.integer) or isinstance(n_windows, bool):
        raise TypeError(f"n_windows must be a positive int, got {n_windows!r}")
    if n_windows < 1:
        raise ValueError(f"n_windows must be a positive int, got {n_windows!r}")
    if step_size is not None:
        if not isinstance(step_size, int | np.integer) or isinstance(step_size, bool):
            raise TypeError(
                f"step_size must be a positive number of steps of freq (int), got {step_size!r}"
            )
        check_steps(step_size, "step_size")
    check_levels(level), check_quantiles(quantiles)
    panel = fitted.read(df, static_df, runtime.duplicates)
    step = raw_step(fitted.time_scale, panel, freq)
    h_raw, step_raw = h * step, (h if step_size is None else step_size) * step
    cutoffs, cuts = _cutoffs(panel, n_windows, h_raw, step_raw)
    series, window, event = _scored(panel, cutoffs, cuts, h_raw)
    if len(series) == 0:
        raise ValueError(
            f"no cross-validation window has both history and events to score (h={h!r}, "
            f"n_windows={n_windows}); use a smaller h or fewer windows"
        )
    _warn_no_history(panel, cuts, n_windows, step_size)
    cut = cuts[series, window]
    at = panel.indptr[series] + event  # the scored events' rows in the panel
    cols = {
        panel.id_col: panel.ids[series],
        panel.time_col: panel.times[at],
        "cutoff": cutoffs[series, window],
    }
    if refit is None:
        forecasts = _forecasts(fitted, runtime, panel, series, cut, event, level, quantiles)
    else:
        forecasts = {}
        for w in np.unique(window):
            rows = np.flatnonzero(window == w)
            fitted_w = refit(from_panel(_history(panel, cuts[:, w])))
            part = _forecasts(
                fitted_w, runtime, panel, series[rows], cut[rows], event[rows], level, quantiles
            )
            for name, values in part.items():
                forecasts.setdefault(name, np.empty(len(series), values.dtype))[rows] = values
    truth = panel.values[at]
    if long_name is not None:
        return _long(cols, forecasts, truth, fitted.target_cols, long_name, panel, level, quantiles)
    cols.update(forecasts)
    cols.update({f"{c}-y": truth[:, j] for j, c in enumerate(fitted.target_cols)})
    return make_frame(cols, like=panel)


def _forecasts(fitted, runtime, panel, series, cut, event, level, quantiles):
    anchor = panel.times[panel.indptr[series] + cut]
    tau = fitted.time_scale.offsets(panel.times[panel.indptr[series] + event], anchor)
    warn_far(fitted, tau)
    return forecast_columns(fitted, panel, series, cut, tau, level, quantiles, runtime.batch_size)


def _cutoffs(panel, n_windows, h_raw, step_raw):
    """(S, W) cutoff times and cutoff events (within the series; -1: no history before
    the cutoff), oldest window first."""
    cutoffs = np.empty((panel.n_series, n_windows), panel.times.dtype)
    cuts = np.empty((panel.n_series, n_windows), np.int64)
    for i in range(panel.n_series):
        t = panel.times[panel.indptr[i] : panel.indptr[i + 1]]
        for k in range(n_windows):
            cutoff = t[-1] - h_raw - (n_windows - 1 - k) * step_raw
            cutoffs[i, k] = cutoff
            cuts[i, k] = int(np.searchsorted(t, cutoff, side="right")) - 1
    return cutoffs, cuts


def _warn_no_history(panel, cuts, n_windows: int, step_size) -> None:
    """DataWarning when windows were asked for whose cutoff falls before their series'
    first event: they have no history, so they forecast nothing (a window with history
    but no event in it has nothing to score either, which is the data, not the request)."""
    # Series of one event have no window at all whatever the settings: not counted.
    early = (cuts < 0)[panel.lengths >= 2]
    if not early.any():
        return
    n_series = int(early.any(axis=1).sum())
    step = "a smaller step_size" if step_size is not None else "step_size below h"
    warn(
        f"cross_validation: {int(early.sum())} of the {early.size} windows "
        f"({n_windows} per series) start before their series' first event, so they have "
        f"no history and forecast nothing ({n_series} of {len(early)} series keep "
        f"fewer windows than asked); pass fewer n_windows, a smaller h or {step}",
        DataWarning,
    )


def _scored(panel, cutoffs, cuts, h_raw):
    """Per scored event: series, window and the event (within the series). Windows
    without history or without events are skipped."""
    series, window, event = [], [], []
    for i in range(panel.n_series):
        t = panel.times[panel.indptr[i] : panel.indptr[i + 1]]
        for k in range(cutoffs.shape[1]):
            c = cuts[i, k]
            stop = int(np.searchsorted(t, cutoffs[i, k] + h_raw, side="right"))
            if c < 0 or stop <= c + 1:
                continue
            series += [i] * (stop - c - 1)
            window += [k] * (stop - c - 1)
            event += range(c + 1, stop)
    return (np.asarray(a, np.int64) for a in (series, window, event))


def _history(panel: Panel, cuts) -> Panel:
    """Every series cut after its event `cuts[i]` (series without history left out)."""
    keep = np.flatnonzero(cuts >= 0)
    rows = np.concatenate([np.arange(panel.indptr[i], panel.indptr[i] + cuts[i] + 1) for i in keep])
    return replace(
        panel,
        ids=panel.ids[keep],
        indptr=np.concatenate([[0], np.cumsum(cuts[keep] + 1)]).astype(np.int64),
        times=panel.times[rows],
        values=panel.values[rows],
        static=None if panel.static is None else panel.static[keep],
    )


def _long(cols, forecasts, truth, targets, name, panel, level, quantiles):
    """One row per observed (series, time, variable): the keys, `variable`, `y`, and the
    forecast columns named after the model (`<name>`, `<name>-lo-80`, ...), the layout
    utilsforecast's `evaluate` and neuralforecast use."""
    row, var = np.nonzero(~np.isnan(truth))
    out = {k: v[row] for k, v in cols.items()}
    out["variable"] = np.asarray(targets, dtype=str)[var]
    out["y"] = truth[row, var]
    for suffix in suffixes(level, quantiles):
        wide = np.stack([forecasts[t + suffix] for t in targets], axis=1)
        out[name + suffix] = wide[row, var]
    return make_frame(out, like=panel)
