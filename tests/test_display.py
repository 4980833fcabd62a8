"""Inline display (facekit.display): summaries, a shrunk overlay picture and a size-capped clip."""

from __future__ import annotations

import base64
import io
import re

import av
import pytest
from PIL import Image

import facekit as fk
from facekit import display


def embedded(markup: str, kind: str) -> bytes:
    """The bytes of the first ``data:`` URI of ``kind`` (image/jpeg, video/mp4) in ``markup``."""
    found = re.search(rf"data:{kind};base64,([A-Za-z0-9+/=]+)", markup)
    assert found, f"no {kind} in the markup"
    return base64.b64decode(found.group(1))


@pytest.mark.slow
def test_picture_summary_and_thumbnail(solvay_path):
    result = fk.detect(solvay_path)
    markup = display.result_html(result, thumbnail_width=400)
    for shown in (
        "source",
        "media",
        "image, 3000 x 2171",
        "faces",
        "<td style='padding:2px 10px 2px 0;text-align:left;vertical-align:top'>29</td>",
        "threshold",
        "0.50",
        "model",
    ):
        assert shown in markup
    thumbnail = Image.open(io.BytesIO(embedded(markup, "image/jpeg")))
    assert thumbnail.size == (400, round(2171 * 400 / 3000))
    assert "<video" not in markup and "29 faces" in markup


@pytest.mark.slow
def test_video_gets_a_short_capped_clip(pan_clip, tmp_path):
    result = fk.detect(pan_clip.path, num_frames=6, progress=False)
    markup = display.result_html(result, player_seconds=1.5, player_width=320)
    assert "6 of 30" in markup and "tracks" in markup
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(embedded(markup, "video/mp4"))
    assert clip.stat().st_size < display.MAX_PLAYER_BYTES
    with av.open(str(clip)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 15 and frames[0].width == 320  # 1.5 s at 10 fps, shrunk
    capped = display.result_html(result, max_player_bytes=1000)
    assert "<video" not in capped and "over the 0.0 MB cap" in capped


def test_summary_without_a_readable_source():
    result = fk.Result.from_akool(
        {"0": {"region": [[10, 20, 30, 40]], "landmarks": [[[15, 25]] * 6], "removed": [], "frame_time": None}}
    )
    markup = display.result_html(result)
    assert "pictures not shown" in markup and "<img" not in markup


@pytest.mark.slow
def test_comparison_batch_and_evaluation_html(newton_path, tmp_path):
    result = fk.detect(newton_path, confidence=0.3)
    comparison = fk.compare(result, result.filter(confidence=0.9))
    markup = comparison._repr_html_()
    assert "facekit.Comparison" in markup and "agreement" in markup
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a picture")
    batch = fk.detect_many([str(newton_path), str(bad)], workers=1, progress=False)
    markup = batch._repr_html_()
    assert "facekit.Batch" in markup and "<details><summary>errors" in markup and "broken.jpg" in markup

    class Report:
        def summary(self) -> dict:
            return {"ap50": 0.91234, "recall": float("nan"), "frames": [1, 2, 3]}

    markup = display.evaluation_html(Report())
    assert "0.912" in markup and "[1, 2, 3]" in markup and "facekit.Report" in markup
