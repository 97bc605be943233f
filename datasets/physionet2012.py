"""PhysioNet/CinC Challenge 2012 -> the s5ts long format.

Input: a folder holding ``set-a.tar.gz`` / ``set-b.tar.gz`` / ``set-c.tar.gz`` (read in
place with :mod:`tarfile`, nothing is extracted), or extracted ``set-X/`` folders of
``<RecordID>.txt`` records, or a folder of ``*.txt`` records directly; plus the optional
``Outcomes-X.txt`` files. Each record is a CSV ``Time,Parameter,Value`` with ``Time`` as
``HH:MM`` since ICU admission (00:00 to 48:00).

Output ``(df, static_df)``:

- ``df``: one row per (stay, observation minute) with ``unique_id`` (RecordID, int64),
  ``ds`` (float hours since admission, ``HH + MM/60``) and one float64 column per
  time-series variable in :data:`VARIABLES` (the 37 forecast targets of the t-PatchGNN
  protocol: 36 time series plus Weight), NaN where not observed. Sorted by
  (``unique_id``, ``ds``).
- ``static_df``: one row per stay: ``unique_id``, ``set`` ("a"/"b"/"c", or "" for a bare
  folder of records), the descriptors Age, Gender, Height, ICUType, Weight (float64), and
  the outcome columns (``SAPS-I``, ``SOFA``, ``Length_of_stay``, ``Survival``,
  ``In-hospital_death``) when the ``Outcomes-X.txt`` files are present.

The defaults reproduce the t-PatchGNN / Latent-ODE loader, which is what the published
PhysioNet numbers were computed on. Quirks, each counted in :class:`Report`:

1. Descriptors. The 00:00 lines RecordID, Age, Gender, Height, ICUType, Weight go to
   ``static_df`` (the first occurrence; a later one is counted as ``descriptor_repeats``).
   The Weight descriptor shares its channel with the Weight time series in the protocol,
   so it is *also* a Weight observation at ``ds = 0`` (``weight_at_admission=True``); the
   other descriptors never appear in ``df``. RecordID is read from the record's own line
   (the file name is the fallback, ``missing_record_id``).
2. ``-1`` placeholders mean "missing" (Height in 5,726 stays, Weight 1,001, Gender 12, and
   also 224 invasive/non-invasive diastolic BPs). The protocol keeps them as values (they
   set the min-max range), so ``placeholders="keep"`` is the default; ``"nan"`` drops them.
3. Empty parameter names (``10:45,,1.9``; 2,403 lines in set C) are skipped, as every
   published loader does (``empty_parameter``). Unknown names are skipped and counted.
4. Same-(time, variable) duplicates are averaged, as t-PatchGNN does
   (``duplicates="mean"``; "first"/"last" on request). Almost all are Urine (an output
   volume, where a sum would be the physical reading) and MAP.
5. Non-physiologic values (pH 735, Temp -17.8 C, Weight 0) are kept by the protocol;
   values outside :data:`PLAUSIBLE_RANGES` are always counted (``implausible``) and
   dropped with ``implausible="nan"``.
6. Time-series lines at 00:00 are ordinary observations at ``ds = 0``.

Counts: ``Report.raw_counts`` (lines per parameter, duplicates not merged, the Weight
descriptor included) equals ``n_obs`` of ``variable_irregularity_stats.csv``; the
non-NaN counts of ``df`` (after merging duplicates) equal ``count`` of
``variable_value_ranges.csv``.

Run as a script to write Parquet or CSV::

    python datasets/physionet2012.py DATA_DIR --out OUT_DIR [--format csv]
"""

from __future__ import annotations

import argparse
import io
import logging
import tarfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd


logger = logging.getLogger(__name__)

