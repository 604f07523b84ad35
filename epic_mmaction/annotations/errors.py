"""The error of a bad annotation input: a CSV, a list, a video it names."""
from ..utils import EpicError


class AnnotationError(EpicError, ValueError):
    """An annotation file or option that cannot be used; names the file and row."""
