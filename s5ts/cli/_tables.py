"""CSV / Parquet files for the command line: lazy scans, and writers that append chunks.

The format follows the extension. Outputs are written to a temporary file next to the
target and renamed into place when complete, so a failed run leaves no partial file.
"""

import os
import re
from pathlib import Path

import polars as pl

from ._wording import first_line


PARQUET = (".parquet", ".pq")
CSV = (".csv",)
# CSV key columns (id, time) are inferred from this many rows; the numeric columns are
# parsed as numbers whatever their first rows hold.
_INFER_ROWS = 10_000
# How a CSV may write a missing number (compared case-insensitively, after stripping).
NULL_WORDS = ("", "na", "n/a", "nan", "null", "none")
_ROW = "__s5ts_row"
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")
_DATE_LIKE = r"^\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?"  # what a date starts with, for messages


def file_format(path, what: str = "file") -> str:
    suffix = Path(path).suffix.lower()
    if suffix in PARQUET:
        return "parquet"
    if suffix in CSV:
        return "csv"
    raise ValueError(f"{what} {str(path)!r} must end in .csv, .parquet or .pq")


def check_input(path, what: str = "file") -> None:
    """A known extension and an existing file, before anything is read."""
    file_format(path, what)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")


class Table:
    """One input file as a lazy scan (nothing is read until `collect`).

    The first key (the id) is read as text, integer ids of a Parquet file included. Other
    Parquet columns keep their types. A CSV's time is inferred and its `numeric` columns
    (None: every column but the keys) are parsed as Float64, with `NULL_WORDS` as missing
    values, so a column empty in its first rows or holding `NA` reads as numbers, and a
    value that is not a number is an error naming the file, column, line and value
    (`role`: what those columns are; `hint`: a fix to add).
    """

    def __init__(
        self,
        path,
        what: str = "file",
        *,
        keys=(),
        numeric=None,
        role="targets",
        hint=None,
        times=True,
    ):
        check_input(path, what)
        self.path, self.role, self.hint = str(path), role, hint
        # The time key, checked to read as times (`times=False`: a key only, as to evaluate)
        self.time_col = keys[1] if len(keys) > 1 and times else None
        # Ids are labels, text in every file: as integers a CSV's "010" and "10" would be
        # one series, and one file's integer ids would not match another's text ones.
        parquet = self.parquet = file_format(path, what) == "parquet"
        self.columns = _parquet_columns(self.path) if parquet else _csv_columns(self.path)
        ids = [keys[0]] if keys and keys[0] in self.columns else []
        if parquet:
            self.numeric: tuple[str, ...] = ()
            # pandas' row index, stored as a column when it is not a plain range; pandas
            # reads it back as the index, not as data, and so does the command line.
            index = [c for c in self.columns if _PANDAS_INDEX.fullmatch(c)]
            self.columns = [c for c in self.columns if c not in index]
            self.lf = pl.scan_parquet(path).drop(index)
            schema = self.lf.collect_schema()
            integer = [c for c in ids if schema[c].is_integer()]
            self.lf = self.lf.with_columns(pl.col(c).cast(pl.String) for c in integer)
            if len(keys) > 1 and schema.get(keys[1]) == pl.String:
                self.lf = self.lf.with_columns(_parsed_times(self.lf, keys[1]))
            return
        others = [c for c in self.columns if c not in keys]
        if any(k not in self.columns for k in keys):
            others = []  # a misnamed key: leave every column as it is for that error
        self.numeric = tuple(others if numeric is None else [c for c in numeric if c in others])
        self.lf = pl.scan_csv(
            path,
            try_parse_dates=True,
            infer_schema_length=_INFER_ROWS,
            schema_overrides={c: pl.String for c in (*ids, *self.numeric)},
        ).with_columns(_number(c, strict=True) for c in self.numeric)

    def require(self, cols, what: str) -> None:
        missing = [c for c in cols if c not in self.columns]
        if missing:
            raise ValueError(f"{what} has no column(s) {missing}; its columns are {self.columns}")

    def collect(self, query: pl.LazyFrame | None = None, **kwargs) -> pl.DataFrame:
        """Collect `query` (a query on `self.lf`; default the whole file)."""
        try:
            out = (self.lf if query is None else query).collect(**kwargs)
        except pl.exceptions.InvalidOperationError:
            bad = self.first_bad_number()
            if bad is None:
                raise
            raise ValueError(bad) from None
        if out.schema.get(self.time_col) == pl.String:
            self._refuse_text_times(out[self.time_col], whole=query is None)
        return out

    def check_times(self) -> None:
        """Raise the command line's error for a time column read as text, without
        collecting the file: for a fit that reads it in chunks (`--chunk-size`). Only the
        time column is read, and only when it is text, which the fit would refuse."""
        if self.time_col is None or self.lf.collect_schema().get(self.time_col) != pl.String:
            return
        times = self.lf.select(self.time_col).collect(engine="streaming")[self.time_col]
        self._refuse_text_times(times, whole=True)

    def _refuse_text_times(self, times: pl.Series, whole: bool) -> None:
        """ValueError saying what is wrong with a time column read as text: its first
        value that is neither a number nor a date (its line when the `whole` file was
        read), numbers stored as text, or a mix. Nothing when it holds no time at all (the
        library says so)."""
        text = times.str.strip_chars()
        given = text.is_not_null() & (text != "")
        if not given.any():
            return
        number = text.cast(pl.Float64, strict=False).is_not_null()
        neither = given & ~number & ~text.str.contains(_DATE_LIKE)
        fix = "write every time as a number or as an ISO 8601 date/time (2026-12-03 10:00:00)"
        head = f"{self.path}: time column {self.time_col!r}"
        if neither.any():
            i = int(neither.arg_max())
            where = (f" row {i}" if self.parquet else f" line {i + 2}") if whole else ""
            raise ValueError(
                f"{head}{where} has {times[i]!r}, neither a number nor a date/time; {fix}"
            )
        if number.filter(given).all():
            raise ValueError(f"{head} holds numbers stored as text; store them as numbers")
        example = times.filter(given)[0]
        raise ValueError(
            f"{head} could not be read as one kind of time (e.g. {example!r}): it mixes "
            f"numbers and dates, or writes dates in a format that is not recognised; {fix}"
        )

    def first_bad_number(self) -> str | None:
        # Only on failure: one more streaming pass over the raw text to find the culprit.
        if not self.numeric:  # Parquet: its columns keep their types
            return None
        raw = pl.scan_csv(self.path, infer_schema=False, row_index_name=_ROW)
        firsts = raw.select(
            pl.struct(pl.col(_ROW), pl.col(c).alias("value"))
            .filter(_number(c).is_null() & ~_missing(c))
            .first()
            .alias(c)
            for c in self.numeric
        ).collect(engine="streaming")
        found = [(hit[_ROW], c, hit["value"]) for c in self.numeric if (hit := firsts[c][0])]
        if not found:
            return None
        row, col, value = min(found)
        # line numbers count the header as line 1 (a field with a newline would shift them)
        hint = "" if self.hint is None else f"; {self.hint}"
        return (
            f"{self.path}: column {col!r} line {row + 2} has {value!r}, not a number; "
            f"{self.role} must be numeric (write missing values as empty, NA or NaN{hint})"
        )


