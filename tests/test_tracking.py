"""The tracker on tables whose true tracks are known: motion, gaps, cuts, appearance, pans and ``removed``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.cuts import CUT_THRESHOLD, signature_distances
from facekit.errors import InvalidInputError
from facekit.evaluation.track_quality import cues, score_tracks
from facekit.media import Video, open_media
from facekit.synthetic import crowd_video, shot_video
from facekit.tracking import TrackingSettings, assign_tracks


def _table(frames: list[int], boxes: dict[int, list[tuple[str, tuple[float, float, float, float]]]], fps: float = 10.0):
    """faces and frames tables from {frame: [(truth, (x, y, w, h)), ...]}; returns them and the truth labels."""
    rows, truth = [], []
    for frame in frames:
        for label, box in boxes.get(frame, []):
            rows.append({"frame": frame, "time": frame / fps, "score": 0.9, **dict(zip("xywh", box))})
            truth.append(label)
    faces = pd.DataFrame(rows, columns=["frame", "time", "score", "x", "y", "w", "h"])
    return faces, pd.DataFrame({"frame": frames, "time": [f / fps for f in frames]}), truth


def _assert_same_partition(ids: np.ndarray, truth: list[str]) -> None:
    """Each true face has one id, and no two faces share one."""
    pairs = set(zip(truth, ids.tolist()))
    assert len(pairs) == len(set(truth)) == len(set(ids.tolist())), pairs


def test_single_picture_numbers_faces():
    faces, frames, _ = _table([0], {0: [("a", (0, 0, 10, 10)), ("b", (50, 0, 10, 10))]})
    ids, removed = assign_tracks(faces, frames.iloc[:1])
    assert ids.tolist() == [0, 1] and removed.empty


def test_crossing_faces_keep_their_ids_by_motion():
    """Two faces walk through each other; velocity says who is who after they cross."""
    frames = list(range(12))
    boxes = {f: [("a", (10 + 12 * f, 50, 40, 40)), ("b", (142 - 12 * f, 56, 40, 40))] for f in frames}
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    assert removed.empty


def test_sparse_samples_of_a_pan_keep_ids():
    """A crowd in rows panned by ~2.5 face sizes between samples: the common motion is recovered."""
    grid = [
        (label, (60.0 * i + (i % 2) * 9, 40.0 + 70.0 * (i % 3), 30.0, 36.0)) for i, label in enumerate("abcdefghij")
    ]
    frames = [0, 8, 16, 24]
    boxes = {f: [(lab, (x - 9.5 * f, y, w, h)) for lab, (x, y, w, h) in grid] for f in frames}
    faces, table, truth = _table(frames, boxes)
    ids, _ = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)


def test_short_pause_is_one_track_without_removed():
    """A face missing for 0.3 s (within the 1 s patience) keeps its id and is not removed."""
    frames = list(range(8))
    boxes = {f: [("a", (100 + 2 * f, 100, 40, 40))] for f in frames if f not in (3, 4, 5)}
    for f in frames:
        boxes.setdefault(f, []).append(("b", (300, 100, 40, 40)))
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    assert removed.empty


def test_long_absence_at_the_same_place_is_one_track_removed_once_per_visit():
    """Away for 2 s (beyond patience) then back where it was: one id (re-linked), removed when it left."""
    frames = list(range(40))
    boxes = {f: [("a", (100.0, 100.0, 40.0, 40.0))] for f in frames if not 10 <= f < 30}
    faces, table, truth = _table(frames, boxes)
    ids, removed = assign_tracks(faces, table)
    _assert_same_partition(ids, truth)
    assert removed["frame"].tolist() == [10] and removed["track_id"].tolist() == [0]
    assert removed[["x", "y", "w", "h"]].iloc[0].tolist() == [100.0, 100.0, 40.0, 40.0]


def test_patience_is_in_seconds_not_frames():
    """The same 0.6 s absence is a pause at patience 1 s and a departure at patience 0.5 s, at any fps."""
    for fps in (10.0, 30.0):
        gap = round(0.5 * fps)  # frames missing: last seen to back again is 0.6 s at 10 fps
        frames = list(range(int(3 * fps)))
        boxes = {f: [("a", (100.0, 100.0, 40.0, 40.0))] for f in frames if not fps <= f < fps + gap}
        faces, table, truth = _table(frames, boxes, fps=fps)
        assert assign_tracks(faces, table)[1].empty
        ids, removed = assign_tracks(faces, table, settings=TrackingSettings(patience=0.3))
        _assert_same_partition(ids, truth)
        assert removed["frame"].tolist() == [int(fps)]


def _signatures(table: pd.DataFrame, cuts: list[int]) -> np.ndarray:
    """Frame signatures that jump at each frame of ``cuts`` and stay put in between."""
    shot = np.searchsorted(cuts, table["frame"].to_numpy(), side="right")
    return np.eye(8)[shot % 8]


def test_no_track_crosses_a_cut_even_at_the_same_place():
    frames = list(range(20))
    boxes = {f: [("a" if f < 10 else "b", (100.0, 100.0, 40.0, 40.0))] for f in frames}
    faces, table, truth = _table(frames, boxes)
    assert len(set(assign_tracks(faces, table)[0])) == 1  # without signatures nothing tells the two apart
    ids, removed = assign_tracks(faces, table, signatures=_signatures(table, [10]))
    _assert_same_partition(ids, truth)
    assert removed["frame"].tolist() == [10] and removed["track_id"].tolist() == [ids[0]]


def test_sampled_frames_across_a_cut_do_not_merge():
    """The issue's film: a man in the second and third samples, a woman after a cut in the fifth."""
    frames = [0, 60, 120, 180, 239]
    boxes = {
        60: [("man", (200.0, 80.0, 60.0, 60.0))],
        120: [("man", (210.0, 82.0, 60.0, 60.0))],
        239: [("woman", (220.0, 90.0, 62.0, 62.0))],
    }
    faces, table, truth = _table(frames, boxes, fps=24.0)
    ids, removed = assign_tracks(faces, table, signatures=_signatures(table, [200]))
    _assert_same_partition(ids, truth)
    assert removed["frame"].tolist() == [180]
    ids, _ = assign_tracks(faces, table)  # 2.5 s unseen > patience, close to the place: re-linked by place only
    assert len(set(ids)) == 1


