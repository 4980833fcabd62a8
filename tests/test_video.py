"""Videos end to end: real clips (../shared/data) and a generated pan across Solvay 1927, real decoder and model."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.media import Video
from facekit.tracking import departures

EPHYS = ("ephys_test_vid.mp4", "ephys_test_vid.mov")
WALKING = ("intel_face-demographics-walking-and-pause.mp4", "intel_face-demographics-walking-and-pause.gif")


def _assert_removed_contract(result: fk.Result) -> None:
    """``removed`` holds, at the first analysed frame after a track's visit ends (it is gone for
    good, or for longer than the tracker's patience), that track's last box; faces_obj agrees."""
    removed = result.removed().reset_index(drop=True)
    expected = departures(result.to_frame(), result.frames_table())
    pd.testing.assert_frame_equal(removed, expected.reset_index(drop=True), check_dtype=False)
    obj = result.faces_obj
    assert all(len(obj[str(f)]["removed"]) == (removed["frame"] == f).sum() for f in result.frames)


@pytest.fixture(scope="module")
def ephys(shared_data, model_path) -> dict[str, fk.Result]:
    return {name: fk.detect(shared_data / name, every_frame=True, progress=False) for name in EPHYS}


@pytest.fixture(scope="module")
def solvay_faces(solvay_path) -> np.ndarray:
    """True [x, y, w, h] of the 29 faces in the Solvay picture."""
    return fk.detect(solvay_path).to_frame()[["x", "y", "w", "h"]].to_numpy()


@pytest.fixture(scope="module")
def pan(tmp_path_factory, solvay_path) -> fk.data.PanVideo:
    return fk.data.pan_video(tmp_path_factory.mktemp("pan") / "pan.mp4", seconds=4.0, fps=10.0, size=(640, 360))


# -- real clips ---------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", EPHYS)
def test_ephys_one_face_per_frame_on_the_tsv_centre(ephys, shared_data, name):
    result = ephys[name]
    truth = pd.read_csv(shared_data / "ephys_face_data.tsv", sep="\t")
    faces = result.to_frame()
    assert result.frames == list(range(28)) == faces["frame"].tolist()
    assert (result.meta["media"], result.meta["width"], result.meta["height"]) == ("video", 360, 640)
    cx, cy = truth["x"].to_numpy(), truth["y"].to_numpy()
    assert (
        (faces["x"] <= cx) & (cx <= faces["x"] + faces["w"]) & (faces["y"] <= cy) & (cy <= faces["y"] + faces["h"])
    ).all()
    assert faces["track_id"].nunique() == 1
    times = [result.faces_obj[str(f)]["frame_time"] for f in result.frames]
    assert np.allclose(times, np.arange(28) / 30, atol=0.004)


@pytest.mark.slow
def test_rotated_mov_gives_the_mp4_boxes(ephys):
    mov, mp4 = ephys["ephys_test_vid.mov"], ephys["ephys_test_vid.mp4"]
    assert mov.meta["rotation"] == -90 and mp4.meta["rotation"] == 0
    columns = ["x", "y", "w", "h"]
    assert np.abs(mov.to_frame()[columns].to_numpy() - mp4.to_frame()[columns].to_numpy()).max() < 3.0


@pytest.mark.slow
@pytest.mark.parametrize("name", WALKING)
def test_walking_three_faces_three_tracks(shared_data, name, capsys):
    result = fk.detect(shared_data / name, every_frame=True, progress=True)
    faces = result.to_frame()
    assert result.frames == list(range(41))
    assert (faces.groupby("frame").size() == 3).all()
    tracks = result.tracks()
    assert len(tracks) == 3 and (tracks["n_frames"] == 41).all()
    assert result.removed().empty
    assert "41/41" in capsys.readouterr().err  # the progress bar counted every frame
    sampled = fk.detect(shared_data / name, num_frames=5, progress=False)
    assert sampled.frames == [0, 10, 20, 30, 40]
    assert sampled.to_frame()["track_id"].nunique() == 3
    assert sampled.to_akool()["faces_obj"].keys() == {"0", "10", "20", "30", "40"}


@pytest.mark.slow
def test_every_source_type_gives_the_same_video_result(shared_data, model_path):
    path = shared_data / WALKING[0]
    data = path.read_bytes()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{path.name}"
        sources = [
            str(path),
            data,
            base64.b64encode(data).decode(),
            "data:video/mp4;base64," + base64.b64encode(data).decode(),
            url,
        ]
        answers = [fk.detect(s, num_frames=2, progress=False).to_akool() for s in sources]
    finally:
        server.shutdown()
    assert all(a == answers[0] for a in answers) and list(answers[0]["faces_obj"]) == ["0", "40"]


@pytest.mark.slow
def test_crops_single_face_and_filter_per_frame(shared_data, tmp_path):
    result = fk.detect(shared_data / WALKING[0], num_frames=3, crops=True, crops_dir=tmp_path, progress=False)
    for entry in result.faces_obj.values():
        assert len(entry["face_urls"]) == len(entry["region"]) == 3
        assert all(Path(url.removeprefix("file://")).is_file() for url in entry["face_urls"])
    single = result.filter(single_face=True).to_frame()
    assert (single.groupby("frame").size() == 1).all()
    # A threshold between the scores of each frame drops faces in some frames only: tracks and removed follow.
    scores = result.to_frame()["score"]
    higher = result.filter(confidence=float(scores.median()))
    assert 0 < len(higher) < len(result)
    _assert_removed_contract(higher)
    assert len(higher.tracks()) <= 3


# -- the generated pan: true track of every face known ------------------------------------------


def _owners(result: fk.Result, pan: fk.data.PanVideo, truth: np.ndarray) -> dict[int, set[int]]:
    """For each true face, the track ids of the detections on it in the frames where it is wholly in view."""
    faces = result.to_frame()
    owners: dict[int, set[int]] = {}
    for frame in result.frames:
        here = faces[faces["frame"] == frame]
        centres = here[["x", "y"]].to_numpy() + here[["w", "h"]].to_numpy() / 2
        for face, box in enumerate(pan.to_video(truth, frame)):
            if box[0] < 0 or box[0] + box[2] > pan.size[0]:
                continue
            distance = np.linalg.norm(centres - (box[:2] + box[2:] / 2), axis=1)
            assert len(distance) and distance.min() < box[2] / 2, f"face {face} missed in frame {frame}"
            owners.setdefault(face, set()).add(int(here["track_id"].iloc[int(distance.argmin())]))
    return owners


@pytest.mark.slow
def test_pan_every_frame_keeps_ids_and_removes_faces_that_leave(pan, solvay_faces):
    result = fk.detect(pan.path, every_frame=True, progress=False)
    assert result.frames == list(range(40))
    owners = _owners(result, pan, solvay_faces)
    assert all(len(ids) == 1 for ids in owners.values()), owners
    _assert_removed_contract(result)
    faces, removed = result.to_frame(), result.removed()
    left = 0
    for face, (track_id,) in owners.items():
        gone = removed[removed["track_id"] == track_id]
        boxes = np.array([pan.to_video(solvay_faces[face : face + 1], f)[0] for f in range(40)])
        if boxes[-1, 0] + boxes[-1, 2] > 0:
            continue  # still (partly) in view at the end
        left += 1
        assert len(gone) == 1, f"face {face} left the picture but is not in removed"
        frame = int(gone["frame"].iloc[0])
        last_seen = faces.loc[faces["track_id"] == track_id, "frame"].max()
        assert frame == last_seen + 1  # listed at the first analysed frame without it
        assert boxes[frame - 1, 0] + boxes[frame - 1, 2] > 0 and boxes[frame, 0] < 0  # it was leaving then
    assert left >= 5


@pytest.mark.slow
def test_pan_sparse_samples_keep_ids(pan, solvay_faces):
    result = fk.detect(pan.path, num_frames=10, progress=False)
    owners = _owners(result, pan, solvay_faces)
    assert len(owners) >= 20 and all(len(ids) == 1 for ids in owners.values()), owners
    _assert_removed_contract(result)


# -- sampling by seek, timestamps -------------------------------------------------------------------


@pytest.mark.slow
def test_sampling_decodes_a_small_part_and_matches_container_timestamps(tmp_path, solvay_path):
    long = fk.data.pan_video(tmp_path / "long.mp4", seconds=60.0, fps=10.0, size=(320, 180), keyframe_interval=20)
    result = fk.detect(long.path, num_frames=10, progress=False)
    assert result.meta["frame_count"] == 600 and len(result.frames) == 10
    assert result.meta["frames_decoded"] <= 10 * 20 < 600 / 2
    with av.open(str(long.path)) as container:
        stream = container.streams.video[0]
        pts = sorted(p.pts for p in container.demux(stream) if p.size)
        seconds = [float(pts[f] * stream.time_base) for f in result.frames]
    assert result.frames == [round(i * 599 / 9) for i in range(10)]
    assert [result.faces_obj[str(f)]["frame_time"] for f in result.frames] == pytest.approx(seconds)
    snapped = fk.detect(long.path, num_frames=10, snap_to_keyframes=True, progress=False)
    assert snapped.meta["frames_decoded"] == len(snapped.frames) and all(f % 20 == 0 for f in snapped.frames)


def _variable_rate_video(path: Path, times_ms: list[int]) -> Path:
    """A tiny H.264 mp4 whose frames are shown at the given irregular times."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, ms in enumerate(times_ms):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_variable_frame_rate_times_come_from_each_frame(tmp_path):
    times_ms = [0, 40, 50, 200, 210, 600, 1000, 1010]
    video = Video(_variable_rate_video(tmp_path / "vfr.mp4", times_ms).read_bytes(), fk.Limits())
    frames = list(video.stream())
    assert [f.index for f in frames] == list(range(8))
    assert [f.time for f in frames] == pytest.approx([t / 1000 for t in times_ms], abs=1e-3)
    assert video.sample_indices(3) == [0, 5, 7]  # evenly over time (0, 0.505, 1.01 s), not over indices


