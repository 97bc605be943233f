"""The library's messages in command-line words: flags and files, not Python arguments.

Errors and warnings raised inside s5ts name `static_df`, `id_col=` or `df`; the command
line says `--static`, `--id-col` and "the data file". Help texts built from the
estimator's docstring go through the same rewording.
"""

import os
import re
import sys
import traceback
import warnings

from ..forecaster import (
    BaselineWarning,
    DataWarning,
    ExtrapolationWarning,
    TruncatedHistoryWarning,
    hyperparameters,
)


def flag(name: str) -> str:
    """`hidden_size` -> `--hidden-size`."""
    return "--" + name.replace("_", "-")


_FILES = {"static_df": "--static", "val_df": "--val", "query_df": "--query"}
_ARGS = ("id_col", "time_col", "target_cols", "checkpoint_dir", "chunk_size")
_PYTHON_WORDS = re.compile(
    r"'[^']*'|\"[^\"]*\""  # quoted text (column names, values, paths): left alone
    r"|\b(?:(pass |no )(static_df|val_df|query_df)\b|(\w+)=(?=([^\s/,;.)]?))"
    r"|(static_df|val_df|query_df)\b"
    r"|([a-z]+_[a-z_]+)\b|(df)\b|(your frame)\b)"
)
_FLAG_LIST = re.compile(r"(--[\w-]+ )\[([^\]]*)\]")
_ROW_NUMBERS = re.compile(r"\brows? \[?\d")
# Where a library message points at Python functions the command line does not have.
_PYTHON_ONLY = (
    " to to_panel or S5Forecaster",
    "; validation_scores_ has the figures",
    " (see report_)",
)
# Fitted attributes, said as what the command line knows them by.
_ATTRIBUTES = {"horizon_ = ": "the model's --horizon ", "max_len_ = ": "the model's "}


def in_flags(text: str, rows_are_lines: bool = False) -> str:
    """A library message in command-line words: `pass static_df` -> `pass --static`,
    `id_col=` -> `--id-col`, `static_df` -> `the --static file`, `df` -> `the data file`;
    `rows_are_lines`: the library read whole files, so its row n is a CSV's line n + 2."""
    names = {hp.name for hp in hyperparameters()} | {*_ARGS, "h", "freq", "level", "quantiles"}

    def word(m: re.Match) -> str:
        before, file, keyword, value, named, snake, df, frame = m.groups()
        if file:
            return before + _FILES[file] + ("" if before == "pass " else " file")
        if keyword is not None:  # `h=3` -> `--h 3`; `id_col=/...` -> `--id-col/...`
            option = _FILES.get(keyword) or (flag(keyword) if keyword in names else None)
            return m[0] if option is None else option + (" " if value else "")
        if named:
            return f"the {_FILES[named]} file"
        if snake:
            return flag(snake) if snake in names else m[0]
        if df:
            return "the data file"
        if frame:
            return "your file"
        return m[0]

    for python in _PYTHON_ONLY:
        text = text.replace(python, "")
    for attribute, words in _ATTRIBUTES.items():
        text = text.replace(attribute, words)
    # a message that starts with the argument it is about: `horizon: ...` -> `--horizon: ...`
    text = re.sub(r"^([a-z_]+):", lambda m: flag(m[1]) + ":" if m[1] in names else m[0], text)
    # a list after a flag as the command line takes it: `--level [80, 95]` -> `--level 80 95`
    text = _FLAG_LIST.sub(
        lambda m: m[1] + " ".join(v.strip() for v in m[2].split(",")),
        _PYTHON_WORDS.sub(word, text),
    )
    # The library counts rows of the frame it was given from 0; in a CSV that is line n + 2
    # (not when it was given chunks of a file).
    if rows_are_lines and _ROW_NUMBERS.search(text) and "within the chunk" not in text:
        end = "." if text.endswith(".") else ""
        text = text.removesuffix(".") + (
            " (rows count from 0 after the header: row n is line n + 2 of a CSV file)" + end
        )
    return text


_PYTHON_SHOWWARNING = warnings.showwarning
_LIBRARY_WARNINGS = (BaselineWarning, DataWarning, ExtrapolationWarning, TruncatedHistoryWarning)


def show_library_warnings() -> None:
    """Inside `warnings.catch_warnings()`: the library's warnings are shown, one line in
    command-line words each, whatever the filters say (a program reports what it read
    and did; `-W error` would turn them into tracebacks). Other packages' warnings go
    through the filters and are shown as Python shows them."""
    for category in _LIBRARY_WARNINGS:
        warnings.simplefilter("always", category)
    warnings.showwarning = _printer()


def _printer():
    """A `warnings.showwarning` that prints each library warning's text once (a chunked
    prediction would repeat it per chunk), without the source line Python's display
    would quote (the `s5ts` script's own)."""
    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if not issubclass(category, _LIBRARY_WARNINGS):
            return _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)
        text = in_flags(str(message))
        if text not in shown:
            shown.add(text)
            print(f"s5ts: warning: {text}", file=sys.stderr if file is None else file)

    return show


def from_library(err: BaseException) -> bool:
    """Whether `err` was raised inside s5ts outside the command line: only the library's
    messages use Python words; the command line's already speak in flags and files, and
    other packages' are theirs."""
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return False
    where = os.path.abspath(frames[-1].filename)
    cli = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(cli)
    return where.startswith(package + os.sep) and not where.startswith(cli + os.sep)


def first_line(err: BaseException) -> str:
    """The first non-empty line of an error's message (its type's name if none)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__