def test_appearance_keeps_two_people_apart_at_one_place():
    """One face leaves, another that looks different sits down in the same place 2 s later."""
    frames = list(range(40))
    boxes = {f: [("a" if f < 10 else "b", (100.0, 100.0, 40.0, 40.0))] for f in frames if not 10 <= f < 30}
    faces, table, truth = _table(frames, boxes)
    looks = np.where(np.array(truth)[:, None] == "a", np.eye(32)[0], np.eye(32)[1])
    ids, removed = assign_tracks(faces, table, features=looks)
    _assert_same_partition(ids, truth)
    assert removed["frame"].tolist() == [10]
    nan_looks = np.full_like(looks, np.nan)
    assert len(set(assign_tracks(faces, table, features=nan_looks)[0])) == 1  # unknown appearance: place decides


def test_same_appearance_relinks_anywhere_in_the_shot():
    frames = list(range(40))
    boxes = {
        f: [("a", (100.0, 100.0, 40.0, 40.0) if f < 10 else (400.0, 200.0, 44.0, 44.0))]
        for f in frames
        if not 10 <= f < 30
    }
    faces, table, _truth = _table(frames, boxes)
    ids, _ = assign_tracks(faces, table)
    assert len(set(ids)) == 2  # far away, appearance unknown: two people
    ids, _ = assign_tracks(faces, table, features=np.tile(np.eye(32)[3], (len(faces), 1)))
    assert len(set(ids)) == 1


def _look_alikes(count: int, seed: int = 0) -> np.ndarray:
    """Descriptors of ``count`` people who look alike (0.64 apart, under the appearance gate, over
    ``same_appearance``), as black-and-white faces of one photograph do."""
    base = np.random.default_rng(seed).normal(size=32)
    return base / np.linalg.norm(base) + 0.45 * np.eye(count, 32)


