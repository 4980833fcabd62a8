"""fk.data: the sample registry (origin, sha256, licence, truth), sample truth, and the pan video's
truth by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facekit as fk
from facekit import models

SAMPLES = ("solvay", "newton", "gauss")


def test_registry_names_origin_licence_and_the_pinned_hashes():
    registry = fk.data.registry()
    assert set(SAMPLES) <= set(registry)
    pinned = {rel: sha for rel, sha in models.SDIST_MEMBERS.values()}
    for name in SAMPLES:
        entry = registry[name]
        assert entry["origin"] and entry["licence"] and entry["truth_origin"]
        assert pinned[entry["file"]] == entry["sha256"]  # the registry and the fetcher agree


@pytest.mark.parametrize(("name", "faces"), [("solvay", 29), ("newton", 1), ("gauss", 1)])
def test_sample_truth(name, faces):
    truth = fk.data.truth(name)
    assert len(truth) == faces and (truth["source"] == Path(fk.data.registry()[name]["file"]).name).all()
    assert (truth[["w", "h"]] > 50).all().all() and not truth["ignore"].any() and truth["track_id"].isna().all()
    with pytest.raises(KeyError, match="no sample"):
        fk.data.truth("lena")


def test_newton_truth_is_scrfds_reference_box():
    # scrfd 0.3.0 tests/truth_faces.py: upper_left (334, 89), lower_right (438, 232)
    assert fk.data.truth("newton")[["x", "y", "w", "h"]].to_numpy().tolist() == [[334, 89, 104, 143]]


def test_sample_pictures_are_the_registered_files(model_path):
    for name in SAMPLES:
        assert models.sha256_of(fk.data.path(name)) == fk.data.registry()[name]["sha256"]
    assert fk.data.solvay().shape[1] == 3000  # the pan's travel is computed from this width


def test_pan_truth_by_construction():
    windows = fk.data.pan_windows(seconds=3.0, fps=10.0)
    video = fk.data.PanVideo(Path("pan.mp4"), windows, (640, 360))
    truth = fk.data.pan_truth(video)
    solvay = fk.data.truth("solvay")[["x", "y", "w", "h"]].to_numpy()
    assert truth["frame"].unique().tolist() == list(range(30)) and (truth["source"] == "pan.mp4").all()
    assert truth["track_id"].between(0, len(solvay) - 1).all()
    assert not truth.duplicated(["frame", "track_id"]).any()
    for frame in (0, 17, 29):
        rows = truth[truth["frame"] == frame]
        moved = video.to_video(solvay[rows["track_id"].to_numpy(int)], frame)
        x1, y1 = np.clip(moved[:, 0], 0, 640), np.clip(moved[:, 1], 0, 360)
        x2, y2 = np.clip(moved[:, 0] + moved[:, 2], 0, 640), np.clip(moved[:, 1] + moved[:, 3], 0, 360)
        assert np.array_equal(rows["x"], np.rint(x1)) and np.array_equal(rows["w"], np.rint(x2) - np.rint(x1))
        assert np.array_equal(rows["y"], np.rint(y1)) and np.array_equal(rows["h"], np.rint(y2) - np.rint(y1))
        shown = (x2 - x1) * (y2 - y1) / (moved[:, 2] * moved[:, 3])
        assert np.array_equal(rows["ignore"].to_numpy(), shown < fk.data.PAN_IGNORE_BELOW)
    # the camera pans right: a face that is in the first frame has moved left by the window's travel
    first = truth[(truth["frame"] == 0) & ~truth["ignore"]].set_index("track_id")
    later = truth[(truth["frame"] == 5) & ~truth["ignore"]].set_index("track_id")
    both = first.index.intersection(later.index)
    shift = (first.loc[both, "x"] - later.loc[both, "x"]).median()
    assert shift == pytest.approx((windows[5, 0] - windows[0, 0]) * 640 / 1280, abs=1)


@pytest.mark.slow
def test_pan_video_windows_are_the_truths_windows(pan_clip):
    assert np.array_equal(pan_clip.windows, fk.data.pan_windows(seconds=3.0, fps=10.0))
    assert pan_clip.size == (640, 360)
