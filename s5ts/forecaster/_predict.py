"""Prediction: query rows -> (series, cutoff event, tau) triples -> forecast columns.

Every query becomes one slot in a fixed-shape batch (one compilation for all calls), and its
forecast depends only on its own series' history and its own time.
"""

from statistics import NormalDist

import numpy as np

from ..batching import built_ahead, history_start, plan_batches
from ..data import column_names, fmt_ids, make_frame, read_queries
from ..network import forecast
from ..training import CALIBRATION_PROBS
from ._checks import check_levels, check_quantiles
from ._errors import ExtrapolationWarning, TruncatedHistoryWarning
from ._user_warnings import warn


PREDICT_QUERIES = 32  # query slots per history in prediction batches (one fixed shape)
FAR = 2.0  # forecasts beyond FAR * horizon after the last event are warned about


def predict(fitted, runtime, df, query_df, static_df, h, freq, level, quantiles):
    """The frame `S5Forecaster.predict` returns (arguments as documented there)."""
    check_request(query_df, h, level, quantiles)
    check_query_columns(fitted, query_df)
    panel = fitted.read(df, static_df, runtime.duplicates)
    last = panel.times[panel.indptr[1:] - 1]
    series, raw = query_rows(fitted, panel, last, query_df, h, freq, "in df")
    cut = panel.lengths[series] - 1
    tau = fitted.time_scale.offsets(raw, last[series])
    warn_far(fitted, tau)
    cols = {panel.id_col: panel.ids[series], panel.time_col: raw}
    cols.update(
        forecast_columns(fitted, panel, series, cut, tau, level, quantiles, runtime.batch_size)
    )
    return make_frame(cols, like=panel)


def warn_far(fitted, tau) -> None:
    """ExtrapolationWarning if any of the offsets `tau` (model units) after a cutoff lies
    beyond FAR times the horizon the model was trained for."""
    far = tau > FAR * fitted.horizon
    if far.any():
        furthest, horizon = fitted.raw_span(tau.max()), fitted.raw_span(fitted.horizon)
        warn(ExtrapolationWarning.of(int(far.sum()), furthest, horizon))


def check_request(query_df, h, level, quantiles) -> None:
    """The argument checks every forecast starts with, before any frame is read."""
    check_levels(level), check_quantiles(quantiles)
    if query_df is not None and h is not None:
        raise ValueError("pass either query_df or h (with freq), not both")
    if query_df is None and h is None:
        raise ValueError("pass query_df (times to forecast) or h (steps of freq)")


def check_query_columns(fitted, query_df) -> None:
    """A query frame without a time column is most often something else passed second
    (`predict(df, static_df)`): say what goes where before the history is read."""
    if query_df is None:
        return
    columns = column_names(query_df, "query_df")
    if fitted.time_col not in columns:
        statics = " (static covariates go in static_df=...)" if fitted.static_cols else ""
        raise ValueError(
            f"query_df has no time column {fitted.time_col!r}; its columns are {columns}. "
            f"It holds the ({fitted.id_col!r}, {fitted.time_col!r}) rows to forecast{statics}"
        )


def query_rows(fitted, like, last, query_df, h, freq, where: str):
    """Series index and raw time (R,) of each forecast row: the rows of `query_df`, or an
    `h`-step grid of `freq` after each series' `last` time (S,) (raw). `like` gives the ids
    and time dtype; `where` says where the last times come from, for the error."""
    if query_df is not None:
        with fitted.reworded():
            series, raw = read_queries(query_df, like)
    else:
        series, raw = _grid(fitted.time_scale, like, last, h, freq)
    early = raw <= last[series]
    if early.any():
        bad = np.unique(series[early])
        raise ValueError(
            f"query times must come after each series' last observed time {where}; series "
            f"{fmt_ids(like.ids[bad])} have {int(early.sum())} query row(s) at or before "
            "it"
        )
    return series, raw


def check_steps(h, name: str = "h", hint: str = "") -> None:
    """`h` (named `name`) must count steps: a positive int; `hint` ends the message."""
    if not isinstance(h, int | np.integer) or isinstance(h, bool) or h < 1:
        raise ValueError(f"{name} must be a positive number of steps (int), got {h!r}{hint}")


def raw_step(time_scale, panel, freq):
    """One step of `freq` in raw units, of the panel's time dtype (`freq=None`: the median
    gap seen in training, the model unit)."""
    step = time_scale.unit if freq is None else time_scale.to_raw_span(freq)
    if not isinstance(step, int | float | np.number) or isinstance(step, bool):
        raise TypeError(f"freq must be a number in the data's time unit, got {freq!r}")
    if not np.isfinite(step) or step <= 0:
        raise ValueError(f"freq must be a positive span, got {freq!r}")
    if panel.time_kind.kind != "float" and step != int(step):
        raise ValueError(f"freq must be a whole number of time units, got {freq!r}")
    return np.asarray(step, dtype=panel.times.dtype)


