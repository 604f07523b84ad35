"""What a re-encode is asked to produce; an output made with other settings is redone."""
from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Optional

from .plan import format_fps, parse_fps
from ..utils import EpicError

X264_PRESETS = ('ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium',
                'slow', 'slower', 'veryslow', 'placebo')


class SettingsError(EpicError, ValueError):
    """Settings that cannot be encoded; the message names the option."""


@dataclass(frozen=True)
class EncodeSettings:
    """libx264 settings of a re-encode.

    Args:
        gop: Keyframe every ``gop`` frames exactly (scene-cut keyframes off);
            None keeps x264's default (250, scene cuts on). A random access
            decodes on average ``gop / 2`` frames before the one wanted.
        short_side: Scale so the short side is this many pixels (even sizes,
            aspect kept, never upscaled); None keeps the size.
        fps: Output frame rate; None, or a rate at or above the video's, keeps
            the video's (see :mod:`.plan` for the frame mapping).
        chunk_seconds: Cut each video into files of this many seconds (an
            exact number of frames each, AVION-style); None writes one file.
        crf: x264 constant rate factor (0-51, lower is better quality).
        preset: x264 preset (speed against file size).
        bframes: B-frames between references; 0 (default) keeps decoding
            order equal to frame order.
        threads: x264 and decoder threads per video; 0 = automatic. Does not
            change what is written.
    """
    gop: Optional[int] = 32
    short_side: Optional[int] = None
    fps: Optional[Fraction] = None
    chunk_seconds: Optional[float] = None
    crf: int = 23
    preset: str = 'fast'
    bframes: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.fps is not None and not isinstance(self.fps, Fraction):
            try:
                object.__setattr__(self, 'fps', parse_fps(self.fps))
            except ValueError as e:
                raise SettingsError(f'--fps: {e}') from None
        if self.gop is not None and self.gop < 1:
            raise SettingsError(f'--gop must be >= 1 frame, got {self.gop}')
        if self.short_side is not None and self.short_side < 16:
            raise SettingsError(f'--short-side must be >= 16 pixels, got '
                                f'{self.short_side}')
        if self.fps is not None and not self.fps > 0:
            raise SettingsError(f'--fps must be > 0, got {self.fps}')
        if self.chunk_seconds is not None and not self.chunk_seconds > 0:
            raise SettingsError(f'--chunk-seconds must be > 0, got {self.chunk_seconds}')
        if not 0 <= self.crf <= 51:
            raise SettingsError(f'--crf must be in 0..51, got {self.crf}')
        if self.preset not in X264_PRESETS:
            raise SettingsError(f'--preset must be one of {", ".join(X264_PRESETS)}; '
                                f'got {self.preset!r}')
        if not 0 <= self.bframes <= 16:
            raise SettingsError(f'--bframes must be in 0..16, got {self.bframes}')
        if self.threads < 0:
            raise SettingsError(f'--threads must be >= 0 (0 = auto), got {self.threads}')

    @property
    def chunked(self) -> bool:
        return self.chunk_seconds is not None

    def output_key(self) -> dict:
        """JSON form of every setting that changes the output (not ``threads``)."""
        key = asdict(self)
        del key['threads']
        key['fps'] = None if self.fps is None else format_fps(self.fps)
        return key

    def to_dict(self) -> dict:
        return dict(self.output_key(), threads=self.threads)
