"""Rich notebook display: HTML summaries of Results, Batches, Comparisons and Evaluations, with a
shrunk overlay thumbnail and, for videos, a short annotated clip (capped in size so notebooks stay small).

``Result._repr_html_`` and ``Result.show()`` delegate here, as do the other objects' ``_repr_html_``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import FacekitError
from .limits import Limits

if TYPE_CHECKING:
    from .result import Result

__all__ = [
    "MAX_PLAYER_BYTES",
    "MAX_ROWS",
    "PLAYER_SECONDS",
    "PLAYER_WIDTH",
    "THUMBNAIL_WIDTH",
    "batch_html",
    "comparison_html",
    "evaluation_html",
    "result_html",
    "show",
    "summary",
]

THUMBNAIL_WIDTH = 480
"""Width in pixels of the overlay picture shown inline."""
PLAYER_SECONDS = 4.0
"""Length of the annotated clip embedded for a video."""
PLAYER_WIDTH = 360
"""Width in pixels of the embedded clip."""
MAX_PLAYER_BYTES = 2_000_000
"""An embedded clip larger than this is left out (a notebook keeps every output it shows)."""
MAX_ROWS = 10
"""Rows of a table shown inline."""

_STYLE = "font-family:sans-serif;font-size:13px;border-collapse:collapse"
_CELL = "padding:2px 10px 2px 0;text-align:left;vertical-align:top"


def result_html(
    result: Result,
    *,
    source: Any = None,
    thumbnail_width: int = THUMBNAIL_WIDTH,
    player: bool = True,
    player_seconds: float = PLAYER_SECONDS,
    player_width: int = PLAYER_WIDTH,
    max_player_bytes: int = MAX_PLAYER_BYTES,
) -> str:
    """A Result as HTML: its summary, an overlay of the frame with most faces and, for a video, a
    short annotated clip (when the source can be read; ``source`` overrides ``meta["source"]``)."""
    parts = [_heading("facekit.Result"), _table(summary(result))]
    media = _media(result, source)
    if media is None:
        parts.append(_note("pictures not shown: the source is not a readable file here (pass source=)"))
    else:
        parts.append(_thumbnail(result, media, thumbnail_width))
        if player and result.is_video:
            parts.append(_player(result, source, player_seconds, player_width, max_player_bytes))
    return _box(parts)


def summary(result: Result) -> dict[str, Any]:
    """What the inline display lists: source, media, faces, frames, tracks, model and threshold."""
    meta = result.meta
    size = f"{meta.get('width')} x {meta.get('height')}" if meta.get("width") else "?"
    media = str(meta.get("media", "?"))
    if result.is_video and meta.get("fps"):
        media += f", {size}, {meta['fps']:.2f} fps, {meta.get('duration', math.nan):.2f} s"
    else:
        media += f", {size}"
    frames = len(result.frames)
    total = meta.get("frame_count")
    tracks = result.tracks()
    return {
        "source": meta.get("source", "?"),
        "media": media,
        "faces": len(result),
        "frames analysed": f"{frames} of {total}" if total and total != frames else frames,
        "tracks": len(tracks) if result.is_video else "-",
        "model": f"{meta.get('model', meta.get('service', '?'))} ({meta.get('precision', '?')})",
        "threshold": f"{result.confidence:.2f}" + (" (largest face per frame)" if result.single_face else ""),
    }


def show(result: Result, **options: Any) -> None:
    """Display ``result`` as :func:`result_html` in the notebook (options go to it)."""
    from IPython.display import HTML, display

    display(HTML(result_html(result, **options)))


def batch_html(batch: Any) -> str:
    """A Batch as HTML: counts, then the first status rows and errors."""
    status = batch.status
    ok = int((status["status"] == "ok").sum())
    numbers = {
        "sources": len(status),
        "ok": ok,
        "errors": len(batch.errors),
        "already done": int(status["cached"].sum()),
        "faces": len(batch.faces),
        "seconds": "-" if math.isnan(batch.seconds) else f"{batch.seconds:.1f}",
    }
    parts = [_heading("facekit.Batch"), _table(numbers), _frame_html(status, "sources")]
    if len(batch.errors):
        parts.append(_frame_html(batch.errors[["source", "error_type", "error"]], "errors"))
    return _box(parts)


def comparison_html(comparison: Any) -> str:
    """A Comparison as HTML: its summary numbers and the first unmatched faces."""
    parts = [_heading("facekit.Comparison"), _table(comparison.summary())]
    if len(comparison.unmatched):
        parts.append(_frame_html(comparison.unmatched, "unmatched faces"))
    return _box(parts)


def evaluation_html(evaluation: Any) -> str:
    """An Evaluation (anything with ``summary()``) as HTML: its summary numbers."""
    return _box([_heading(f"facekit.{type(evaluation).__name__}"), _table(evaluation.summary())])


# -- pieces --------------------------------------------------------------------------------------


def _box(parts: list[str]) -> str:
    return f'<div class="facekit-display" style="{_STYLE}">' + "".join(parts) + "</div>"


def _heading(text: str) -> str:
    return f"<div style='font-weight:bold;margin-bottom:4px'>{html.escape(text)}</div>"


def _note(text: str) -> str:
    return f"<div style='color:#666;font-style:italic'>{html.escape(text)}</div>"


def _value(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.3f}"
    if isinstance(value, (list, tuple)):
        shown = ", ".join(str(v) for v in value[:MAX_ROWS])
        return f"[{shown}{', ...' if len(value) > MAX_ROWS else ''}]"
    return str(value)


def _table(numbers: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th style='{_CELL}'>{html.escape(str(key))}</th><td style='{_CELL}'>{html.escape(_value(value))}</td></tr>"
        for key, value in numbers.items()
    )
    return f"<table style='{_STYLE}'>{rows}</table>"


def _frame_html(frame: pd.DataFrame, what: str) -> str:
    shown = frame.head(MAX_ROWS).to_html(index=False, border=0, na_rep="-", float_format=lambda v: f"{v:.3f}")
    more = f" (first {MAX_ROWS} of {len(frame)})" if len(frame) > MAX_ROWS else ""
    return f"<details><summary>{html.escape(what)}{more}</summary>{shown}</details>"


def _media(result: Result, source: Any):
    """The decoded picture or video, or None when it cannot be read (the summary is shown alone)."""
    from .render import decode_source

    try:
        return decode_source(result, source, Limits.from_env())[0]
    except FacekitError:
        return None


def _thumbnail(result: Result, media: Any, width: int) -> str:
    """The analysed frame with the most faces, shrunk to ``width`` and drawn on, as an inline JPEG."""
    from PIL import Image

    from .media import frame_pixels
    from .paint import Faces, draw_boxes
    from .plot.pictures import shrunk

    faces = result.to_frame()
    counts = faces["frame"].value_counts()
    frame = int(np.asarray(counts.index)[0]) if len(counts) else result.frames[0]
    pixels = frame_pixels(media, frame)
    small = np.ascontiguousarray(shrunk(pixels, width))
    scale = small.shape[1] / pixels.shape[1]
    rows = faces[faces["frame"] == frame]
    drawn = draw_boxes(small.copy(), Faces.of(rows, scale))
    buffer = io.BytesIO()
    Image.fromarray(drawn).save(buffer, format="jpeg", quality=85)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    caption = f"frame {frame}" if result.is_video else "picture"
    return (
        f"<figure style='margin:6px 0'><img class='facekit-thumbnail' src='data:image/jpeg;base64,{data}' "
        f"width='{drawn.shape[1]}'/><figcaption style='color:#666'>{caption}, "
        f"{len(rows)} face{'' if len(rows) == 1 else 's'}</figcaption></figure>"
    )


def _player(result: Result, source: Any, seconds: float, width: int, max_bytes: int) -> str:
    """The first ``seconds`` of the video with boxes drawn, as an inline H.264 player (or a note when too big)."""
    from .render import render_video

    with tempfile.TemporaryDirectory(prefix="facekit-") as folder:
        path = Path(folder) / "preview.mp4"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a sampled result is interpolated: fine for a preview
            render_video(result, path, source=source, seconds=seconds, width=width)
        data = path.read_bytes()
    if len(data) > max_bytes:
        return _note(
            f"clip left out: {len(data) / 1e6:.1f} MB over the {max_bytes / 1e6:.1f} MB cap (max_player_bytes)"
        )
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f"<video class='facekit-player' controls loop muted playsinline width='{width}' "
        f"src='data:video/mp4;base64,{encoded}'></video>"
        f"<div style='color:#666'>first {seconds:g} s, annotated ({len(data) / 1e3:.0f} kB)</div>"
    )