DESCRIPTORS = ("Age", "Gender", "Height", "ICUType", "Weight")
# Order of the t-PatchGNN parameter list, with Weight (a descriptor there) last.
VARIABLES = (
    "Albumin", "ALP", "ALT", "AST", "Bilirubin", "BUN", "Cholesterol", "Creatinine",
    "DiasABP", "FiO2", "GCS", "Glucose", "HCO3", "HCT", "HR", "K", "Lactate", "Mg", "MAP",
    "MechVent", "Na", "NIDiasABP", "NIMAP", "NISysABP", "PaCO2", "PaO2", "pH", "Platelets",
    "RespRate", "SaO2", "SysABP", "Temp", "TroponinI", "TroponinT", "Urine", "WBC", "Weight",
)  # fmt: skip
# Wide bounds that only catch entry/unit errors; clinically extreme values stay.
PLAUSIBLE_RANGES = {
    "DiasABP": (1.0, 300.0), "NIDiasABP": (1.0, 300.0), "SysABP": (1.0, 300.0),
    "NISysABP": (1.0, 300.0), "MAP": (1.0, 300.0), "NIMAP": (1.0, 300.0),
    "HR": (1.0, 300.0), "Temp": (20.0, 45.0), "pH": (6.0, 8.5), "Weight": (10.0, 400.0),
    "PaO2": (1.0, 800.0), "PaCO2": (1.0, 200.0), "SaO2": (20.0, 100.0),
    "RespRate": (1.0, 100.0), "FiO2": (0.21, 1.0),
}  # fmt: skip
OUTCOMES = ("SAPS-I", "SOFA", "Length_of_stay", "Survival", "In-hospital_death")
_HEADER = b"Time,Parameter,Value"
_MINUTES = 48 * 60 + 1  # minutes 0..2880 inclusive


@dataclass
class Report:
    """What the conversion did; every quirk has a counter (see the module docstring)."""

    n_records: int = 0
    n_lines: int = 0
    raw_counts: Counter = field(default_factory=Counter)
    empty_parameter: int = 0
    unknown_parameter: Counter = field(default_factory=Counter)
    missing_record_id: int = 0
    record_id_mismatch: int = 0
    descriptor_repeats: int = 0
    placeholders: Counter = field(default_factory=Counter)
    implausible: Counter = field(default_factory=Counter)
    duplicates_merged: Counter = field(default_factory=Counter)
    series_at_zero: int = 0
    records_without_observations: int = 0

    def summary(self) -> str:
        """A few lines for logs."""
        return (
            f"{self.n_records} records, {self.n_lines} lines; skipped: "
            f"{self.empty_parameter} empty-name, {sum(self.unknown_parameter.values())} "
            f"unknown-name; -1 placeholders {dict(self.placeholders)}; implausible "
            f"{sum(self.implausible.values())}; duplicates merged "
            f"{sum(self.duplicates_merged.values())}; series lines at 00:00 "
            f"{self.series_at_zero}; records without observations "
            f"{self.records_without_observations}"
        )


def _iter_records(path: Path, sets):
    """Yield (set, name, bytes) for every record found under ``path``."""
    found = False
    for s in sets:
        tar, folder = path / f"set-{s}.tar.gz", path / f"set-{s}"
        if tar.is_file():
            found = True
            with tarfile.open(tar) as tf:
                for m in tf:
                    if m.isfile() and m.name.endswith(".txt"):
                        yield s, Path(m.name).name, tf.extractfile(m).read()
        elif folder.is_dir():
            found = True
            for f in sorted(folder.glob("*.txt")):
                yield s, f.name, f.read_bytes()
    if not found:  # a bare folder of records
        for f in sorted(path.glob("*.txt")):
            if not f.name.startswith("Outcomes"):
                found = True
                yield "", f.name, f.read_bytes()
    if not found:
        raise FileNotFoundError(
            f"no PhysioNet 2012 records (set-X.tar.gz, set-X/, *.txt) in {path}"
        )


def _read_lines(path: Path, sets, report: Report):
    """Concatenate all records into one parsed table plus a per-line record index."""
    chunks, counts, names, set_of = [], [], [], []
    for s, name, data in _iter_records(path, sets):
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        head, _, body = data.partition(b"\n")
        if not head.startswith(_HEADER):
            raise ValueError(f"{name}: expected header {_HEADER.decode()!r}, got {head[:40]!r}")
        if not body.endswith(b"\n"):
            body += b"\n"
        if b"\n\n" in body or body.startswith(b"\n"):  # rare: drop blank lines
            body = b"".join(ln + b"\n" for ln in body.split(b"\n") if ln.strip())
        chunks.append(body)
        counts.append(body.count(b"\n"))
        names.append(name)
        set_of.append(s)
    # One C-level parse for everything: "HH:MM" becomes two integer fields.
    blob = b"".join(chunks).replace(b":", b",")
    if not blob:
        raise ValueError(f"the records under {path} hold no data lines")
    table = pd.read_csv(
        io.BytesIO(blob),
        header=None,
        names=["h", "m", "param", "value"],
        dtype={"h": np.int64, "m": np.int64, "param": "category", "value": np.float64},
        skip_blank_lines=False,
        engine="c",
    )
    if len(table) != sum(counts):
        raise ValueError("record lines and parsed rows disagree (malformed line?)")
    rec = np.repeat(np.arange(len(counts)), counts)
    report.n_records, report.n_lines = len(counts), len(table)
    return table, rec, names, set_of