def _grid(time_scale, panel, last, h, freq):
    check_steps(h)
    step = raw_step(time_scale, panel, freq)
    k = np.arange(1, h + 1, dtype=panel.times.dtype)
    series = np.repeat(np.arange(panel.n_series), h)
    return series, (last[:, None] + k[None, :] * step).reshape(-1)


def forecast_columns(
    fitted, panel, series, cut, tau, level, quantiles, batch_size
) -> dict[str, np.ndarray]:
    """Mean, interval and quantile columns per target for rows (series, cutoff, tau)."""
    check_levels(level), check_quantiles(quantiles)
    feats = fitted.features(panel)
    network = fitted.architecture.network
    if network.cuts_history:
        _warn_cut(fitted, panel, feats, series, cut)
    pairs = np.unique(np.stack([series, cut], axis=1), axis=0)
    most = max(
        (network.layout.size(feats[i], int(c), fitted.context, fitted.max_len) for i, c in pairs),
        default=1,
    )
    batches = plan_batches(
        feats,
        series,
        cut,
        tau,
        batch_size=batch_size,
        length=network.predict_length(most, fitted.max_len),
        n_queries=PREDICT_QUERIES,
        context=fitted.context,
        layout=network.layout,
    )
    mean, scale = forecast(fitted.model, built_ahead(batches), len(series))
    return columns_from_scaled(fitted, panel, series, mean, scale, level, quantiles)


def _warn_cut(fitted, panel, feats, series, cut) -> None:
    # The network sees at most max_len events (the longest training series): say when a
    # history is cut to fit, rather than cutting it silently.
    pairs = np.unique(np.stack([series, cut], axis=1), axis=0)
    cut_short = sorted(
        {
            int(i)
            for i, c in pairs
            if history_start(feats[i], int(c), fitted.context, fitted.max_len)
            > history_start(feats[i], int(c), fitted.context, int(c) + 2)
        }
    )
    if cut_short:
        warn(
            f"the histories of series {fmt_ids(panel.ids[cut_short])} are longer than "
            f"max_len_ = {fitted.max_len} events (the longest training series, rounded up "
            f"to a power of two): their forecasts use only the latest {fitted.max_len} "
            "events. Streaming (init_state / update / predict_from_state) uses every event.",
            TruncatedHistoryWarning,
        )


def suffixes(level, quantiles) -> list[str]:
    """What follows a target's name in its forecast columns, in order: `""` (the mean),
    `-lo-<l>` (widest first), `-hi-<l>`, `-q<q>`."""
    levels, qs = check_levels(level), check_quantiles(quantiles)
    return (
        [""]
        + [f"-lo-{_fmt(lv)}" for lv in levels[::-1]]
        + [f"-hi-{_fmt(lv)}" for lv in levels]
        + [f"-q{_fmt(q)}" for q in qs]
    )


def columns_from_scaled(fitted, panel, series, mean, scale, level, quantiles):
    """The columns of `forecast_columns` from the network's means and scales (R, C) in
    scaled units; `panel.ids[series]` names the rows' series in the finiteness error."""
    levels, qs = check_levels(level), check_quantiles(quantiles)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = fitted.scaler.inverse_transform(mean)
        sd = fitted.scaler.inverse_scale(scale)
    _check_finite(panel, series, mean, sd)
    # The probability of each column after the mean's, in `suffixes` order.
    probs = [0.5 - lv / 200 for lv in levels[::-1]]
    probs += [0.5 + lv / 200 for lv in levels] + list(qs)
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(fitted.target_cols):
        out[name] = mean[:, j]
        z = _quantiles(fitted.residual_quantiles, j, probs)
        for suffix, zk in zip(suffixes(level, quantiles)[1:], z, strict=True):
            out[name + suffix] = mean[:, j] + zk * sd[:, j]
    return out


def _quantiles(calibration: np.ndarray, j: int, probs: list[float]) -> list[float]:
    """Standardised quantiles of target `j` at `probs`: the validation residuals' (kept at
    `CALIBRATION_PROBS`), or the standard normal's without them. Beyond the kept range the
    Gaussian tail is scaled to meet the outermost kept quantile."""
    if not len(calibration):
        return [_z(p) for p in probs]
    grid, q = CALIBRATION_PROBS, calibration[j]
    out = []
    for p in probs:
        if grid[0] <= p <= grid[-1]:
            out.append(float(np.interp(p, grid, q)))
        else:
            edge = 0 if p < grid[0] else -1
            out.append(_z(p) * q[edge] / _z(grid[edge]))
    return out


def _check_finite(panel, series, mean, sd) -> None:
    # The backstop for "never a silent NaN": inputs far outside what the model was fitted
    # on can still overflow float32 inside the network.
    bad = ~(np.isfinite(mean).all(1) & np.isfinite(sd).all(1))
    if bad.any():
        raise ValueError(
            f"forecasts for series {fmt_ids(panel.ids[series[bad]])} are not finite "
            f"({int(bad.sum())} row(s)): their history or query times lie far outside the "
            "range the forecaster was fitted on; check those series' values and times"
        )


def _z(p: float) -> float:
    return NormalDist().inv_cdf(p)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
