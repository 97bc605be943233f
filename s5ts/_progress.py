"""Progress bars: tqdm's, redrawn less often where no terminal shows them."""

import sys

from tqdm.auto import tqdm
from tqdm.notebook import tqdm_notebook


# A bar written to a log file or pipe is one line that grows by every redraw (`\r` does
# not erase there), ten a second by default; a batch job's log wants a frame now and then.
LOG_INTERVAL_S = 30.0


def progress_bar(**kwargs) -> tqdm:
    """`tqdm.auto.tqdm(**kwargs)`, redrawn at most every `LOG_INTERVAL_S` seconds when
    stderr is not a terminal (notebooks keep their widget's own pace)."""
    to_log = not issubclass(tqdm, tqdm_notebook) and not _is_terminal(sys.stderr)
    if to_log and "mininterval" not in kwargs:
        kwargs["mininterval"] = LOG_INTERVAL_S
    return tqdm(**kwargs)


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False