def _record_ids(table, rec, names, report: Report) -> np.ndarray:
    """RecordID per record: its own RecordID line, else the file name's stem."""
    fallback = np.array([int(Path(n).stem) if Path(n).stem.isdigit() else -1 for n in names])
    ids = fallback.copy()
    is_id = (table["param"] == "RecordID").to_numpy()
    first = pd.Series(table["value"].to_numpy()[is_id]).groupby(rec[is_id]).first()
    ids[first.index.to_numpy()] = first.to_numpy().astype(np.int64)
    has = np.zeros(len(names), bool)
    has[first.index.to_numpy()] = True
    report.missing_record_id = int((~has).sum())
    report.record_id_mismatch = int((has & (fallback >= 0) & (ids != fallback)).sum())
    if len(np.unique(ids)) != len(ids) or (ids < 0).any():
        raise ValueError("RecordIDs are missing or repeated across records")
    return ids


def _merge(cell: np.ndarray, value: np.ndarray, how: str):
    """Collapse repeated cell keys into one value each; returns sorted unique keys."""
    order = np.argsort(cell, kind="stable")  # stable: "first"/"last" follow file order
    cell, value = cell[order], value[order]
    start = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    n = np.diff(np.r_[start, len(cell)])
    if how == "mean":
        merged = np.add.reduceat(value, start) / n if len(cell) else value
    elif how == "first":
        merged = value[start]
    elif how == "last":
        merged = value[start + n - 1]
    else:
        raise ValueError(f"duplicates must be 'mean', 'first' or 'last', got {how!r}")
    return cell[start], merged, n


