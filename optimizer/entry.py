"""The ``aifactory`` console script: signals first, then the (slow to import) command.

Importing the model stack takes seconds; a Ctrl-C in that time must end the program with one line,
not a traceback from inside a library. SIGTERM (a scheduler or ``kill``) is turned into a normal
exit so that a half-written output is cleaned up like after Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import NoReturn

#: the shell's convention: 128 + the signal's number
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


def _terminated(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(EXIT_TERMINATED)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from optimizer.cli import app
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: stopped while starting; nothing written\n")
        sys.exit(EXIT_INTERRUPTED)
    app()


if __name__ == "__main__":
    main()
