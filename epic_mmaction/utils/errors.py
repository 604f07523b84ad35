"""The base of every error a user can cause, so tools tell them from bugs.

Tools turn an :class:`EpicError` into one line and exit code 2
(:func:`epic_mmaction.utils.cli.tool_main`); any other exception is a bug
and keeps its traceback.
"""


class EpicError(Exception):
    """A problem with the user's input (files, options, data); names what to fix."""


class UsageError(EpicError, ValueError):
    """Options that do not fit together, or values a tool cannot use."""


class AnnotationError(EpicError, ValueError):
    """An annotation file or option that cannot be used; names the file and row."""


class VideoReadError(EpicError, RuntimeError):
    """A video (or some of its frames) could not be read; names the video.

    The one error every video reader raises, so datasets can catch one type.
    """
