"""A Result drawn back onto its source: an annotated or anonymised video (or picture) file.

Videos are streamed (decoded, painted and encoded one frame at a time, so memory stays flat
whatever their length) with PyAV: same frame timestamps and time base as the source, audio
copied packet for packet. Frames the result did not analyse (a sampled result) get faces
interpolated along each track between the analysed frames around them; anonymising such a
result is refused unless ``allow_sampled=True``, because a face between two samples can be missed.
"""

from __future__ import annotations

import os
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import cv2
import numpy as np
import pandas as pd

from .errors import InvalidInputError, UnsupportedMediaError
from .limits import Limits
from .media import Picture, Source, Video, locate, open_media
from .media.sources import SourceLike
from .paint import SHAPES, STYLES, Faces, Shape, Style, anonymize, draw_boxes

if TYPE_CHECKING:
    from .result import Result

__all__ = [
    "ANONYMIZE_CONFIDENCE",
    "DEFAULT_MARGIN",
    "DEFAULT_SHAPE",
    "PICTURE_SUFFIXES",
    "VIDEO_CODECS",
    "render_video",
]

PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
VIDEO_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}
"""Output codec by file suffix (``codec=`` overrides it)."""
ENCODER_OPTIONS = {
    "libx264": {"crf": "20", "preset": "veryfast"},
    "libvpx-vp9": {"crf": "34", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
}
DEFAULT_SHAPE: Shape = "ellipse"
DEFAULT_MARGIN = 0.5
"""Growth of each face box on every side, as a fraction of its size, before hiding it: with less,
the blurred head outline is still found as a face now and then (bench/bench_render.py)."""
ANONYMIZE_CONFIDENCE = 0.3
"""``facekit anonymize`` hides faces down to this score, under detect's 0.5: a hidden non-face costs little."""
TRAIL_SECONDS = 1.0
"""How far back a track's trail reaches."""
LINGER_SECONDS = 0.5
"""How long an anonymised face stays hidden where its track has no detection: across a gap in
the track (a one-frame dropout, a turned head) and before its first and after its last detection
(a face entering or leaving, cut by the picture's edge, where the detector misses it)."""


def render_video(
    result: Result,
    path: str | os.PathLike[str],
    *,
    source: SourceLike | None = None,
    style: Style = "boxes",
    confidence: float | None = None,
    shape: Shape = DEFAULT_SHAPE,
    margin: float = DEFAULT_MARGIN,
    trails: bool = False,
    labels: bool = True,
    landmarks: bool = True,
    interpolate: bool = True,
    allow_sampled: bool = False,
    seconds: float | None = None,
    width: int | None = None,
    codec: str | None = None,
    progress: bool = False,
    limits: Limits | None = None,
    linger: float | None = None,
) -> Path:
    """Write ``result`` drawn on its ``source`` (default: the file it was detected from) to ``path``.

    ``style`` "boxes" draws boxes, ``#track score`` labels, landmarks and (``trails``) each
    track's last second of centres; "blur", "pixelate" and "mask" hide each face within an
    ``ellipse`` or its ``box``, grown by ``margin`` (a fraction of its size) on every side.
    ``confidence`` re-filters the faces first (no model run). A picture result writes a picture
    (``.png``, ``.jpg``, ...); a video result a video (``.mp4``, ``.mkv``, ``.mov``, ``.webm``)
    with the source's timestamps and audio. ``seconds`` and ``width`` cut and shrink the output
    (for previews). Frames not analysed are interpolated (``interpolate=False`` refuses them).
    ``progress`` shows a tqdm bar of frames written. ``linger`` (seconds; default
    :data:`LINGER_SECONDS` when anonymising, 0 for boxes) keeps a hidden face hidden across gaps
    in its track and that long before and after it.
    """
    if style not in STYLES:
        raise InvalidInputError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if shape not in SHAPES:
        raise InvalidInputError(f"shape must be one of {', '.join(SHAPES)}, got {shape!r}")
    if not 0 <= margin <= 2:
        raise InvalidInputError(f"margin must be a fraction of the face size from 0 to 2, got {margin!r}")
    path = Path(path)
    limits = limits or Limits.from_env()
    if confidence is not None:
        result = result.filter(confidence=confidence)
    media, found = decode_source(result, source, limits)
    _check_match(result, media)
    draw = _Painter(style, shape, margin, trails, labels, landmarks)
    if not isinstance(media, Video):
        if path.suffix.lower() not in PICTURE_SUFFIXES:
            raise InvalidInputError(
                f"a picture result renders to a picture ({', '.join(PICTURE_SUFFIXES)}), not {path.name}"
            )
        from PIL import Image

        faces = _Schedule(result.to_frame(), [0]).at(0)
        Image.fromarray(_shrink(draw(media.rgb().copy(), faces, 0, np.nan), width)).save(path)
        return path
    if path.suffix.lower() not in VIDEO_CODECS and codec is None:
        raise InvalidInputError(f"a video result renders to {', '.join(VIDEO_CODECS)}, not {path.name}")
    sampled = len(result.frames) < media.frame_count
    if sampled and not interpolate:
        raise InvalidInputError(
            f"the result analysed {len(result.frames)} of the video's {media.frame_count} frames; detect with "
            "every_frame=True, or pass interpolate=True to move the faces between analysed frames"
        )
    if sampled and style != "boxes":
        if not allow_sampled:
            raise InvalidInputError(
                f"anonymising a sampled result is not safe: only {len(result.frames)} of {media.frame_count} frames "
                "were analysed, and faces between them can be missed; detect with every_frame=True "
                "(or pass allow_sampled=True to accept faces interpolated between the analysed frames)"
            )
        warnings.warn(
            f"anonymising a sampled result ({len(result.frames)} of {media.frame_count} frames analysed): faces "
            "between analysed frames are interpolated and may be missed; not safe for privacy",
            UserWarning,
            stacklevel=2,
        )
    if linger is None:
        linger = 0.0 if style == "boxes" else LINGER_SECONDS
    if linger < 0:
        raise InvalidInputError(f"linger must be seconds >= 0, got {linger!r}")
    schedule = _Schedule(result.to_frame(), result.frames, linger=round(linger * (media.fps or 0)))
    _write_video(
        media,
        found,
        path,
        schedule,
        draw,
        seconds=seconds,
        width=width,
        codec=codec,
        progress=progress,
    )
    return path


def check_output(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path, refused early unless its suffix names a picture or video format facekit writes."""
    path = Path(path)
    if path.suffix.lower() not in (*PICTURE_SUFFIXES, *VIDEO_CODECS):
        raise InvalidInputError(
            f"cannot write {path.name}: use a video ({', '.join(VIDEO_CODECS)}) or picture "
            f"({', '.join(PICTURE_SUFFIXES)}) suffix"
        )
    return path


def decode_source(result: Result, source: SourceLike | None, limits: Limits) -> tuple[Picture | Video, Source]:
    """The picture or video a result was detected from (``source``, or the file named in its meta),
    opened where it lies, and the located source (the audio is copied from it)."""
    found = locate(_source_of(result, source), limits)
    return open_media(found, limits), found


def _source_of(result: Result, source: SourceLike | None) -> SourceLike:
    if source is not None:
        return source
    if result.source_file is not None:
        return result.source_file
    raise InvalidInputError(
        f"rendering needs the picture or video the faces were found in ({result.run.source!r} is not a file here): "
        "pass source="
    )


def _check_match(result: Result, media: Picture | Video) -> None:
    """Refuse a source that is not the one the result came from (another kind, size or length)."""
    kind = "video" if isinstance(media, Video) else "picture"
    if result.is_video != isinstance(media, Video):
        raise InvalidInputError(
            f"the source is a {kind} but the result was found in a "
            f"{'video' if result.is_video else 'picture'}: not the same video or picture"
        )
    size = (result.meta.get("width"), result.meta.get("height"))
    turned = (media.height, media.width)  # a video's rotation is known only once a frame is decoded
    if None not in size and size not in ((media.width, media.height), turned):
        raise InvalidInputError(
            f"the source is a {media.width}x{media.height} {kind} but the result was found in a "
            f"{size[0]}x{size[1]} one: not the same {kind}"
        )
    if isinstance(media, Video) and result.frames and result.frames[-1] >= media.frame_count:
        raise InvalidInputError(
            f"the result has frame {result.frames[-1]} but the source has {media.frame_count} frames: not the same video"
        )


class _Painter:
    """One frame's drawing: boxes (with trails kept across frames) or anonymisation."""

    def __init__(self, style: str, shape: str, margin: float, trails: bool, labels: bool, landmarks: bool) -> None:
        self.style, self.shape, self.margin = style, shape, margin
        self.labels, self.landmarks = labels, landmarks
        self.trails: dict[float, deque[tuple[float, float, float]]] | None = {} if trails else None

    def __call__(self, pixels: np.ndarray, faces: Faces, index: int, time: float) -> np.ndarray:
        if self.style != "boxes":
            return anonymize(pixels, faces, style=self.style, shape=self.shape, margin=self.margin)  # type: ignore[arg-type]
        paths = None
        if self.trails is not None:
            self._follow(faces, index if np.isnan(time) else time)
            paths = {track: [(x, y) for _, x, y in points] for track, points in self.trails.items()}
        return draw_boxes(pixels, faces, labels=self.labels, landmarks=self.landmarks, trails=paths)

    def _follow(self, faces: Faces, clock: float) -> None:
        """Add each track's centre at ``clock``; forget points older than TRAIL_SECONDS and tracks gone."""
        assert self.trails is not None
        present = set()
        for (x, y, w, h), track in zip(faces.boxes, faces.tracks):
            if np.isnan(track):
                continue
            present.add(track)
            self.trails.setdefault(track, deque()).append((clock, x + w / 2, y + h / 2))
        for track in list(self.trails):
            points = self.trails[track]
            while points and clock - points[0][0] > TRAIL_SECONDS:
                points.popleft()
            if track not in present or not points:
                del self.trails[track]


class _Schedule:
    """The faces of any frame: as analysed, or interpolated along each track between the analysed
    frames around it (a track seen on one side only is held up to half way); none outside them.

    With ``linger`` (frames), a track missing from a frame within ``linger`` frames of where it was
    seen is added there too: interpolated across a gap in the track, held at its first or last
    box before and after it (anonymising must not let a face show for a frame the detector missed).
    """

    def __init__(self, faces: pd.DataFrame, analysed: list[int], *, linger: int = 0) -> None:
        self.analysed = np.asarray(sorted(analysed), dtype=np.int64)
        by_frame = dict(tuple(faces.groupby("frame", sort=True)))
        self.faces = {int(f): Faces.of(by_frame.get(f)) for f in self.analysed.tolist()}
        self.linger = linger
        tracked = faces[faces["track_id"].notna()].sort_values(["track_id", "frame"], kind="stable")
        self.tracks = [(rows["frame"].to_numpy(np.int64), Faces.of(rows)) for _, rows in tracked.groupby("track_id")]
        self.spans = np.array([(frames[0], frames[-1]) for frames, _ in self.tracks], np.int64).reshape(-1, 2)

    def at(self, index: int) -> Faces:
        faces = self._seen(index)
        return self._lingering(index, faces) if self.linger else faces

    def _seen(self, index: int) -> Faces:
        if index in self.faces:
            return self.faces[index]
        right = int(np.searchsorted(self.analysed, index))
        if right == 0 or right == len(self.analysed):
            return Faces.none()
        before, after = int(self.analysed[right - 1]), int(self.analysed[right])
        return _between(self.faces[before], self.faces[after], (index - before) / (after - before))

    def _lingering(self, index: int, faces: Faces) -> Faces:
        """``faces`` plus the tracks seen within ``linger`` frames of ``index`` but not at it."""
        extra = []
        near = (self.spans[:, 0] - self.linger <= index) & (index <= self.spans[:, 1] + self.linger)
        for frames, seen in (self.tracks[i] for i in np.flatnonzero(near)):
            if seen.tracks[0] in faces.tracks:
                continue
            right = int(np.searchsorted(frames, index))
            before = int(frames[right - 1]) if right > 0 else None
            after = int(frames[right]) if right < len(frames) else None
            if before is not None and after is not None and after - before <= 2 * self.linger:
                t = (index - before) / (after - before)
                extra.append(_between(seen.take(np.array([right - 1])), seen.take(np.array([right])), t))
            elif before is not None and index - before <= self.linger:
                extra.append(seen.take(np.array([right - 1])))
            elif after is not None and after - index <= self.linger:
                extra.append(seen.take(np.array([right])))
        if not extra:
            return faces
        return Faces.concat([faces, *extra])


def _between(one: Faces, two: Faces, t: float) -> Faces:
    """Faces a fraction ``t`` of the way from ``one`` to ``two``, matched by track id."""
    shared, left, right = np.intersect1d(one.tracks, two.tracks, return_indices=True)
    a, b = one.take(left), two.take(right)
    moved = Faces(
        a.boxes + (b.boxes - a.boxes) * t, a.points + (b.points - a.points) * t, np.fmin(a.scores, b.scores), shared
    )
    held = one if t < 0.5 else two
    alone = ~np.isin(held.tracks, shared) | np.isnan(held.tracks)
    return Faces.concat([moved, held.take(np.flatnonzero(alone))])


@dataclass(frozen=True)
class _Timing:
    """The source video stream's clock, copied onto the output."""

    time_base: Fraction
    rate: Fraction | None


def _write_video(
    video: Video,
    found: Source,
    path: Path,
    schedule: _Schedule,
    draw: _Painter,
    *,
    seconds: float | None,
    width: int | None,
    codec: str | None,
    progress: bool,
) -> None:
    """Decode, paint and encode every frame in order; audio packets are copied as they come due."""
    codec = codec or VIDEO_CODECS[path.suffix.lower()]
    if codec not in av.codecs_available:
        raise UnsupportedMediaError(f"this PyAV build has no {codec} encoder")
    with found.open() as file, av.open(file, mode="r", metadata_errors="replace") as source:
        stream = source.streams.video[0]
        timing = _Timing(stream.time_base or Fraction(1, 1000), stream.average_rate or stream.guessed_rate)
        audio = source.streams.audio[0] if source.streams.audio else None
        total = video.frame_count if seconds is None else min(video.frame_count, max(1, round(seconds * video.fps)))
        output = av.open(str(path), mode="w")
        try:
            _encode(video, output, codec, timing, schedule, draw, audio, source, seconds, width, total, progress)
        except BaseException:
            output.close()
            path.unlink(missing_ok=True)  # no half-written file left looking like a finished one
            raise
        output.close()


def _encode(
    video: Video,
    output,
    codec: str,
    timing: _Timing,
    schedule: _Schedule,
    draw: _Painter,
    audio,
    source,
    seconds: float | None,
    width: int | None,
    total: int,
    progress: bool,
) -> None:
    from tqdm.auto import tqdm

    out, copied, start = None, None, None
    with tqdm(total=total, unit="frame", desc="facekit render", disable=not progress) as bar:
        for frame in video.stream():
            start = frame.time if start is None else start
            if seconds is not None and frame.time - start >= seconds:
                break
            pixels = _even(_shrink(draw(frame.pixels, schedule.at(frame.index), frame.index, frame.time), width))
            if out is None:  # the upright size is known from the first frame (rotation is in the frames)
                out = _video_stream(output, codec, timing, pixels.shape[:2])
                copied = _AudioCopy(output, source, audio) if audio is not None else None
            picture = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            picture.pts = _pts(frame.time, timing.time_base, frame.index, timing.rate)
            picture.time_base = timing.time_base
            if copied is not None:
                copied.until(frame.time)
            output.mux(out.encode(picture))
            bar.update()
    if out is not None:
        output.mux(out.encode(None))
    if copied is not None:
        copied.until(None if seconds is None else (start or 0.0) + seconds)


def _video_stream(output, codec: str, timing: _Timing, shape: tuple[int, ...]):
    stream = output.add_stream(codec, rate=timing.rate or Fraction(25, 1))
    stream.width, stream.height = shape[1], shape[0]
    stream.pix_fmt = "yuv420p"
    stream.time_base = timing.time_base
    stream.codec_context.time_base = timing.time_base
    stream.thread_type = "AUTO"
    stream.options = dict(ENCODER_OPTIONS.get(codec, {}))
    return stream


def _pts(time: float, time_base: Fraction, index: int, rate: Fraction | None) -> int:
    """The source timestamp of a frame (its time in seconds back in the stream's time base)."""
    if np.isnan(time):
        time = index / float(rate or 25)
    return round(time / time_base)


class _AudioCopy:
    """The source's first audio stream, packets copied (not re-encoded) in time order beside the video."""

    def __init__(self, output, source, audio) -> None:
        self.output, self.stream = output, None
        if audio.codec_context.name in getattr(output, "supported_codecs", {audio.codec_context.name}):
            self.stream = output.add_stream_from_template(audio)
        else:
            warnings.warn(
                f"audio ({audio.codec_context.name}) not copied: {Path(output.name).suffix} files cannot hold it; "
                "write .mkv to keep it",
                UserWarning,
                stacklevel=5,
            )
        self.packets: Iterator[Any] = source.demux(audio)
        self.time_base = audio.time_base

    def until(self, time: float | None) -> None:
        """Copy the packets that start before ``time`` (all that are left with None)."""
        if self.stream is None:
            return
        for packet in self.packets:
            if packet.dts is None:
                continue
            packet.stream = self.stream
            self.output.mux(packet)
            if time is not None and packet.pts is not None and float(packet.pts * self.time_base) >= time:
                return


def _shrink(pixels: np.ndarray, width: int | None) -> np.ndarray:
    if width is None or pixels.shape[1] <= width:
        return pixels
    height = max(2, round(pixels.shape[0] * width / pixels.shape[1]))
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)


def _even(pixels: np.ndarray) -> np.ndarray:
    """Pixels padded by one edge row or column where needed: 4:2:0 video needs even sizes."""
    bottom, right = pixels.shape[0] % 2, pixels.shape[1] % 2
    if not (bottom or right):
        return pixels
    return cv2.copyMakeBorder(pixels, 0, bottom, 0, right, cv2.BORDER_REPLICATE)
