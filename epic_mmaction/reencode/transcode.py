"""Re-encode one video with PyAV/libx264: one file or fixed-length chunks.

The source is decoded once, front to back (no seeks), and each frame that
the frame mapping of :mod:`.plan` keeps is scaled and encoded with a fixed
keyframe interval. Frames are numbered by decoding order of presentation, as
decord and the list files number them. Audio is left out. The caller gives a
temporary destination and renames it when the output has been verified.
"""
import os
import os.path as osp
from fractions import Fraction
from typing import List, Optional

from ..video.manifest import FORMAT, VERSION, chunk_file_name, file_crc32
from .plan import format_fps, frames_per_chunk, output_fps, output_size, source_frame
from .settings import EncodeSettings
from ..utils import EpicError


class TranscodeError(EpicError, RuntimeError):
    """A video that cannot be re-encoded; the message names it."""


class _Encoder:
    """One MP4 file being written by libx264."""

    def __init__(self, path: str, fps: Fraction, width: int, height: int,
                 settings: EncodeSettings) -> None:
        import av
        self.path = path
        # moov atom first: a reader needs no seek to the end to open the file
        self.container = av.open(path, 'w', format='mp4',
                                 options={'movflags': '+faststart'})
        stream = self.container.add_stream('libx264', rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, 'yuv420p'
        stream.codec_context.time_base = 1 / fps
        options = {'crf': str(settings.crf), 'preset': settings.preset,
                   'bf': str(settings.bframes)}
        if settings.gop is not None:
            # exactly every gop frames: no scene-cut keyframes in between
            options.update(g=str(settings.gop), keyint_min=str(settings.gop),
                           sc_threshold='0')
        stream.options = options
        stream.thread_count = settings.threads
        self.stream = stream
        self.time_base = stream.codec_context.time_base
        self.count = 0

    def write(self, frame) -> None:
        from av.video.frame import PictureType
        frame.pts = self.count
        frame.time_base = self.time_base
        # a decoded I-frame would force a keyframe here: let x264 choose by gop
        frame.pict_type = PictureType.NONE
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def close(self) -> int:
        """Flush and close; returns the bytes written."""
        self.container.mux(self.stream.encode())
        self.container.close()
        return os.path.getsize(self.path)

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # already broken: the temp output is removed anyway
            pass


def transcode_video(src_path: str, dst: str, settings: EncodeSettings,
                    source_rel: Optional[str] = None,
                    file_name: Optional[str] = None) -> dict:
    """Encode ``src_path`` to ``dst`` and return its manifest (not written).

    ``dst`` is a file (one output) or, with ``settings.chunk_seconds``, a
    directory to fill with chunks; either should be a temporary name.
    ``source_rel`` is the source path recorded in the manifest, ``file_name``
    the name recorded for a one-file output (its final name; ``dst`` is not).
    """
    import av
    st = os.stat(src_path)  # of the file read, recorded to detect a changed source
    try:
        container = av.open(src_path)
    except (av.FFmpegError, OSError) as e:
        raise TranscodeError(f'cannot open {src_path} ({type(e).__name__}: {e})') from e
    files: List[dict] = []
    encoder: Optional[_Encoder] = None
    try:
        if not container.streams.video:
            raise TranscodeError(f'{src_path}: no video stream')
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise TranscodeError(f'{src_path}: the container gives no frame rate')
        src_fps = Fraction(rate.numerator, rate.denominator)
        fps = output_fps(src_fps, settings.fps)
        width, height = stream.codec_context.width, stream.codec_context.height
        out_w, out_h = output_size(width, height, settings.short_side)
        chunk = (frames_per_chunk(settings.chunk_seconds, fps) if settings.chunked
                 else None)
        stream.thread_type = 'AUTO'
        stream.thread_count = settings.threads
        if chunk is not None:
            os.makedirs(dst, exist_ok=True)

        def finish() -> None:
            files[-1].update(num_frames=encoder.count, bytes=encoder.close(),
                             crc32=file_crc32(encoder.path))

        i, j = 0, 0  # source frame, output frame
        wanted = source_frame(0, src_fps, fps)
        try:
            for frame in container.decode(stream):
                if i == wanted:  # the rate never rises, so at most one j per i
                    if encoder is None or (chunk is not None and encoder.count == chunk):
                        if encoder is not None:
                            finish()
                        name = (chunk_file_name(len(files)) if chunk is not None
                                else file_name or osp.basename(dst))
                        path = osp.join(dst, name) if chunk is not None else dst
                        encoder = _Encoder(path, fps, out_w, out_h, settings)
                        files.append(dict(name=name, start=j))
                    encoder.write(frame.reformat(width=out_w, height=out_h,
                                                 format='yuv420p',
                                                 interpolation='AREA'))
                    j += 1
                    wanted = source_frame(j, src_fps, fps)
                i += 1
        except av.FFmpegError as e:
            raise TranscodeError(
                f'{src_path}: transcoding failed at source frame {i} '
                f'({type(e).__name__}: {e}); if the source is damaged, run '
                'tools/clean_segments.py --full on its lists') from e
        if encoder is None:
            raise TranscodeError(f'{src_path}: no frame could be decoded')
        finish()
        encoder = None
    finally:
        if encoder is not None:
            encoder.abort()
        container.close()
    return dict(
        format=FORMAT, version=VERSION,
        source=dict(path=source_rel or src_path, bytes=st.st_size,
                    mtime_ns=st.st_mtime_ns, fps=format_fps(src_fps), num_frames=i,
                    width=width, height=height),
        settings=settings.output_key(),
        fps=format_fps(fps), num_frames=j, width=out_w, height=out_h,
        chunk_frames=chunk, files=files, pyav=av.__version__)
