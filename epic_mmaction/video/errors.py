"""The one error every video reader raises, so datasets can catch one type."""


class VideoReadError(RuntimeError):
    """A video (or some of its frames) could not be read; names the video."""
