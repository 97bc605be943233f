"""The in-memory form of a long frame: grouped numpy arrays plus what is needed to go back."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ._timekind import DtypeSpec, TimeKind


@dataclass(frozen=True, eq=False)
class Panel:
    """S series of irregular multivariate events, rows sorted by (id, time).

    Series `i` owns rows `indptr[i]:indptr[i + 1]`. Every row has at least one observed value.
    Usually built by `to_panel`; the arguments are also the fields.

    **Arguments:**

    - `ids`: `(S,)` original id values, sorted.
    - `indptr`: `(S + 1,)` int64 row offsets.
    - `times`: `(N,)` raw times: int64 ns for datetimes/durations, else int64 or float64.
    - `values`: `(N, C)` float64, NaN where not observed.
    - `target_cols`: `(C,)` target names.
    - `time_kind`: the `TimeKind` of the time column, to rebuild it exactly.
    - `static`: `(S, K)` float64 static covariates, or `None` (default).
    - `static_cols`: `(K,)` static covariate names (default `()`).
    - `id_col`, `time_col`: column names in the caller's frame (default `"unique_id"`,
      `"ds"`).
    - `id_dtype`: the `DtypeSpec` of the id column (default `String`).
    - `backend`: narwhals backend name of the caller's frame (`"pandas"` (default),
      `"polars"`, ...).
    """

    ids: np.ndarray
    indptr: np.ndarray
    times: np.ndarray
    values: np.ndarray
    target_cols: tuple[str, ...]
    time_kind: TimeKind
    static: np.ndarray | None = None
    static_cols: tuple[str, ...] = ()
    id_col: str = "unique_id"
    time_col: str = "ds"
    id_dtype: DtypeSpec = field(default_factory=lambda: DtypeSpec("String"))
    backend: str = "pandas"

    def __repr__(self) -> str:
        k = self.time_kind
        when = ", ".join(str(x) for x in (k.dtype.name, k.dtype.time_unit, k.time_zone) if x)
        return (
            f"Panel(n_series={self.n_series}, n_events={self.n_events}, "
            f"targets={list(self.target_cols)}, time={k.kind} [{when}], "
            f"static={list(self.static_cols)}, backend={self.backend!r})"
        )

    @property
    def n_series(self) -> int:
        """S, the number of series."""
        return len(self.ids)

    @property
    def n_events(self) -> int:
        """N, the number of events (rows)."""
        return len(self.times)

    @property
    def lengths(self) -> np.ndarray:
        """(S,) int64 number of events per series."""
        return np.diff(self.indptr)

    @property
    def observed(self) -> np.ndarray:
        """(N, C) bool observed-mask."""
        return ~np.isnan(self.values)

    @property
    def series_of_row(self) -> np.ndarray:
        """(N,) int64 series index of each row."""
        return np.repeat(np.arange(self.n_series, dtype=np.int64), self.lengths)

    def index_of(self, ids: object) -> np.ndarray:
        """Series indices of the given ids.

        **Arguments:**

        - `ids`: one id or an array-like of ids; a `KeyError` names those not in the panel.

        **Returns:**

        `(n,)` int64 series indices, in the order of `ids`.
        """
        wanted = np.asarray(ids, dtype=self.ids.dtype).reshape(-1)
        pos = np.searchsorted(self.ids, wanted).clip(0, max(self.n_series - 1, 0))
        found = (self.n_series > 0) & (self.ids[pos] == wanted)
        if not np.all(found):
            from ._messages import fmt_ids

            raise KeyError(f"unknown series ids {fmt_ids(wanted[~found])}")
        return pos.astype(np.int64)

    def subset(self, series_index: "np.ndarray | Sequence[int]") -> "Panel":
        """The panel restricted to some series, e.g. a validation split.

        **Arguments:**

        - `series_index`: the series indices to keep (order and repeats do not matter).

        **Returns:**

        A new `Panel` of those series, kept in id order.
        """
        keep = np.unique(np.asarray(series_index, dtype=np.int64))
        starts, stops = self.indptr[keep], self.indptr[keep + 1]
        rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops, strict=True)])
        rows = rows.astype(np.int64) if len(rows) else np.zeros(0, np.int64)
        indptr = np.concatenate([[0], np.cumsum(stops - starts)]).astype(np.int64)
        return replace(
            self,
            ids=self.ids[keep],
            indptr=indptr,
            times=self.times[rows],
            values=self.values[rows],
            static=None if self.static is None else self.static[keep],
        )


@dataclass
class ConversionReport:
    """What `to_panel` did to the frame: nothing is dropped or merged without a count here.

    Built by `to_panel`; `str(report)` describes it. The arguments are also the fields.

    **Arguments:**

    - `layout`: `"wide"` or `"tidy"`.
    - `n_input_rows`, `n_series`, `n_events`, `n_observations`: the frame's rows, and the
      panel's series, events and observed values.
    - `was_sorted`: whether the input was already sorted by (id, time).
    - `duplicates`: the duplicates rule used (`"raise"`, `"mean"`, `"last"`).
    - `n_duplicate_rows`: input rows (wide) or cells (tidy) sharing a key with another.
    - `n_merged`: rows/cells folded into another by the duplicates rule.
    - `n_empty_rows_dropped`: rows with no observed target, dropped.
    - `n_null_values`: tidy rows whose value was null/NaN (= not observed).
    - `n_other_variable_rows`: tidy rows whose variable is not a target.
    - `other_variables`: those variables' names.
    - `ignored_columns`: columns of the frame not used.
    - `observations_per_target`: `{target: number of observed values}`.
    - `static_cols`: the static covariates' names.
    - `n_static_rows_unused`: `static_df` rows of series that are not in the data.
    """

    layout: str = "wide"
    n_input_rows: int = 0
    n_series: int = 0
    n_events: int = 0
    n_observations: int = 0
    was_sorted: bool = True
    duplicates: str = "raise"
    n_duplicate_rows: int = 0  # input rows (wide) or cells (tidy) sharing a key with another
    n_merged: int = 0  # rows/cells folded into another by the duplicates rule
    n_empty_rows_dropped: int = 0  # events with no observed target
    n_null_values: int = 0  # tidy rows whose value was null/NaN (= not observed)
    n_other_variable_rows: int = 0  # tidy rows whose variable is not a target
    other_variables: tuple[str, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    observations_per_target: dict[str, int] = field(default_factory=dict)
    static_cols: tuple[str, ...] = ()
    n_static_rows_unused: int = 0  # static_df rows of series that are not in the data

    def excluded(self) -> list[str]:
        """What of the input does not reach the model.

        Not listed: sorting (loses nothing), columns outside `target_cols` (the caller's
        own choice) and static_df rows of other series (one static table may serve many
        frames); `str(report)` has those too.

        **Returns:**

        One phrase per kind of exclusion; empty when nothing was excluded.
        """
        out = []
        if self.n_empty_rows_dropped:
            out.append(f"{self.n_empty_rows_dropped} row(s) with no observed target")
        if self.n_merged:
            out.append(f"{self.n_merged} duplicate row(s) merged by duplicates={self.duplicates!r}")
        if self.n_other_variable_rows:
            out.append(
                f"{self.n_other_variable_rows} row(s) of variables that are not targets "
                f"{list(self.other_variables)}"
            )
        return out

    def __str__(self) -> str:
        lines = [
            f"ConversionReport ({self.layout} layout): {self.n_input_rows} input rows -> "
            f"{self.n_series} series, {self.n_events} events, {self.n_observations} observations",
            "  input was sorted by (id, time)"
            if self.was_sorted
            else "  input was not sorted by (id, time): rows were sorted",
        ]
        if self.n_duplicate_rows:
            unit = "rows" if self.layout == "wide" else "cells"
            lines.append(
                f"  {self.n_duplicate_rows} duplicate {unit} aggregated with "
                f"duplicates={self.duplicates!r} ({self.n_merged} merged away)"
            )
        if self.n_empty_rows_dropped:
            lines.append(f"  {self.n_empty_rows_dropped} rows with no observed target dropped")
        if self.n_null_values:
            lines.append(f"  {self.n_null_values} rows with a null value (not observed) skipped")
        if self.n_other_variable_rows:
            lines.append(
                f"  {self.n_other_variable_rows} rows of non-target variables excluded: "
                f"{list(self.other_variables)}"
            )
        if self.ignored_columns:
            lines.append(f"  columns not used: {list(self.ignored_columns)}")
        empty = [k for k, v in self.observations_per_target.items() if v == 0]
        if empty:
            lines.append(f"  targets with no observation: {empty}")
        if self.static_cols:
            lines.append(f"  static covariates: {list(self.static_cols)}")
        if self.n_static_rows_unused:
            lines.append(f"  {self.n_static_rows_unused} static_df rows of other series not used")
        return "\n".join(lines)
