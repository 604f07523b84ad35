"""The one error every video reader raises, so datasets can catch one type."""
from ..utils import EpicError


class VideoReadError(EpicError, RuntimeError):
    """A video (or some of its frames) could not be read; names the video."""
