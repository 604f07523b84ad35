"""What every tool shares: argparse value types and the error runner.

``@tool_main`` wraps a tool's ``main(argv)``: an :class:`EpicError`, or an
``OSError`` on a named path (a missing or unwritable file the user gave),
becomes one line ``PROG: error: ...`` and exit code 2; Ctrl-C becomes one
line and exit code 130 (as a shell reports SIGINT) instead of a traceback;
any other exception propagates with its traceback, because it is a bug.
"""
import argparse
import functools
import os.path as osp
import sys
from typing import Callable, List, Optional

from .errors import EpicError

EXIT_USAGE = 2  # argparse's exit code for bad arguments; ours for bad input
EXIT_INTERRUPTED = 130  # a shell's code for a process ended by SIGINT
MainFunc = Callable[[Optional[List[str]]], Optional[int]]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {text}')
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be >= 0, got {text}')
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
    return value


def error_line(prog: str, error: BaseException) -> str:
    """The one line a user sees for a user error."""
    if isinstance(error, OSError) and not isinstance(error, EpicError):
        return f'{prog}: error: {error.strerror or error}: {error.filename}'
    return f'{prog}: error: {error}'


def is_user_error(error: BaseException) -> bool:
    """An :class:`EpicError`, or an ``OSError`` that names a path."""
    if isinstance(error, EpicError):
        return True
    return isinstance(error, OSError) and error.filename is not None


def tool_main(main: MainFunc) -> Callable[[Optional[List[str]]], int]:
    """Decorate a tool's ``main(argv)``: user errors -> one line and exit 2."""
    prog = osp.basename(main.__globals__.get('__file__') or sys.argv[0])

    @functools.wraps(main)
    def run(argv: Optional[List[str]] = None) -> int:
        try:
            return main(argv) or 0
        except (EpicError, OSError) as e:
            if not is_user_error(e):
                raise
            print(error_line(prog, e), file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print(f'{prog}: interrupted (Ctrl-C)',
                  file=sys.stderr)
            return EXIT_INTERRUPTED

    return run