@pytest.mark.slow
def test_frames_without_faces_are_kept_empty(tmp_path, model_path):
    result = fk.detect(_variable_rate_video(tmp_path / "blank.mp4", [0, 100, 200]), every_frame=True, progress=False)
    assert result.frames == [0, 1, 2] and len(result) == 0 and result.tracks().empty
    assert [entry["region"] for entry in result.to_akool()["faces_obj"].values()] == [[], [], []]


# -- limits, truncated and corrupt input -------------------------------------------------------------


def test_limits_refuse_long_large_or_too_many_frames(shared_data):
    data = (shared_data / WALKING[0]).read_bytes()
    with pytest.raises(fk.LimitExceededError, match="max_video_seconds"):
        Video(data, fk.Limits(max_video_seconds=1.0))
    with pytest.raises(fk.LimitExceededError, match="max_video_pixels"):
        Video(data, fk.Limits(max_video_pixels=100_000))
    with pytest.raises(fk.LimitExceededError, match="max_video_frames"):
        Video(data, fk.Limits(max_video_frames=40)).stream()


def test_limits_from_environment(monkeypatch):
    monkeypatch.setenv("FACEKIT_MAX_VIDEO_SECONDS", "12.5")
    monkeypatch.setenv("FACEKIT_MAX_VIDEO_FRAMES", "99")
    limits = fk.Limits.from_env()
    assert (limits.max_video_seconds, limits.max_video_frames) == (12.5, 99)


