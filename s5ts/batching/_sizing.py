"""What a fit sizes its batches on, of its training series' times: each series' padded
size, the median positive gap (the default horizon's floor) and the most events one
horizon holds after an event (the query slots).

`ListedSizing` reads them off the series in memory. `StreamedSizing` gathers them block
by block for a fit read chunk by chunk, in a few numbers per series: it never holds the
times themselves, which would grow with the data (one float per event).
"""

from typing import NamedTuple

import numpy as np

from ._batches import _EDGE, Layout, max_window_events


class ListedSizing(NamedTuple):
    """The training series themselves."""

    feats: list
    layout: Layout

    def sizes(self) -> np.ndarray:
        return np.asarray([self.layout.size(f, len(f.t) - 1, None, len(f.t)) for f in self.feats])

    def median_gap(self) -> float | None:
        gaps = np.concatenate([np.diff(f.t) for f in self.feats])
        return float(np.median(gaps[gaps > 0])) if (gaps > 0).any() else None

    def max_window_events(self, horizon: float) -> int:
        return max_window_events(self.feats, horizon)


class StreamedSizing:
    """The same, gathered block by block for the shared-clock layout (a series' size is
    its number of events): the event counts, a sample of the positive gaps (`gaps`,
    anything with `add((N, 1))` / `values()`, such as a reservoir) and, for k = 1 ...
    `most`, the least time any series takes for k gaps in a row. Times may be gathered
    in one unit and read in another (`rescale`)."""

    def __init__(self, gaps, most: int):
        self.gaps, self.scale = gaps, 1.0
        self.counts: list[np.ndarray] = []
        self.closest = np.full(most, np.inf)  # [k - 1]: least t[i + k] - t[i]

    def add(self, t: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> None:
        """The series `t[starts[i]:stops[i]]`, each of >= 2 ascending times."""
        lengths = np.asarray(stops) - np.asarray(starts)
        if not len(lengths):
            return
        self.counts.append(lengths.astype(np.int32))
        # Every series' times end to end, and which series each one is of.
        seg = np.repeat(np.arange(len(lengths)), lengths)
        at = np.repeat(np.asarray(starts) - (np.cumsum(lengths) - lengths), lengths)
        times = t[at + np.arange(len(seg))]
        for k in range(1, min(len(self.closest), int(lengths.max()) - 1) + 1):
            within = seg[k:] == seg[:-k]
            d = (times[k:] - times[:-k])[within]
            if k == 1:
                self.gaps.add(d[d > 0][:, None])
            self.closest[k - 1] = min(self.closest[k - 1], d.min())

    def rescale(self, factor: float) -> None:
        """Read the times gathered so far in units `factor` times smaller."""
        self.scale *= factor

    @property
    def n_series(self) -> int:
        return sum(map(len, self.counts))

    def sizes(self) -> np.ndarray:
        return np.concatenate(self.counts) if self.counts else np.zeros(0, np.int32)

    def median_gap(self) -> float | None:
        gaps = self.gaps.values()[:, 0] * self.scale
        gaps = gaps[~np.isnan(gaps)]
        return float(np.median(gaps)) if len(gaps) else None

    def max_window_events(self, horizon: float) -> int:
        """As `max_window_events` over the series, up to `most`."""
        return int((self.closest * self.scale <= horizon * (1 + _EDGE)).sum())