def test_views_that_do_not_overlap_are_not_joined_by_place():
    """A second later the camera shows other look-alike people at the same places: no one is the same."""
    looks = _look_alikes(24)
    row = [(40.0 + 60.0 * (i % 6), 60.0 + 80.0 * (i // 6), 30.0, 30.0) for i in range(12)]
    boxes = {
        0: [(i, row[i]) for i in range(12)],
        10: [(12 + i, (x + 10, y, w, h)) for i, (x, y, w, h) in enumerate(row)],
    }
    faces, table, truth = _table([0, 10], boxes)
    ids, _ = assign_tracks(faces, table, features=looks[truth])
    _assert_same_partition(ids, truth)
    assert len(set(assign_tracks(faces, table)[0])) == 12  # without appearance, place decides (and merges)


def test_camera_turning_between_samples_keeps_ids():
    """Look-alikes in a row, sampled a second apart while the camera pans right and comes back:
    the move is found from the faces seen in both, and a face back in view is joined in the scene."""
    looks = _look_alikes(30, seed=1)
    scene = {i: (40.0 * i, 100.0 + 7.0 * (i % 3), 30.0, 30.0) for i in range(30)}
    cameras = [0.0, 300.0, 600.0, 300.0, 0.0]
    boxes = {
        10 * k: [(i, (x - cam, y, w, h)) for i, (x, y, w, h) in scene.items() if 0 <= x - cam <= 610]
        for k, cam in enumerate(cameras)
    }
    faces, table, truth = _table(sorted(boxes), boxes)
    ids, _ = assign_tracks(faces, table, features=looks[truth])
    _assert_same_partition(ids, truth)


def test_removed_rule_on_random_presence():
    """Each track is listed at the first analysed frame after it went, unless back within the patience."""
    rng = np.random.default_rng(0)
    frames = list(range(60))
    boxes = {
        f: [(k, (80.0 * i + f, 50.0, 30.0, 30.0)) for i, k in enumerate("abcdef") if rng.random() > 0.3] for f in frames
    }
    faces, table, truth = _table(frames, boxes)
    settings = TrackingSettings(patience=0.25)
    ids, removed = assign_tracks(faces, table, settings=settings)
    faces["track_id"] = ids
    _assert_same_partition(ids, truth)
    expected = []
    for track, mine in faces.groupby("track_id"):
        seen = mine["frame"].tolist()
        for now, after in zip(seen, [*seen[1:], None]):
            if now + 1 < len(frames) and (after is None or (after > now + 1 and (after - now) / 10.0 > 0.25)):
                expected.append((now + 1, track, *mine.loc[mine["frame"] == now, ["x", "y", "w", "h"]].iloc[0]))
    got = [tuple(row) for row in removed.itertuples(index=False)]
    assert sorted(got) == sorted(expected) and len(got) > 5


def test_row_order_does_not_matter():
    frames = list(range(12))
    boxes = {f: [("a", (10 + 12 * f, 50, 40, 40)), ("b", (142 - 12 * f, 56, 40, 40))] for f in frames}
    faces, table, truth = _table(frames, boxes)
    shuffled = np.random.default_rng(3).permutation(len(faces))
    ids, _ = assign_tracks(faces.iloc[shuffled].reset_index(drop=True), table)
    _assert_same_partition(ids, [truth[i] for i in shuffled])


def test_bad_settings_and_shapes_are_refused():
    faces, table, _ = _table([0, 1], {0: [("a", (0, 0, 10, 10))]})
    with pytest.raises(InvalidInputError, match="patience"):
        TrackingSettings(patience=-1)
    with pytest.raises(InvalidInputError, match="features"):
        assign_tracks(faces, table, features=np.zeros((3, 32)))
    with pytest.raises(InvalidInputError, match="increasing"):
        assign_tracks(faces, table.iloc[::-1])
    with pytest.raises(InvalidInputError, match="analysed frames"):
        assign_tracks(faces.assign(frame=7), table)
    with pytest.raises(InvalidInputError, match="signatures"):
        assign_tracks(faces, table, signatures=np.zeros((1, 32)))


# -- real videos whose true tracks are known by construction ------------------------------------

MODES = [None, 30, 10, 5]  # every frame, then num_frames


@dataclass(frozen=True)
class _Analysed:
    """A video analysed at every frame with the real model, with its true tracks and tracking cues."""

    faces: pd.DataFrame
    frames: pd.DataFrame
    features: np.ndarray
    signatures: np.ndarray
    truth: pd.DataFrame
    shot_starts: tuple[int, ...]
    samples: dict[int, list[int]]  # num_frames -> the frames fk.detect samples

    def scores(self, num_frames: int | None, **cues: bool) -> dict[str, float]:
        """Tracks of the analysed frames that ``num_frames`` would sample (all: None), scored."""
        chosen = self.samples[num_frames] if num_frames else self.frames["frame"].tolist()
        frames = self.frames[self.frames["frame"].isin(chosen)].reset_index(drop=True)
        rows = self.faces["frame"].isin(chosen).to_numpy()
        faces = self.faces[rows].reset_index(drop=True)
        ids, removed = assign_tracks(
            faces,
            frames,
            features=self.features[rows] if cues.get("features", True) else None,
            signatures=self.signatures[self.frames["frame"].isin(chosen).to_numpy()]
            if cues.get("cuts", True)
            else None,
        )
        return score_tracks(faces.assign(track_id=ids), removed, frames, self.truth, shot_starts=self.shot_starts)


def _analyse(path: Path, truth: pd.DataFrame, shot_starts: tuple[int, ...]) -> _Analysed:
    result = fk.detect(path, every_frame=True, progress=False)
    faces, frames = result.to_frame(), result.frames_table()
    video = open_media(path)
    assert isinstance(video, Video)
    pixels = {frame.index: frame.pixels for frame in video.stream()}
    features, signatures = cues(faces, frames, pixels)
    samples = {n: video.sample_indices(n) for n in MODES if n}
    return _Analysed(faces.drop(columns="track_id"), frames, features, signatures, truth, shot_starts, samples)


@pytest.fixture(scope="session")
def shots(tmp_path_factory, model_path) -> _Analysed:
    """The four-shot video at 5 fps (45 frames): crossing, crowd pan, gaps, the same face after a cut."""
    video = shot_video(tmp_path_factory.mktemp("shots") / "shots.mp4", fps=5.0)
    return _analyse(video.path, video.truth, video.shot_starts)


@pytest.fixture(scope="session")
def pan_analysed(pan_clip) -> _Analysed:
    return _analyse(pan_clip.path, fk.data.pan_truth(pan_clip), (0,))


@pytest.fixture(scope="session")
def sweep(tmp_path_factory, model_path) -> _Analysed:
    """A camera sweeping across Solvay and back every 2 s (4 s, 10 fps): five samples a second apart
    overlap by a third of the frame, and the camera turns between two of them."""
    video = fk.data.pan_video(tmp_path_factory.mktemp("sweep") / "sweep.mp4", seconds=4.0, sweep_seconds=2.0)
    return _analyse(video.path, fk.data.pan_truth(video), (0,))


@pytest.fixture(scope="session")
def crowd(tmp_path_factory, model_path) -> _Analysed:
    """Eight look-alike black-and-white heads walking past each other in two lanes (4 s, 10 fps)."""
    video = crowd_video(tmp_path_factory.mktemp("crowd") / "crowd.mp4")
    return _analyse(video.path, video.truth, video.shot_starts)


CROWD_SAMPLED = pytest.mark.xfail(
    strict=True,
    reason="walkers 1 s apart whose heads enter clipped (and so look unlike themselves) fragment: IDF1 0.90, "
    "no merge (asserted in test_look_alike_crowd_sampled_never_merges)",
)


@pytest.mark.slow
@pytest.mark.parametrize("num_frames", MODES)
@pytest.mark.parametrize(
    "video",
    ["shots", "pan_analysed", "sweep", "crowd"],
)
def test_constructed_truth_goals(request, video, num_frames):
    """The issue's goals on every constructed video, every frame and sampled: no merge across a
    cut, no id swap, IDF1 >= 0.95, removed precision >= 0.95."""
    if video == "crowd" and num_frames == 5:
        request.applymarker(CROWD_SAMPLED)
    scores = request.getfixturevalue(video).scores(num_frames)
    assert scores["cut_merges"] == 0 and scores["merges"] == 0, scores
    assert scores["id_switches"] == 0, scores
    assert scores["idf1"] >= 0.95, scores
    assert scores["removed_precision"] >= 0.95 and scores["removed_recall"] >= 0.9, scores


@pytest.mark.slow
def test_look_alike_crowd_sampled_never_merges(crowd):
    """Where five samples of walking look-alikes are too far apart to follow, people fragment but never merge."""
    scores = crowd.scores(5)
    assert scores["merges"] == 0 and scores["cut_merges"] == 0 and scores["idf1"] >= 0.85, scores


@pytest.mark.slow
def test_cues_are_what_keeps_shots_apart(shots):
    """Without frame signatures and appearance, people of different shots share ids: the cues do the work."""
    blind = shots.scores(None, features=False, cuts=False)
    assert blind["cut_merges"] > 0 and blind["idf1"] < 0.9
    no_looks = shots.scores(5, features=False)
    assert no_looks["cut_merges"] == 0 and no_looks["idf1"] < shots.scores(5)["idf1"]


@pytest.mark.slow
def test_signatures_find_exactly_the_cuts(shots):
    steps = signature_distances(shots.signatures)
    cuts = shots.frames["frame"].to_numpy()[steps > CUT_THRESHOLD]
    assert cuts.tolist() == list(shots.shot_starts[1:])
    assert (
        steps[steps > CUT_THRESHOLD].min() > 2 * CUT_THRESHOLD
        and steps[steps <= CUT_THRESHOLD].max() < 0.6 * CUT_THRESHOLD
    )
