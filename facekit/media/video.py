"""Decode videos with PyAV: upright RGB frames with their source index and timestamp. Knows nothing of faces.

A :class:`Video` reads its file where it lies (bytes stay in memory, large ones in a temporary
file: :func:`facekit.media.sources.locate`), so a long video is never held whole. It first reads the packet timestamps (demuxing, no decoding), which gives the exact
frame count, each frame's index (its rank in presentation order, right for variable frame rate
too) and the keyframes. :meth:`Video.sample` then reaches each wanted frame by seeking to the
keyframe before it and decoding forward; :meth:`Video.stream` decodes every frame in order. Both
decode and convert in a background thread, a few frames ahead of the caller, in bounded memory.
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from ..errors import LimitExceededError, MediaDecodeError
from ..limits import Limits
from .sources import Source

__all__ = ["AHEAD", "IN_FLIGHT", "THREAD_TYPE", "Frame", "Prepare", "Video"]

THREAD_TYPE = "AUTO"
"""ffmpeg decoder threading (frame and slice threads), so decoding keeps ahead of inference."""
AHEAD = 4
"""Frames decoded ahead of the caller: enough to hide decoding jitter, few enough to keep memory flat."""
IN_FLIGHT = AHEAD + 2
"""Frames handed out by the decoding thread that may still be in use: those queued, the one being
made and the caller's; a ``prepare`` that reuses buffers needs this many (see Detector.preparer)."""

Prepare = Callable[[np.ndarray], Any]
"""Work on a frame's pixels done in the decoding thread, ahead of the caller (a model input, say)."""


@dataclass(frozen=True)
class Frame:
    """One upright frame: ``index`` in the source (presentation order), ``time`` in seconds, RGB ``pixels``,
    and what the caller's ``prepare`` made of them (its model input, say) while decoding ahead."""

    index: int
    time: float
    pixels: np.ndarray  # H x W x 3 uint8, upright
    prepared: Any = None  # what the caller's ``prepare`` made of the pixels in the decoding thread


