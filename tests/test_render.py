"""Video and picture output (facekit.render): timestamps and audio copied, anonymisation checked by
running facekit again on its own output, sampled results interpolated or refused, the CLI."""

from __future__ import annotations

import warnings

import av
import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.cli import main
from facekit.paint import Faces, anonymize
from facekit.render import _Schedule, render_video
from facekit.table import LANDMARK_COLUMNS

THRESHOLD = 0.5


def packets(path, kind: str) -> list[tuple[int, int]]:
    """(pts, duration) of every packet of the first ``kind`` stream, in presentation order."""
    with av.open(str(path)) as container:
        streams = getattr(container.streams, kind)
        if not streams:
            return []
        return sorted((p.pts, p.duration) for p in container.demux(streams[0]) if p.pts is not None)


def time_base(path) -> tuple:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream.time_base, stream.frames


@pytest.fixture(scope="module")
def pan_every(pan_clip):
    return fk.detect(pan_clip.path, every_frame=True, confidence=THRESHOLD, progress=False)


@pytest.mark.slow
def test_boxes_keep_the_source_clock_and_audio(shared_data, tmp_path):
    source = shared_data / "ephys_test_vid.mp4"  # 28 frames at 30 fps, with an AAC track
    result = fk.detect(source, every_frame=True, progress=False)
    out = render_video(result, tmp_path / "boxes.mp4", trails=True)
    assert [pts for pts, _ in packets(out, "video")] == [pts for pts, _ in packets(source, "video")]
    assert time_base(out) == time_base(source)
    assert packets(out, "audio") == packets(source, "audio") != []  # copied packet for packet
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    first = fk.media.frame_pixels(source, 0)
    assert len(frames) == 28 and frames[0].shape == first.shape
    x, y, _, h = result.to_frame().query("frame == 0")[["x", "y", "w", "h"]].iloc[0].round().astype(int)
    edge = np.abs(frames[0][y + h // 2, x - 1 : x + 2].astype(int) - first[y + h // 2, x - 1 : x + 2]).max()
    assert edge > 40  # the box's left edge is drawn where the face is
    far = np.abs(frames[0][-60:, :60].astype(int) - first[-60:, :60]).mean()
    assert far < 6  # and away from it the picture is the source's (up to compression)


@pytest.mark.slow
def test_rotated_phone_video_is_written_upright(shared_data, tmp_path):
    source = shared_data / "ephys_test_vid.mov"  # stored 640x360 with a -90 degree display matrix
    result = fk.detect(source, every_frame=True, progress=False)
    out = render_video(result, tmp_path / "upright.mp4", style="mask", shape="box", margin=0.0)
    upright = fk.media.frame_pixels(source, 5)
    with av.open(str(out)) as container:
        frame = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)][5]
    assert frame.shape == upright.shape == (640, 360, 3)
    x, y, w, h = result.to_frame().query("frame == 5")[["x", "y", "w", "h"]].iloc[0].round().astype(int)
    assert frame[y + 3 : y + h - 3, x + 3 : x + w - 3].max() < 30  # the mask is on the face, upright
    assert np.abs(frame[-100:].astype(int) - upright[-100:]).mean() < 6  # the rest is the source


@pytest.mark.slow
@pytest.mark.parametrize("style", ["pixelate", "mask"])
def test_anonymised_video_has_no_face_left(pan_every, pan_clip, tmp_path, style):
    assert len(pan_every) > 100
    out = render_video(pan_every, tmp_path / f"{style}.mp4", style=style)
    again = fk.detect(out, frames=list(range(0, 30, 2)), confidence=THRESHOLD, progress=False)  # half, for time
    assert len(again) == 0, again.to_frame()[["frame", "score", "x", "y"]]


@pytest.mark.slow
def test_anonymize_command_blurs_every_face(pan_clip, tmp_path, capsys):
    out = tmp_path / "blurred.mkv"
    assert main(["anonymize", str(pan_clip.path), str(out), "--confidence", str(THRESHOLD)]) == 0
    assert f"-> {out}" in capsys.readouterr().out
    again = fk.detect(out, every_frame=True, confidence=THRESHOLD, progress=False)
    assert len(again.frames) == 30 and len(again) == 0


@pytest.mark.slow
def test_sampled_result_is_interpolated_and_anonymising_it_is_refused(pan_clip, tmp_path):
    sampled = fk.detect(pan_clip.path, num_frames=4, progress=False)
    out = sampled.render(tmp_path / "sampled.mp4")  # Result.render delegates to render_video
    assert len(packets(out, "video")) == 30  # every frame written, analysed or not
    with pytest.raises(fk.InvalidInputError, match="not safe"):
        render_video(sampled, tmp_path / "blur.mp4", style="blur")
    with pytest.raises(fk.InvalidInputError, match="every_frame=True"):
        render_video(sampled, tmp_path / "boxes.mp4", interpolate=False)
    with pytest.warns(UserWarning, match="not safe"):
        render_video(sampled, tmp_path / "blur.mp4", style="blur", allow_sampled=True)