def test_truncated_video_yields_what_decodes_with_a_warning(shared_data):
    data = (shared_data / "intel_asl_bird.mkv").read_bytes()
    with pytest.warns(RuntimeWarning, match="truncated or corrupt"):
        frames = list(Video(data[: len(data) * 6 // 10], fk.Limits()).stream())
    assert 20 < len(frames) < 63 and [f.index for f in frames] == list(range(len(frames)))


@pytest.mark.parametrize("cut", [0.05, 0.6])
def test_video_that_does_not_decode_is_a_clear_error(shared_data, cut):
    data = (shared_data / WALKING[0]).read_bytes()  # index at the end: a cut file has no frames
    with pytest.raises(fk.MediaDecodeError, match="video"):
        Video(data[: int(len(data) * cut)], fk.Limits())


@pytest.mark.slow
def test_detect_on_a_corrupt_video_warns_and_answers(shared_data, model_path):
    data = bytearray((shared_data / "ephys_test_vid.mp4").read_bytes())
    data[len(data) // 3 :: 97] = bytes(b ^ 0xFF for b in data[len(data) // 3 :: 97])
    with pytest.warns(RuntimeWarning, match="truncated or corrupt"):
        result = fk.detect(bytes(data), every_frame=True, progress=False)
    assert 0 < len(result.frames) < 28
    with pytest.raises(fk.MediaDecodeError):
        fk.detect(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(fk.detect(shared_data / EPHYS[0], num_frames=2, progress=False).frames) == 2


def test_frames_analyses_exactly_the_given_indices(tmp_path):
    clip = fk.data.pan_video(tmp_path / "pan.mp4", seconds=2.0, fps=10.0)
    sampled = fk.detect(clip.path, num_frames=4)
    chosen = fk.detect(clip.path, frames=[sampled.frames[2], sampled.frames[0]])
    assert chosen.frames == [sampled.frames[0], sampled.frames[2]]
    mine = chosen.candidates().drop(columns="track_id")
    theirs = sampled.candidates().drop(columns="track_id")
    theirs = theirs[theirs["frame"].isin(chosen.frames)].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)


@pytest.mark.parametrize("frames", [[], [0, 0], [-1], [10_000], [1.5], [True]])
def test_frames_refuses_bad_indices(tmp_path, frames):
    clip = fk.data.pan_video(tmp_path / "pan.mp4", seconds=1.0, fps=10.0)
    with pytest.raises(fk.InvalidInputError, match="frames must be"):
        fk.detect(clip.path, frames=frames)


def test_prepare_runs_in_the_decoding_thread(shared_data):
    """A caller's ``prepare`` (the model input) is made ahead, beside decoding, for streams and samples."""
    video = Video(shared_data / "ephys_test_vid.mp4", fk.Limits())
    assert video.source.path == shared_data / "ephys_test_vid.mp4" and video.source.data is None
    where = lambda pixels: (threading.current_thread().name, pixels.shape)  # noqa: E731
    streamed = list(video.stream(where))
    assert len(streamed) == video.frame_count
    assert all(frame.prepared == ("facekit-video-decode", frame.pixels.shape) for frame in streamed)
    assert [frame.prepared[0] for frame in video.sample([3, 20], where)] == ["facekit-video-decode"] * 2


# -- decode budget -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_keyframe(tmp_path_factory) -> Path:
    """10 s at 30 fps of small frames with a single keyframe: any sample past the first frame decodes from frame 0."""
    target = tmp_path_factory.mktemp("budget") / "one-keyframe.mp4"
    return fk.data.pan_video(target, seconds=10.0, fps=30.0, size=(64, 36), keyframe_interval=100_000).path


def test_sampling_past_the_decode_budget_is_refused_before_decoding(one_keyframe):
    video = Video(one_keyframe, fk.Limits(max_decoded_frames=299))
    indices = video.sample_indices(5)
    assert video.decode_cost(indices) == 300 == video.frame_count
    with pytest.raises(
        fk.LimitExceededError, match=r"needs 300 frames decoded .* limit of 299 \(Limits\.max_decoded_frames\)"
    ):
        video.sample(indices)
    with pytest.raises(fk.LimitExceededError, match=r"300 frames, over the limit of 299 decoded frames"):
        video.stream()
    assert video.decoded == 0
    assert [f.index for f in video.sample(video.sample_indices(5, snap=True))] == [0]  # the keyframe costs one frame
    assert video.decoded == 1


def test_sampling_within_the_decode_budget_decodes_what_the_index_predicts(one_keyframe, tmp_path):
    video = Video(one_keyframe, fk.Limits(max_decoded_frames=300))
    indices = video.sample_indices(5)
    assert [f.index for f in video.sample(indices)] == indices and video.decoded == 300
    spaced = fk.data.pan_video(tmp_path / "spaced.mp4", seconds=10.0, fps=30.0, size=(64, 36), keyframe_interval=30)
    video = Video(spaced.path, fk.Limits(max_decoded_frames=250))
    for count in (5, 17):
        before, indices = video.decoded, video.sample_indices(count)
        assert [f.index for f in video.sample(indices)] == indices
        assert video.decoded - before == video.decode_cost(indices) <= 250 < video.frame_count


def test_decode_budget_from_environment(monkeypatch):
    monkeypatch.setenv("FACEKIT_MAX_DECODED_FRAMES", "1234")
    assert fk.Limits.from_env().max_decoded_frames == 1234


def test_decoding_stops_as_soon_as_the_count_passes_the_budget(tmp_path):
    # NUT seeks land before the keyframe its index names: 5 samples decode 122 frames where the index predicts 92
    nut = fk.data.pan_video(tmp_path / "pan.nut", seconds=10.0, fps=30.0, size=(64, 36), keyframe_interval=30).path
    video = Video(nut, fk.Limits(max_decoded_frames=100))
    indices = video.sample_indices(5)
    assert video.decode_cost(indices) <= 100
    reached = []
    with pytest.raises(fk.LimitExceededError, match=r"passed the limit of 100 frames \(Limits\.max_decoded_frames\)"):
        reached.extend(frame.index for frame in video.sample(indices))
    assert reached == indices[: len(reached)] and 0 < len(reached) < len(indices)
    assert video.decoded == 100