def load_physionet2012(
    path,
    sets=("a", "b", "c"),
    *,
    placeholders: Literal["keep", "nan"] = "keep",
    implausible: Literal["keep", "nan"] = "keep",
    duplicates: Literal["mean", "first", "last"] = "mean",
    weight_at_admission: bool = True,
    frame: Literal["pandas", "polars"] = "pandas",
    return_report: bool = False,
):
    """Load the PhysioNet 2012 records as ``(df, static_df)`` (``+ report`` on request).

    The defaults follow the t-PatchGNN protocol; see the module docstring for the
    layout and every quirk. ``frame="polars"`` returns polars DataFrames (NaN becomes
    null there).
    """
    if placeholders not in ("keep", "nan") or implausible not in ("keep", "nan"):
        raise ValueError("placeholders and implausible must be 'keep' or 'nan'")
    if frame not in ("pandas", "polars"):
        raise ValueError(f"frame must be 'pandas' or 'polars', got {frame!r}")
    path, report = Path(path), Report()
    table, rec, names, set_of = _read_lines(path, sets, report)
    ids = _record_ids(table, rec, names, report)

    param = table["param"]
    cats = list(param.cat.categories)
    codes = param.cat.codes.to_numpy()
    report.empty_parameter = int((codes < 0).sum())  # empty name parses as NaN
    per_cat = np.bincount(codes[codes >= 0], minlength=len(cats))
    report.raw_counts = Counter(dict(zip(cats, per_cat.tolist(), strict=True)))
    minute = table["h"].to_numpy() * 60 + table["m"].to_numpy()
    value = table["value"].to_numpy()
    if ((minute < 0) | (minute >= _MINUTES)).any():
        raise ValueError("observation times outside 00:00..48:00")

    # Map each line to a variable index (-1: not a series line).
    var_of_cat = np.array([VARIABLES.index(c) if c in VARIABLES else -1 for c in cats] + [-1])
    var = var_of_cat[codes]  # code -1 picks the trailing -1
    known = set(VARIABLES) | set(DESCRIPTORS) | {"RecordID"}
    report.unknown_parameter = Counter(
        {c: report.raw_counts[c] for c in cats if c not in known and report.raw_counts[c]}
    )

    # Descriptors: first 00:00 line of each per record.
    static = {"unique_id": ids, "set": np.array(set_of, dtype=object)}
    weight_desc = np.zeros(len(table), bool)
    for d in DESCRIPTORS:
        code = cats.index(d) if d in cats else -2
        rows = np.flatnonzero((codes == code) & (minute == 0))
        recs, first_pos = np.unique(rec[rows], return_index=True)
        report.descriptor_repeats += len(rows) - len(recs)
        col = np.full(len(names), np.nan)
        col[recs] = value[rows[first_pos]]
        report.placeholders[d] += int((col == -1).sum())
        if placeholders == "nan":
            col[col == -1] = np.nan
        static[d] = col
        if d == "Weight":
            weight_desc[rows[first_pos]] = True
    if not weight_at_admission:
        var = np.where(weight_desc, -1, var)

    # Series lines: placeholders, implausible values, then duplicate merging.
    keep = var >= 0
    report.series_at_zero = int((keep & (minute == 0) & ~weight_desc).sum())
    is_ph = keep & (value == -1) & ~weight_desc  # the descriptor was counted above
    for j, n in zip(*np.unique(var[is_ph], return_counts=True), strict=True):
        report.placeholders[VARIABLES[j]] += int(n)
    if placeholders == "nan":
        keep &= value != -1
    for name, (lo, hi) in PLAUSIBLE_RANGES.items():
        bad = keep & (var == VARIABLES.index(name)) & ((value < lo) | (value > hi))
        if placeholders == "keep":
            bad &= value != -1  # a placeholder is not a measurement error
        if bad.any():
            report.implausible[name] = int(bad.sum())
            if implausible == "nan":
                keep &= ~bad
    nv = len(VARIABLES)
    # Keys by RecordID rank, so that sorted keys are already in (unique_id, ds) order.
    rank = np.empty(len(ids), np.int64)
    rank[np.argsort(ids)] = np.arange(len(ids))
    row_key = rank[rec[keep]] * _MINUTES + minute[keep]
    cells, merged, n = _merge(row_key * nv + var[keep], value[keep], duplicates)
    extra = np.bincount(cells % nv, weights=n - 1, minlength=nv)
    report.duplicates_merged = Counter({VARIABLES[j]: int(c) for j, c in enumerate(extra) if c})

    # Pivot the cells into the wide table (one row per stay and minute).
    rows, row_of_cell = np.unique(cells // nv, return_inverse=True)
    wide = np.full((len(rows), nv), np.nan)
    wide[row_of_cell, cells % nv] = merged
    by_rank = np.sort(ids)
    df = pd.DataFrame(wide, columns=list(VARIABLES), copy=False)
    df.insert(0, "ds", (rows % _MINUTES) / 60.0)
    df.insert(0, "unique_id", by_rank[rows // _MINUTES])
    report.records_without_observations = len(names) - len(np.unique(rows // _MINUTES))

    static_df = pd.DataFrame(static).sort_values("unique_id", ignore_index=True)
    static_df["set"] = static_df["set"].astype(str)
    static_df = _add_outcomes(static_df, path, sets)
    logger.info("physionet2012: %s", report.summary())
    if frame == "polars":
        import polars as pl

        df, static_df = pl.from_pandas(df), pl.from_pandas(static_df)
    return (df, static_df, report) if return_report else (df, static_df)


def _add_outcomes(static_df: pd.DataFrame, path: Path, sets) -> pd.DataFrame:
    """Left-join the ``Outcomes-X.txt`` files that exist (``-1`` kept as in the source)."""
    parts = [pd.read_csv(f) for s in sets if (f := path / f"Outcomes-{s}.txt").is_file()]
    if not parts:
        return static_df
    out = pd.concat(parts, ignore_index=True).rename(columns={"RecordID": "unique_id"})
    out = out.drop_duplicates("unique_id")
    return static_df.merge(out, on="unique_id", how="left", validate="one_to_one")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Convert PhysioNet 2012 to the s5ts long format.")
    p.add_argument("path", help="folder with set-X.tar.gz (or set-X/ folders) and Outcomes-X.txt")
    p.add_argument("--out", default=".", help="output folder")
    p.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    p.add_argument("--sets", default="abc", help="which sets, e.g. 'ab'")
    p.add_argument("--placeholders", choices=("keep", "nan"), default="keep")
    p.add_argument("--implausible", choices=("keep", "nan"), default="keep")
    p.add_argument("--duplicates", choices=("mean", "first", "last"), default="mean")
    args = p.parse_args(argv)
    df, static_df, report = load_physionet2012(
        args.path,
        tuple(args.sets),
        placeholders=args.placeholders,
        implausible=args.implausible,
        duplicates=args.duplicates,
        return_report=True,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for frame_, stem in ((df, "physionet2012"), (static_df, "physionet2012_static")):
        target = out / f"{stem}.{args.format}"
        if args.format == "parquet":
            frame_.to_parquet(target, index=False)
        else:
            frame_.to_csv(target, index=False)
        print(f"wrote {target} ({len(frame_)} rows)")
    print(report.summary())


if __name__ == "__main__":
    main()