class Video:
    """An encoded video (bytes, a file, or a located :class:`Source`): its timestamp index, and its
    frames by seek or as a stream."""

    def __init__(self, media: bytes | str | os.PathLike[str] | Source, limits: Limits) -> None:
        if isinstance(media, Source):
            self.source = media
        elif isinstance(media, (str, os.PathLike)):
            self.source = Source(str(media), path=Path(media))
        else:
            self.source = Source(f"bytes ({len(media)} bytes)", data=bytes(media))
        self._limits = limits
        self.decoded = 0
        """Frames the decoder produced so far (including those decoded only to reach a sampled frame)."""
        self.rotation = 0
        """Display rotation in degrees counter-clockwise (from the display matrix), known once a frame is decoded."""
        self.problems: list[str] = []
        with self._open() as container:
            stream = container.streams.video[0]
            self.format = container.format.name
            self.codec = stream.codec_context.name
            self._time_base = stream.time_base or Fraction(1, 1)
            self.stored_width, self.stored_height = stream.codec_context.width, stream.codec_context.height
            self._check_pixels()
            self._pts, self._keyframes, last_duration = self._index(container, stream)
            declared = container.duration / 1e6 if container.duration else None
        if len(self._pts) == 0:
            raise MediaDecodeError("the video has no decodable frames (empty or corrupt)")
        span = int(self._pts[-1] - self._pts[0]) + max(last_duration, 0)
        self.frame_count = len(self._pts)
        self.start = float(self._pts[0] * self._time_base)
        self.duration = float(span * self._time_base)
        self.fps = self.frame_count / self.duration if self.duration > 0 else 0.0
        if declared is not None and declared - (self.start + self.duration) > max(0.5, 0.05 * declared):
            self.problems.append(
                f"the frames end at {self.start + self.duration:.2f} s of the declared {declared:.2f} s"
            )
        if self.duration > limits.max_video_seconds:
            raise LimitExceededError(
                f"video lasts {self.duration:.1f} s, over the limit of {limits.max_video_seconds:g} s "
                "(Limits.max_video_seconds)"
            )

    def _open(self) -> av.container.InputContainer:
        """A fresh container: PyAV reads the file itself, or a stream over the bytes."""
        where = str(self.source.path) if self.source.path is not None else self.source.open()
        try:
            container = av.open(where, mode="r", options={"fflags": "+genpts"}, metadata_errors="replace")
        except (av.FFmpegError, ValueError, OSError) as exc:
            raise MediaDecodeError(
                f"not a decodable video ({self.source.description}, {self.source.size} bytes; "
                f"truncated, corrupt or not a video): {exc}"
            ) from exc
        if not container.streams.video:
            container.close()
            raise MediaDecodeError("the file has no video stream")
        return container

    def _check_pixels(self) -> None:
        pixels = self.stored_width * self.stored_height
        if pixels > self._limits.max_video_pixels:
            raise LimitExceededError(
                f"video frames are {self.stored_width} x {self.stored_height} = {pixels} pixels, over the "
                f"limit of {self._limits.max_video_pixels} (Limits.max_video_pixels)"
            )
        if pixels == 0:
            raise MediaDecodeError("the video stream declares no frame size (corrupt header)")

    def _index(self, container, stream) -> tuple[np.ndarray, np.ndarray, int]:
        """Sorted presentation timestamps of the shown frames, keyframe timestamps, last frame's duration."""
        shown: dict[int, int] = {}
        keys: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                if packet.is_keyframe:
                    keys.append(packet.pts)
                if not packet.is_discard:  # edit lists mark lead-in packets that are decoded but never shown
                    shown[packet.pts] = packet.duration or 0
        except av.FFmpegError as exc:
            self.problems.append(f"demuxing stopped early: {exc}")
        pts = np.array(sorted(shown), dtype=np.int64)
        return pts, np.unique(np.asarray(keys, dtype=np.int64)), shown[int(pts[-1])] if shown else 0

    # -- which frames --------------------------------------------------------------------------

    def sample_indices(self, count: int, *, snap: bool = False) -> list[int]:
        """``count`` frame indices spread evenly over the duration (fewer if the video is shorter).

        With ``snap``, each is moved to the nearest keyframe, which decodes without decoding
        anything before it (exact positions are traded for speed).
        """
        wanted = np.linspace(self._pts[0], self._pts[-1], min(count, self.frame_count))
        if snap:
            keys = self._keyframes[self._keyframes >= self._pts[0]]
            if len(keys):
                wanted = keys[np.abs(keys[None, :] - wanted[:, None]).argmin(axis=1)]
        return sorted({self._nearest(round(float(t))) for t in wanted})

    def _nearest(self, pts: int) -> int:
        """Index of the frame whose timestamp is nearest ``pts``."""
        right = int(np.searchsorted(self._pts, pts))
        if right == 0:
            return 0
        if right == len(self._pts):
            return len(self._pts) - 1
        return right if self._pts[right] - pts < pts - self._pts[right - 1] else right - 1

    # -- decoding ------------------------------------------------------------------------------

    def sample(self, indices: list[int], prepare: Prepare | None = None) -> Iterator[Frame]:
        """The frames at ``indices`` (ascending), each reached by seeking to the keyframe before it;
        ``prepare`` is applied to each frame's pixels in the decoding thread (``Frame.prepared``)."""
        if len(indices) > self._limits.max_video_frames:
            raise LimitExceededError(
                f"{len(indices)} frames asked, over the limit of {self._limits.max_video_frames} (Limits.max_video_frames)"
            )
        self.check_budget(indices)
        return self._ahead(
            lambda container, stream: self._seek_decode(container, stream, indices), len(indices), prepare
        )

    def check_budget(self, indices: list[int]) -> None:
        """LimitExceededError, before anything is decoded, when reaching ``indices`` needs more decoded frames than
        ``Limits.max_decoded_frames`` (:meth:`decode_cost`)."""
        needed = self.decode_cost(indices)
        if needed > self._limits.max_decoded_frames:
            raise LimitExceededError(
                f"reaching the {len(indices)} sampled frames needs {needed} frames decoded (from the keyframe before "
                f"each; this video has {len(self._keyframes)} keyframes in {self.frame_count} frames), over the limit "
                f"of {self._limits.max_decoded_frames} (Limits.max_decoded_frames); sample fewer frames, snap them to "
                "keyframes, or re-encode the video with more keyframes"
            )

    def decode_cost(self, indices: list[int]) -> int:
        """Frames :meth:`sample` decodes to reach ``indices`` (ascending), from the index alone: from the
        keyframe before each one, or on from the frame reached before it when that is nearer."""
        targets = np.asarray(indices, dtype=np.int64)
        if len(targets) == 0:
            return 0
        key = np.searchsorted(self._keyframes, self._pts[targets], side="right") - 1
        start = np.where(key >= 0, np.searchsorted(self._pts, self._keyframes[np.maximum(key, 0)]), 0)
        reached = np.concatenate([[-1], targets[:-1]])
        return int((targets - np.maximum(start, reached + 1) + 1).sum())

    def stream(self, prepare: Prepare | None = None) -> Iterator[Frame]:
        """Every frame in order, decoded in a background thread a few frames ahead of the caller
        (``prepare`` as for :meth:`sample`)."""
        if self.frame_count > self._limits.max_video_frames:
            raise LimitExceededError(
                f"video has {self.frame_count} frames, over the limit of {self._limits.max_video_frames} "
                "analysed frames (Limits.max_video_frames); use num_frames to sample it"
            )
        if self.frame_count > self._limits.max_decoded_frames:
            raise LimitExceededError(
                f"video has {self.frame_count} frames, over the limit of {self._limits.max_decoded_frames} "
                "decoded frames (Limits.max_decoded_frames); use num_frames to sample it"
            )
        return self._ahead(
            lambda container, stream: self._counted(container.decode(stream), self._budget()), self.frame_count, prepare
        )

    def _budget(self) -> int:
        """The value of :attr:`decoded` past which this call has decoded more than ``Limits.max_decoded_frames``."""
        return self.decoded + self._limits.max_decoded_frames

    def _counted(self, frames: Iterator[av.VideoFrame], until: int) -> Iterator[av.VideoFrame]:
        """``frames``, counted into :attr:`decoded`; LimitExceededError as soon as the count passes ``until``
        (a backstop: the index's estimate was checked before decoding, but a seek may land earlier than it said)."""
        for frame in frames:
            if self.decoded >= until:
                raise LimitExceededError(
                    f"decoding passed the limit of {self._limits.max_decoded_frames} frames "
                    "(Limits.max_decoded_frames) before reaching the frames asked; sample fewer frames, snap them "
                    "to keyframes, or re-encode the video with more keyframes"
                )
            self.decoded += 1
            yield frame

    def _seek_decode(self, container, stream, indices: list[int]) -> Iterator[av.VideoFrame]:
        """Decode forward from the keyframe before each wanted frame; never seek back over decoded ground."""
        decoder, position, until = None, None, self._budget()
        for index in indices:
            target = int(self._pts[index])
            before = self._keyframes[self._keyframes <= target]
            key = int(before[-1]) if len(before) else int(self._pts[0])
            fresh_start = decoder is None and (len(self._keyframes) == 0 or key <= self._keyframes[0])
            if not fresh_start and (decoder is None or position is None or key > position):
                container.seek(key, stream=stream, backward=True, any_frame=False)
                decoder = None
            decoder = decoder or self._counted(container.decode(stream), until)
            for frame in decoder:
                position = frame.pts if frame.pts is not None else target
                if position >= target:
                    yield frame
                    break
            else:
                return

    def _ahead(self, decode: Callable, expected: int, prepare: Prepare | None) -> Iterator[Frame]:
        """Run ``decode``, the RGB conversion and ``prepare`` in a thread, ``AHEAD`` frames ahead;
        warn on a short read."""
        frames: queue.Queue = queue.Queue(maxsize=AHEAD)
        stop = threading.Event()
        done = object()

        def put(item) -> bool:
            while not stop.is_set():
                try:
                    frames.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            try:
                with self._open() as container:
                    stream = container.streams.video[0]
                    stream.thread_type = THREAD_TYPE
                    try:
                        for frame in decode(container, stream):
                            converted = self._convert(frame)
                            if prepare is not None:
                                converted = replace(converted, prepared=prepare(converted.pixels))
                            if not put(converted):
                                return
                    except av.FFmpegError as exc:
                        self.problems.append(f"decoding stopped early: {exc}")
                put(done)
            except BaseException as exc:  # handed to the caller's thread, raised there
                put(exc)

        worker = threading.Thread(target=work, name="facekit-video-decode", daemon=True)
        worker.start()
        yielded = 0
        try:
            while (item := frames.get()) is not done:
                if isinstance(item, BaseException):
                    raise item
                yielded += 1
                yield item
        finally:
            stop.set()
            worker.join()
        self._report(yielded, expected)

    def _report(self, yielded: int, expected: int) -> None:
        if yielded == 0:
            reason = "; ".join(self.problems) or "no frame decoded"
            raise MediaDecodeError(f"no frame of the video could be decoded ({reason})")
        if yielded < expected or self.problems:
            reason = "; ".join(self.problems) or "the stream ended early"
            warnings.warn(
                f"video is truncated or corrupt ({reason}); analysed the {yielded} of {expected} frames that decode",
                RuntimeWarning,
                stacklevel=2,
            )

    def _convert(self, frame: av.VideoFrame) -> Frame:
        """``frame`` as upright RGB pixels with its index and time (full size: swscale's own resizing
        is slower than converting at full size and letting the detector resize)."""
        self.rotation = round(float(frame.rotation or 0))
        quarter = round(self.rotation / 90) % 4
        pixels: np.ndarray = frame.to_ndarray(format="rgb24")
        if quarter:
            pixels = np.ascontiguousarray(np.rot90(pixels, quarter))
        time = float(frame.pts * self._time_base) if frame.pts is not None else float("nan")
        index = self._nearest(frame.pts) if frame.pts is not None else self.decoded - 1
        return Frame(index, time, pixels)

    @property
    def width(self) -> int:
        """Upright width (after rotation)."""
        return self.stored_height if round(self.rotation / 90) % 2 else self.stored_width

    @property
    def height(self) -> int:
        """Upright height (after rotation)."""
        return self.stored_width if round(self.rotation / 90) % 2 else self.stored_height
