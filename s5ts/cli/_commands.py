"""The bodies of `s5ts fit`, `predict` and `evaluate`, run on the parsed arguments.

Each checks its paths before reading any data and returns its exit code; `fit` saves the
best model so far when interrupted (130) or when the loss diverges (2). On many hosts
only the first process writes the model or the forecasts.
"""

import json
import os
import sys
from pathlib import Path

import polars as pl

from ._options import check_options, hyperparameters_from


def _say(args, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _is_primary() -> bool:
    import jax

    return jax.process_index() == 0  # on many hosts only the first one writes files


_NOT_TARGETS = "or name the targets with --target-cols"


def fit(args) -> int:
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
        table.check_times()
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


def predict(args) -> int:
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


def evaluate(args) -> int:
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
