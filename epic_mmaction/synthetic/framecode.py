"""A frame-index code burnt into every synthetic frame.

Tests decode clips through the real pipeline and read these codes back, so they
can tell exactly which frames of the file were decoded. The code is a strip of
black/white blocks across the top of the frame: 24 bits of frame index and an
8-bit check, big enough to survive H.264 at any of the generator's sizes. It
is read at the resolution the video was written at (not after resizing).
"""
from typing import Iterable

import numpy as np
from ..utils import EpicError

COLUMNS = 16
ROWS = 2
INDEX_BITS = 24
CHECK_BITS = ROWS * COLUMNS - INDEX_BITS
MAX_INDEX = (1 << INDEX_BITS) - 1


class FrameCodeError(EpicError, ValueError):
    """The strip does not hold a valid code (not a synthetic frame, or damaged)."""


def _check(index: int) -> int:
    # a multiplicative hash: one flipped index bit changes the check
    return ((index * 0x9E3779B1) >> 13) & ((1 << CHECK_BITS) - 1)


def code_geometry(width: int, height: int) -> tuple:
    """Block width and height in pixels for a frame of this size."""
    block_w = width // COLUMNS
    block_h = max(4, min(block_w, height // 16))
    if block_w < 4:
        raise ValueError(f'frames {width}x{height} are too narrow for the '
                         f'frame code: need width >= {4 * COLUMNS}')
    return block_w, block_h


def strip_height(width: int, height: int) -> int:
    """Rows at the top of the frame that the code occupies."""
    return ROWS * code_geometry(width, height)[1]


def _bits(index: int) -> np.ndarray:
    if not 0 <= index <= MAX_INDEX:
        raise ValueError(f'frame index {index} outside 0..{MAX_INDEX}')
    word = index | (_check(index) << INDEX_BITS)
    return np.array([(word >> b) & 1 for b in range(ROWS * COLUMNS)], np.uint8)


def draw_frame_code(img: np.ndarray, index: int) -> np.ndarray:
    """Write ``index`` into the top strip of an HxWx3 uint8 image, in place."""
    h, w = img.shape[:2]
    bw, bh = code_geometry(w, h)
    bits = _bits(index).reshape(ROWS, COLUMNS)
    img[:ROWS * bh] = 0
    for r in range(ROWS):
        for c in range(COLUMNS):
            if bits[r, c]:
                img[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = 255
    return img


def read_frame_code(img: np.ndarray) -> int:
    """The frame index coded in ``img`` (HxWx3 or HxW); raises FrameCodeError."""
    img = np.asarray(img)
    h, w = img.shape[:2]
    bw, bh = code_geometry(w, h)
    strip = img[:ROWS * bh, :COLUMNS * bw].astype(np.float32)
    blocks = strip.reshape(ROWS, bh, COLUMNS, bw, -1)
    # sample the inner half of each block: edges blur under compression
    my, mx = bh // 4, bw // 4
    levels = blocks[:, my:bh - my, :, mx:bw - mx].mean(axis=(1, 3, 4))  # ROWS x COLUMNS
    grey = np.argwhere((levels > 64) & (levels < 192))
    if len(grey):
        r, c = grey[0]
        raise FrameCodeError(
            f'frame code block ({r},{c}) is grey ({levels[r, c]:.0f}): not a '
            'synthetic frame, or resized/damaged')
    bits = (levels.reshape(-1) >= 128).astype(np.int64)
    word = int((bits << np.arange(ROWS * COLUMNS, dtype=np.int64)).sum())
    index = word & MAX_INDEX
    if word >> INDEX_BITS != _check(index):
        raise FrameCodeError(f'frame code check failed (read index {index})')
    return index


def read_frame_codes(imgs: Iterable[np.ndarray]) -> np.ndarray:
    """Frame indices of a sequence of frames (e.g. ``results['imgs']``)."""
    return np.array([read_frame_code(img) for img in imgs], dtype=np.int64)
