"""The base of every error a user can cause, so tools tell them from bugs.

Tools turn an :class:`EpicError` into one line and exit code 2
(:func:`epic_mmaction.utils.cli.tool_main`); any other exception is a bug
and keeps its traceback.
"""


class EpicError(Exception):
    """A problem with the user's input (files, options, data); names what to fix."""


class UsageError(EpicError, ValueError):
    """Options that do not fit together, or values a tool cannot use."""
