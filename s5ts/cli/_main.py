"""The `s5ts` command line: fit, predict, evaluate and demo over CSV / Parquet files.

Bad input (a missing file or column, an invalid option or value) ends with one line
`s5ts: error: ...` on stderr and exit code 2, worded in flags and files (the library's
`static_df` reads `--static`); Ctrl-C exits 130, after `fit` has saved the best model so
far; anything unexpected prints its traceback and exits 1. Paths are checked before any
data is read, and no command replaces an input file.
"""

import argparse
import importlib.metadata
import json
import os
import sys
import traceback
import warnings
from pathlib import Path

import polars as pl

from ._options import add_hyperparameters, check_options, hyperparameters_from, span
from ._wording import first_line, from_library, in_flags, show_library_warnings


_DEMO = "demo"


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # One clean line instead of argparse's usage block, so every bad input reads alike.
    def error(self, message):
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def _hinted(message: str, argv: list[str]) -> str:
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
    p.set_defaults(run=_fit)


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
    p.set_defaults(run=_predict)


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
    p.set_defaults(run=_evaluate)


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
    sub.add_parser(
        _DEMO, help="run the synthetic ICU demo (as python -m s5ts.demo)", add_help=False
    )
    return parser


def _say(args, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _is_primary() -> bool:
    import jax

    return jax.process_index() == 0  # on many hosts only the first one writes files


_NOT_TARGETS = "or name the targets with --target-cols"


def _fit(args) -> int:
    from ..forecaster import S5Forecaster
    from ..network import SharedClock
    from . import _paths, _tables

    params = hyperparameters_from(args)
    check_options(params)
    _paths.check_inputs(
        (args.data, "training file"), (args.static, "static file"), (args.val, "validation file")
    )
    _paths.check_model_dir(args.model_dir, args.overwrite)
    _paths.check_checkpoint_dir(args.checkpoint_dir, args.model_dir)
    keys = (args.id_col, args.time_col)
    # without --target-cols every other column is a target, and must hold numbers
    numbers = {"numeric": args.target_cols, "hint": None if args.target_cols else _NOT_TARGETS}
    table = None
    if args.chunk_size is not None:
        if args.checkpoint_dir is not None:
            raise ValueError("--chunk-size cannot be combined with --checkpoint-dir")
        if not isinstance(params.get("network", SharedClock()), SharedClock):
            raise ValueError(
                "--chunk-size needs --network shared-clock (the default): "
                "--network variable-clocks fits in memory only"
            )
        table = _tables.Table(args.data, "training file", keys=keys, **numbers)
        table.require(keys, "the training file")
        df = table.lf
    else:
        df = _tables.read(args.data, "training file", keys=keys, **numbers)
    static_df = None
    if args.static is not None:
        static_df = _tables.read(
            args.static, "static file", keys=keys[:1], role="static covariates"
        )
    val_df = None
    if args.val is not None:
        val_df = _tables.read(args.val, "validation file", keys=keys, **numbers)
    model = S5Forecaster(**params, verbose=not args.quiet)
    try:
        model.fit(
            df,
            static_df,
            val_df,
            id_col=args.id_col,
            time_col=args.time_col,
            target_cols=args.target_cols,
            checkpoint_dir=args.checkpoint_dir,
            chunk_size=args.chunk_size,
        )
    except pl.exceptions.InvalidOperationError:
        bad = None if table is None else table.first_bad_number()
        if bad is None:
            raise
        raise ValueError(bad) from None
    except KeyboardInterrupt:
        if not model.__sklearn_is_fitted__():  # interrupted before training began
            raise
        return _save_interrupted(model, args)
    except FloatingPointError as err:
        if not model.__sklearn_is_fitted__():
            raise
        return _save_diverged(model, args, err)
    if _is_primary():
        model.save(args.model_dir)
    _say(
        args,
        f"fitted on {model.report_.n_series} series ({model.report_.n_input_rows} rows), "
        f"{model.fitted_.training_summary()}; saved to {args.model_dir}",
    )
    return 0


def _save_interrupted(model, args) -> int:
    # Ctrl-C: fit left the best weights so far; keep them rather than lose the run.
    if _is_primary():
        model.save(args.model_dir)
    resume = ""
    if args.checkpoint_dir is not None:
        resume = f"; run the same command with --overwrite to resume from {args.checkpoint_dir}"
    print(
        f"s5ts: interrupted: saved the best model so far ({model.fitted_.training_summary()}) "
        f"to {args.model_dir}{resume}",
        file=sys.stderr,
    )
    return 130


def _save_diverged(model, args, err: FloatingPointError) -> int:
    # A NaN/inf loss: fit kept the best weights before it; save them and say so, in flags.
    if _is_primary():
        model.save(args.model_dir)
    print(
        f"s5ts: error: the training loss became NaN/inf; saved the best model before it "
        f"({model.fitted_.training_summary()}) to {args.model_dir}. Try a smaller "
        "--learning-rate, or check the data for extreme values.",
        file=sys.stderr,
    )
    return 2


def _predict(args) -> int:
    from ..forecaster import S5Forecaster
    from . import _paths
    from ._chunked import predict_file

    if args.freq is not None and args.h is None:
        raise ValueError("--freq goes with --h, not with --query")
    _paths.check_inputs(
        (args.history, "history file"), (args.query, "query file"), (args.static, "static file")
    )
    inputs = (args.model_dir, args.history, args.query, args.static)
    _paths.check_output(args.output, inputs, args.overwrite)
    model = S5Forecaster.load(args.model_dir)
    if args.duplicates is not None:
        model.set_params(duplicates=args.duplicates)
    rows = predict_file(
        model,
        args.history,
        args.output if _is_primary() else None,
        chunk_size=args.chunk_size,
        query=args.query,
        static=args.static,
        h=args.h,
        freq=args.freq,
        level=args.level,
        quantiles=args.quantiles,
        progress=not args.quiet,
    )
    _say(args, f"wrote {rows} forecast rows to {args.output}")
    return 0


def _evaluate(args) -> int:
    from . import _paths
    from ._scoring import format_table, score_files

    _paths.check_inputs((args.forecasts, "forecasts file"), (args.actuals, "actuals file"))
    if args.json:
        inputs = (args.forecasts, args.actuals)
        _paths.check_output(args.json, inputs, args.overwrite, "--json file", extension=False)
    scores = score_files(args.forecasts, args.actuals, args.id_col, args.time_col)
    print(format_table(scores))
    if args.json:
        _write_json(Path(args.json), scores)
        _say(args, f"scores written to {args.json}")
    return 0


def _write_json(path: Path, data: dict) -> None:
    # Written next to the target and renamed into place: never a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv=None) -> int:
    """Run the `s5ts` command line.

    **Arguments:**

    - `argv`: the arguments after the program name (default: `sys.argv[1:]`).

    **Returns:**

    The exit code.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    from ..forecaster import NotFittedError

    bad_input = (
        _UsageError,
        ValueError,
        TypeError,
        FileNotFoundError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
        NotFittedError,
        pl.exceptions.PolarsError,
    )
    command = argv[0] if argv else None
    try:
        if command == _DEMO:  # the demo parses its own options
            from .. import demo

            try:
                demo.main(argv[1:], prog="s5ts demo")
            except SystemExit as done:  # its --help or a bad option
                return done.code if isinstance(done.code, int) else 0
            return 0
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help / --version
            return done.code if isinstance(done.code, int) else 0
        except _UsageError as bad:
            raise _UsageError(_hinted(str(bad), argv)) from None
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        from .._compilation_cache import cli_cache_enabled, enable_compilation_cache
        from .._sharding import initialize_distributed

        initialize_distributed(args.distributed)
        if cli_cache_enabled():  # a second run on the same model loads its compiled steps
            enable_compilation_cache()
        with warnings.catch_warnings():
            show_library_warnings()
            return args.run(args)
    except bad_input as err:
        text = first_line(err)
        if command != _DEMO and from_library(err):
            text = in_flags(text)
        print(f"s5ts: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("s5ts: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not bad input: keep the traceback for the report
        traceback.print_exc()
        print(f"s5ts: unexpected error: {first_line(err)}", file=sys.stderr)
        return 1
