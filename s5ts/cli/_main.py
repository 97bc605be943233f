"""The `s5ts` command line: fit, predict, evaluate and demo over CSV / Parquet files.

Bad input (a missing file or column, an invalid option or value) ends with one line
`s5ts: error: ...` on stderr and exit code 2, worded in flags and files (the library's
`static_df` reads `--static`); Ctrl-C exits 130, after `fit` has saved the best model so
far; anything unexpected prints its traceback and exits 1. Paths are checked before any
data is read, and no command replaces an input file.

The parser is built in `_parser`; the commands run in `_commands`.
"""

import sys
import traceback
import warnings

import polars as pl

from ._parser import DEMO, UsageError, build_parser, hinted
from ._wording import first_line, from_library, in_flags, show_library_warnings


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
        UsageError,
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
    whole_files = True  # the library reads each file whole, not in --chunk-size chunks
    try:
        if command == DEMO:  # the demo parses its own options
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
        except UsageError as bad:
            raise UsageError(hinted(str(bad), argv)) from None
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        whole_files = not getattr(args, "chunk_size", None)
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
        if command != DEMO and from_library(err):
            text = in_flags(text, rows_are_lines=whole_files)
        print(f"s5ts: error: {text}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("s5ts: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug, not bad input: keep the traceback for the report
        traceback.print_exc()
        print(f"s5ts: unexpected error: {first_line(err)}", file=sys.stderr)
        return 1
