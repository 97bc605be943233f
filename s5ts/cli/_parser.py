"""The `s5ts` command line's parser: its sub-commands, their flags and value checks.

A bad option or value raises `UsageError`, one line in place of argparse's usage block,
which `main` reports like any other bad input; `hinted` adds the fix for a common mistake.
Each sub-command's parser names the function in `_commands` that runs it.
"""

import argparse
import importlib.metadata

from ._commands import evaluate, fit, predict
from ._options import add_hyperparameters, span


DEMO = "demo"


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # One clean line instead of argparse's usage block, so every bad input reads alike.
    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def hinted(message: str, argv: list[str]) -> str:
    # "--target-cols HR SysABP" leaves a bare name over: say the flag wants commas (not
    # when only a flag is unknown, as in "--target-cols HR,SysABP --bogus").
    if argv and argv[0] in ("fit", "predict", "evaluate"):  # argparse names the top level
        message = message.replace("(see 's5ts --help')", f"(see 's5ts {argv[0]} --help')")
    _, found, rest = message.partition("unrecognized arguments: ")
    leftover = rest.split(" (see ")[0].split() if found else []
    if "--target-cols" in argv and any(not a.startswith("-") for a in leftover):
        return f"{message}; --target-cols takes one comma-separated list: --target-cols HR,SysABP"
    return message


def _columns(text: str) -> list[str]:
    cols = [c.strip() for c in text.split(",") if c.strip()]
    if not cols:
        raise argparse.ArgumentTypeError("expected comma-separated column names")
    return cols


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
    p.add_argument(
        "--distributed",
        action="store_true",
        help="call jax.distributed.initialize() first (multi-host; also S5TS_DISTRIBUTED=1)",
    )


def _columns_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id-col", default="unique_id", help="series id column (default: %(default)s)")
    p.add_argument("--time-col", default="ds", help="time column (default: %(default)s)")


def _overwrite_arg(p: argparse.ArgumentParser, output: str) -> None:
    p.add_argument(
        "--overwrite",
        action="store_true",
        help=f"replace an existing {output} file (an input file is never replaced)",
    )


def _fit_parser(sub) -> None:
    p = sub.add_parser(
        "fit",
        help="train a forecaster on a long CSV/Parquet file and save it",
        description="Train an S5Forecaster on a long file (one row per series and time, one "
        "column per target, empty = unobserved) and save it to a model directory.",
    )
    p.add_argument("data", help="training file (.csv, .parquet)")
    p.add_argument(
        "model_dir",
        help="directory to write the fitted model to: new or empty, or one holding a model "
        "with --overwrite",
    )
    _columns_args(p)
    p.add_argument(
        "--target-cols", type=_columns, help="comma-separated targets (default: all others)"
    )
    p.add_argument("--static", metavar="FILE", help="static covariates, one row per series")
    p.add_argument("--val", metavar="FILE", help="validation series for early stopping")
    p.add_argument(
        "--checkpoint-dir",
        metavar="DIR",
        help="save the training state here as it runs; the same command run again resumes "
        "from it (with --overwrite once the model directory holds the interrupted model)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a model already in model_dir")
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="read the training file N series at a time, for files larger than memory "
        "(a pass for the scalings, then training one chunk at a time; Parquet sorted by id "
        "reads fastest; not with --checkpoint-dir)",
    )
    h = p.add_argument_group("model and training (the arguments of s5ts.S5Forecaster)")
    add_hyperparameters(h)
    _common(p)
    p.set_defaults(run=fit)


def _predict_parser(sub) -> None:
    p = sub.add_parser(
        "predict",
        help="forecast after the end of each series of a history file",
        description="Forecast after each series' last time: at the rows of --query, or --h "
        "steps of --freq. The output format follows its extension.",
    )
    p.add_argument("model_dir", help="directory written by 's5ts fit'")
    p.add_argument("history", help="history file (.csv, .parquet)")
    p.add_argument("-o", "--output", required=True, help="forecasts file (.csv, .parquet)")
    _overwrite_arg(p, "--output")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--query", metavar="FILE", help="id and time rows to forecast")
    what.add_argument(
        "--h", type=_positive_int, metavar="N", help="number of steps after each series"
    )
    p.add_argument("--freq", type=span, help="step for --h (default: median training gap)")
    p.add_argument("--level", type=float, nargs="+", help="central interval levels, percent")
    p.add_argument("--quantiles", type=float, nargs="+", help="quantiles in (0, 1)")
    p.add_argument("--static", metavar="FILE", help="static covariates, one row per series")
    p.add_argument(
        "--duplicates",
        choices=["raise", "mean", "last"],
        help="rows with the same (id, time) in the history file: 'raise', or aggregate them "
        "per variable with 'mean' or 'last' (default: as the model was fitted)",
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        metavar="N",
        help="stream the history N series at a time (bounded memory for large files)",
    )
    _common(p)
    p.set_defaults(run=predict)


def _evaluate_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a forecasts file against actual values",
        description="Match forecasts to actuals on (id, time) and report, per variable, the "
        "MSE, MAE and coverage of each central interval, on observed values only.",
    )
    p.add_argument("forecasts", help="file written by 's5ts predict'")
    p.add_argument("actuals", help="long file with the true values")
    _columns_args(p)
    p.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    _overwrite_arg(p, "--json")
    _common(p)
    p.set_defaults(run=evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="s5ts",
        description="Forecast irregularly sampled time series with S5 state-space models.",
        epilog="Run 's5ts COMMAND --help' for a command's options.",
    )
    version = importlib.metadata.version("s5ts")
    parser.add_argument("--version", action="version", version=f"s5ts {version}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _fit_parser(sub)
    _predict_parser(sub)
    _evaluate_parser(sub)
    sub.add_parser(DEMO, help="run the synthetic ICU demo (as python -m s5ts.demo)", add_help=False)
    return parser