def _parsed_times(lf: pl.LazyFrame, col: str) -> pl.Expr:
    """Text times of a Parquet file parsed as a CSV's are, when its first rows read as
    datetimes; else left as text, for the error that says what the column holds."""
    parsed = pl.col(col).str.strip_chars().str.to_datetime(strict=True)
    try:
        lf.select(parsed).head(_INFER_ROWS).collect()
    except pl.exceptions.PolarsError:
        return pl.col(col)
    return parsed


def _missing(col: str) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    return text.is_null() | text.str.to_lowercase().is_in(NULL_WORDS)


def _number(col: str, strict: bool = False) -> pl.Expr:
    text = pl.col(col).str.strip_chars()
    number = pl.when(_missing(col)).then(None).otherwise(text)
    return number.cast(pl.Float64, strict=strict).alias(col)


def _parquet_columns(path: str) -> list[str]:
    try:
        return list(pl.read_parquet_schema(path))
    except (pl.exceptions.PolarsError, OSError) as err:
        raise ValueError(f"{path} is not a Parquet file: {first_line(err)}") from None


def _csv_columns(path: str) -> list[str]:
    try:
        return pl.scan_csv(path, infer_schema=False).collect_schema().names()
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a readable CSV file: {first_line(err)}") from None


def read(path, what: str = "file", **kwargs) -> pl.DataFrame:
    """The whole file; `kwargs` as for `Table`."""
    return Table(path, what, **kwargs).collect()


class ChunkWriter:
    """Append frames with one schema to a CSV or Parquet file; `close()` publishes it."""

    def __init__(self, path):
        self.path = Path(path)
        self.format = file_format(path, "output")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._parquet = None
        self._csv = None
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if self.format == "parquet":
            import pyarrow.parquet as pq

            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.tmp, table.schema)
            self._parquet.write_table(table)
        else:
            if self._csv is None:
                self._csv = open(self.tmp, "w", newline="")  # noqa: SIM115 - closed in close()
                frame.write_csv(self._csv)
            else:
                frame.write_csv(self._csv, include_header=False)
        self.rows += len(frame)

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        for handle in (self._parquet, self._csv):
            if handle is not None:
                handle.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.abort()


class NullWriter:
    """Counts rows but writes nothing."""

    rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        self.rows += len(frame)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        pass