def test_schedule_interpolates_along_each_track():
    def face(frame, track, x, score=0.9):
        row = {"frame": frame, "x": x, "y": 10.0, "w": 20.0, "h": 30.0, "score": score, "track_id": track}
        return row | dict.fromkeys(LANDMARK_COLUMNS, x + 5.0)

    table = pd.DataFrame([face(0, 1, 0.0), face(0, 2, 100.0), face(10, 1, 50.0), face(10, 3, 300.0)])
    schedule = _Schedule(table, [0, 10, 20])
    middle = schedule.at(4)  # track 1 moves 0 -> 50; track 2 (gone later) is held until half way
    assert sorted(middle.tracks.tolist()) == [1.0, 2.0]
    assert middle.boxes[middle.tracks == 1][0, 0] == pytest.approx(20.0)
    assert middle.points[middle.tracks == 1][0, 0] == pytest.approx(25.0)
    assert sorted(schedule.at(6).tracks.tolist()) == [1.0, 3.0]  # past half way: track 3 appears
    assert sorted(schedule.at(14).tracks.tolist()) == [1.0, 3.0]  # frame 20 has no face: held until half way
    assert len(schedule.at(15)) == 0 and len(schedule.at(25)) == 0  # after the last analysed frame: none


def test_anonymize_hides_the_face_region_only():
    pixels = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    faces = Faces(np.array([[60.0, 40.0, 30.0, 40.0]]), np.full((1, 12), np.nan), np.array([0.9]), np.array([0.0]))
    for style in ("blur", "pixelate", "mask"):
        for shape in ("ellipse", "box"):
            out = anonymize(pixels.copy(), faces, style=style, shape=shape, margin=0.2)
            assert not np.array_equal(out[50:70, 70:80], pixels[50:70, 70:80])
            assert np.array_equal(out[:25], pixels[:25]) and np.array_equal(out[:, :50], pixels[:, :50])
            assert out[50:70, 70:80].std() < pixels[50:70, 70:80].std() / 2  # the detail is gone


@pytest.mark.slow
def test_picture_renders_to_a_picture_and_bad_requests_are_refused(newton_path, pan_clip, tmp_path):
    result = fk.detect(newton_path)
    out = render_video(result, tmp_path / "newton.png", style="mask", shape="box", margin=0.0)
    drawn = fk.media.frame_pixels(out)
    x, y, w, h = result.to_frame()[["x", "y", "w", "h"]].iloc[0].round().astype(int)
    assert (drawn[y + 2 : y + h - 2, x + 2 : x + w - 2] == 0).all()
    with pytest.raises(fk.InvalidInputError, match="renders to a picture"):
        render_video(result, tmp_path / "newton.mp4")
    with pytest.raises(fk.InvalidInputError, match="style must be"):
        render_video(result, tmp_path / "x.png", style="smudge")  # type: ignore[arg-type]
    with pytest.raises(fk.InvalidInputError, match="not the same video"):
        render_video(result, tmp_path / "x.png", source=pan_clip.path)
    with pytest.raises(fk.InvalidInputError, match="pass source="):
        render_video(fk.detect(fk.data.newton()), tmp_path / "x.png")  # found in an array: no file to read
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["render", str(newton_path), str(tmp_path / "bad.avi")]) == 2


def test_anonymising_lingers_across_track_gaps_and_ends():
    """A face the detector missed for a frame, or before it entered and after it left, stays
    hidden for ``linger`` frames: interpolated across a gap, held at a track's ends."""
    from facekit.render import _Schedule

    rows = [(0, 0, 10.0), (1, 0, 12.0), (3, 0, 16.0), (5, 1, 50.0), (6, 1, 52.0)]
    faces = pd.DataFrame(
        {
            "frame": [f for f, _, _ in rows],
            "track_id": pd.array([t for _, t, _ in rows], dtype="Int64"),
            "score": 0.9,
            "x": [x for _, _, x in rows],
            "y": 5.0,
            "w": 20.0,
            "h": 20.0,
            **{c: 1.0 for c in LANDMARK_COLUMNS},
        }
    )
    every = list(range(10))
    plain, lingering = _Schedule(faces, every), _Schedule(faces, every, linger=2)
    assert len(plain.at(2)) == 0
    gap = lingering.at(2)
    assert gap.tracks.tolist() == [0] and gap.boxes[0, 0] == pytest.approx(14.0)  # half way from 12 to 16
    assert sorted(lingering.at(4).tracks.tolist()) == [0, 1]  # track 0 held after its end, track 1 before its start
    assert lingering.at(4).boxes[lingering.at(4).tracks == 1][0, 0] == 50.0
    assert len(lingering.at(9)) == 0  # three frames after track 1's end: past the linger
    assert lingering.at(1).tracks.tolist() == [0]  # a frame where the face was seen is as analysed
