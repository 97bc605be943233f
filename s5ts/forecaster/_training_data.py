"""What a fit trains on, however it was read (all in memory, or chunk by chunk), and the
reading steps both ways share."""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..batching import ListedSizing, StreamedSizing
from ..data import ConversionReport, Panel, Scaler, TimeScale, read_panel, with_time_kind
from ._errors import DataWarning
from ._user_warnings import warn


@dataclass
class TrainingData:
    """What `fit` trains on, however it was read: the names and kinds of the data (a
    value-less panel), the fitted scalings, and the series themselves, or a way to draw
    batches from series read chunk by chunk."""

    panel: Panel  # names and kinds; no values
    report: ConversionReport
    time_scale: TimeScale
    scaler: Scaler
    static_mean: np.ndarray
    static_std: np.ndarray
    bounds: np.ndarray
    train_feats: list  # every training series (in memory), or the first chunk's
    # What the batch shapes are sized on: `ListedSizing` of every training series (in
    # memory) or `StreamedSizing` (chunked: a few numbers per series, not its times).
    sizing: "ListedSizing | StreamedSizing"
    spans: np.ndarray  # every series' span, held-out ones too (model units)
    val_series: list | None
    rng: np.random.Generator  # the sampler's random stream (after the split)
    sampler: Callable | None = None  # chunked: `(rng, **batch options) -> draw`
    fit_id: str | None = None  # fingerprint for a checkpoint
    # Cross-fitting: (training series, held-out series) of each fold's network, the
    # first of them also in `train_feats` / `val_series`; None: one network.
    folds: list[tuple[list, list]] | None = None


def warn_excluded(report) -> None:
    if report.excluded():
        warn(
            "fit: reading df left out " + "; ".join(report.excluded()) + " (see report_)",
            DataWarning,
        )


def read_val_panel(val_df, static_df, panel, duplicates, names):
    """`val_df` as a panel of the training data's targets and time kind."""
    val_panel, _ = read_panel(
        val_df, static_df, duplicates=duplicates, **(names | {"target_cols": panel.target_cols})
    )
    return with_time_kind(val_panel, panel.time_kind, "val_df", "df has")


def without_values(panel):
    """The panel's names and kinds, without its (large) times and values."""
    # Copies, not views: a view of zero rows would keep the whole buffer alive.
    empty = {"times": panel.times[:0].copy(), "values": panel.values[:0].copy()}
    return dataclasses.replace(panel, static=None, **empty)
