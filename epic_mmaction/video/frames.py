"""The batch every reader's ``get_batch`` returns, as decord's NDArray does."""
import numpy as np


class Frames:
    """What ``DecordDecode`` expects back from ``get_batch``: ``.asnumpy()``."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def asnumpy(self) -> np.ndarray:
        return self._array
