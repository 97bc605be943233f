"""CSV / Parquet files for the command line: lazy scans, and writers that append chunks.

The format follows the extension. Outputs are written to a temporary file next to the
target and renamed into place when complete, so a failed run leaves no partial file.
"""

import os
from pathlib import Path

import polars as pl


PARQUET = (".parquet", ".pq")
CSV = (".csv",)
# CSV dtypes are inferred from this many rows; a column whose first rows are all empty
# would otherwise be read as strings.
_INFER_ROWS = 10_000


def file_format(path, what: str = "file") -> str:
    suffix = Path(path).suffix.lower()
    if suffix in PARQUET:
        return "parquet"
    if suffix in CSV:
        return "csv"
    raise ValueError(f"{what} {str(path)!r} must end in .csv, .parquet or .pq")


def scan(path, what: str = "file") -> pl.LazyFrame:
    """A lazy frame over a CSV or Parquet file (nothing is read yet)."""
    fmt = file_format(path, what)
    if not Path(path).is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    if fmt == "parquet":
        return pl.scan_parquet(path)
    return pl.scan_csv(path, try_parse_dates=True, infer_schema_length=_INFER_ROWS)


def read(path, what: str = "file") -> pl.DataFrame:
    return scan(path, what).collect()


def require(lf: pl.LazyFrame, cols, what: str) -> None:
    names = lf.collect_schema().names()
    missing = [c for c in cols if c not in names]
    if missing:
        raise ValueError(f"{what} has no column(s) {missing}; its columns are {names}")


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
