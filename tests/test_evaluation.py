"""fk.evaluate: COCO matching and AP (equal to pycocotools), the exact threshold curve (equal to
evaluating afresh at each threshold, and to fresh detections), tracking metrics (equal to
motmetrics), per-file and pooled figures, matches and plots."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.batch import Batch
from facekit.errors import InvalidInputError
from facekit.evaluation.tracking import sequence, tracking_metrics
from facekit.geometry import iou_matrix

TRUTH = Path(__file__).resolve().parents[1] / "data" / "truth"
BOX = ["x", "y", "w", "h"]


def _batch(faces: pd.DataFrame, sources: list[str]) -> Batch:
    """A Batch of pictures holding ``faces`` (source, frame, score, boxes), as detect_many returns."""
    status = pd.DataFrame({"source": sources, "status": "ok", "media": "image"})
    return Batch(faces.assign(time=np.nan, track_id=pd.NA), status)


def _synthetic(seed: int, *, pictures: int = 30, rounded: bool = True) -> tuple[Batch, pd.DataFrame]:
    """Random pictures: truth with ignore regions; detections jittered around it (some twice, so
    two detections contend for one face), and stray ones; scores with ties when ``rounded``."""
    rng = np.random.default_rng(seed)
    truth, dets = [], []
    for k in range(pictures):
        source = f"p{k:02d}.jpg"
        for _ in range(rng.integers(0, 8)):
            box = np.r_[rng.uniform(0, 400, 2), rng.uniform(6, 150, 2)]
            truth.append({"source": source, "frame": 0, **dict(zip(BOX, box)), "ignore": rng.random() < 0.15})
            for _ in range(rng.integers(0, 3)):
                jitter = box + rng.normal(0, 0.12, 4) * box[[2, 3, 2, 3]]
                dets.append(
                    {"source": source, "frame": 0, **dict(zip(BOX, np.maximum(jitter, 1))), "score": rng.random()}
                )
        for _ in range(rng.integers(0, 5)):
            box = np.r_[rng.uniform(0, 400, 2), rng.uniform(6, 100, 2)]
            dets.append({"source": source, "frame": 0, **dict(zip(BOX, box)), "score": rng.random()})
    faces = pd.DataFrame(dets)
    if rounded:
        faces["score"] = faces["score"].round(2)
    return _batch(faces, [f"p{k:02d}.jpg" for k in range(pictures)]), fk.read_truth(pd.DataFrame(truth))


def _pycocotools(faces: pd.DataFrame, truth: pd.DataFrame) -> tuple[float, float]:
    """AP50 and AP@[.5:.95] by pycocotools, ignore regions as iscrowd, pictures numbered in name order."""
    coco_module = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    ids = {name: k + 1 for k, name in enumerate(sorted(set(faces["source"]) | set(truth["source"])))}
    notes = [
        {
            "id": k + 1,
            "image_id": ids[r.source],
            "category_id": 1,
            "bbox": [r.x, r.y, r.w, r.h],
            "area": r.w * r.h,
            "iscrowd": int(r.ignore),
        }
        for k, r in enumerate(truth.itertuples())
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco = coco_module.COCO()
        coco.dataset = {"images": [{"id": i} for i in ids.values()], "categories": [{"id": 1}], "annotations": notes}
        coco.createIndex()
        found = coco.loadRes(
            [
                {"image_id": ids[r.source], "category_id": 1, "bbox": [r.x, r.y, r.w, r.h], "score": r.score}
                for r in faces.itertuples()
            ]
        )
        run = cocoeval.COCOeval(coco, found, "bbox")
        run.params.maxDets = [10_000] * 3  # every detection, as facekit counts them
        run.evaluate()
        run.accumulate()
    precision = run.eval["precision"][:, :, 0, 0, -1]
    return float(precision[0].mean()), float(precision.mean())


@pytest.mark.parametrize(("seed", "rounded"), [(0, True), (1, False), (2, True), (3, False)])
def test_ap_equals_pycocotools(seed, rounded):
    batch, truth = _synthetic(seed, rounded=rounded)
    summary = fk.evaluate(batch, truth).summary()
    ap50, ap = _pycocotools(batch.faces, truth)
    assert summary["n_ignore"] > 0 and 0.05 < ap50 < 0.95
    assert summary["ap50"] == pytest.approx(ap50, abs=1e-6)
    assert summary["ap"] == pytest.approx(ap, abs=1e-6)


def test_curve_is_exact_at_every_threshold():
    """The one-pass curve equals matching afresh only the detections kept at each threshold."""
    batch, truth = _synthetic(4, pictures=12)
    curve = fk.evaluate(batch, truth).curve()
    assert curve["threshold"].is_monotonic_decreasing and curve["tp"].is_monotonic_increasing
    assert (curve["fn"] + curve["tp"] == curve["tp"].iloc[-1] + curve["fn"].iloc[-1]).all()
    for row in curve.iloc[::3].itertuples():
        kept = batch.faces[batch.faces["score"] >= row.threshold]
        fresh = fk.evaluate(_batch(kept.drop(columns=["time", "track_id"]), list(batch.status["source"])), truth)
        assert fresh.summary()["threshold"] == row.threshold
        assert (fresh.summary()["tp"], fresh.summary()["fp"], fresh.summary()["fn"]) == (row.tp, row.fp, row.fn)


def test_contended_faces_and_ignore_regions_follow_coco():
    truth = fk.read_truth(
        pd.DataFrame(
            {
                "source": "a.jpg",
                "x": [0.0, 200.0],
                "y": [0.0, 0.0],
                "w": [100.0, 100.0],
                "h": [100.0, 100.0],
                "ignore": [False, True],
            }
        )
    )
    faces = pd.DataFrame(
        {
            "source": "a.jpg",
            "frame": 0,
            "score": [0.9, 0.8, 0.7, 0.6],
            "x": [8.0, 1.0, 210.0, 220.0],
            "y": [8.0, 1.0, 10.0, 20.0],
            "w": [100.0, 100.0, 30.0, 30.0],
            "h": [100.0, 100.0, 30.0, 30.0],
        }
    )
    ev = fk.evaluate(_batch(faces, ["a.jpg"]), truth)
    matches = ev.matches()
    dets = matches[matches["kind"] == "detection"]
    # the best-scoring detection takes the face although the second overlaps it more; the second is
    # a false positive; both small boxes inside the ignore region are neither TP nor FP
    assert dets["outcome"].tolist() == ["tp", "fp", "ignored", "ignored"]
    assert ev.summary()["tp"] == 1 and ev.summary()["fp"] == 1 and ev.summary()["n_ignore"] == 1
    assert matches.loc[matches["kind"] == "truth", "outcome"].tolist() == ["tp", "ignore"]


def _coco_loop(faces: pd.DataFrame, truth: pd.DataFrame, iou: float) -> pd.Series:
    """COCO's evaluateImg loop written plainly, picture by picture: per detection "tp", "fp" or "ignored"."""
    outcome = pd.Series("fp", index=faces.index)
    for source, dets in faces.groupby("source"):
        gts = truth[truth["source"] == source].sort_values("ignore", kind="stable")
        dets = dets.sort_values("score", ascending=False, kind="stable")
        d, g, crowd = dets[BOX].to_numpy(), gts[BOX].to_numpy(), gts["ignore"].to_numpy(bool)
        overlap = iou_matrix(d, g)
        corner = np.minimum(d[:, None, :2] + d[:, None, 2:], g[None, :, :2] + g[None, :, 2:])
        inter = np.clip(corner - np.maximum(d[:, None, :2], g[None, :, :2]), 0, None).prod(axis=2)
        overlap[:, crowd] = (inter / (d[:, 2:3] * d[:, 3:4]))[:, crowd]  # an ignore region: over the detection's area
        taken = np.zeros(len(g), bool)
        for i, index in enumerate(dets.index):
            best, m = min(iou, 1 - 1e-10), -1
            for j in range(len(g)):
                if taken[j] and not crowd[j]:
                    continue
                if m > -1 and not crowd[m] and crowd[j]:
                    break
                if overlap[i, j] < best:
                    continue
                best, m = overlap[i, j], j
            if m > -1:
                taken[m] = True
                outcome[index] = "ignored" if crowd[m] else "tp"
    return outcome


@pytest.mark.parametrize("seed", [7, 8])
def test_one_walk_over_all_thresholds_equals_cocos_loop(seed):
    """The walk over every picture and IoU threshold at once gives each detection the outcome
    COCO's own per-picture loop gives, at each of COCO's ten thresholds."""
    batch, truth = _synthetic(seed, pictures=60)
    by_box = ["source", "x", "y"]
    for iou in np.linspace(0.5, 0.95, 10):
        found = fk.evaluate(batch, truth, iou=float(iou)).matches(threshold=0.0)
        found = found[found["kind"] == "detection"].sort_values(by_box)
        expected = batch.faces.assign(outcome=_coco_loop(batch.faces, truth, float(iou))).sort_values(by_box)
        assert found["outcome"].astype(str).tolist() == expected["outcome"].tolist(), iou


def test_row_order_and_source_dtype_do_not_change_the_evaluation():
    """Rows not grouped by picture (the pooled ranking sorts by picture first) and source names as
    Python objects, Arrow strings or categories score alike (distinct scores: no ties to order)."""
    batch, truth = _synthetic(9, pictures=40, rounded=False)
    reference = fk.evaluate(batch, truth)
    shuffled = batch.faces.sample(frac=1.0, random_state=0).reset_index(drop=True)
    for source in (
        shuffled["source"].astype(object),
        shuffled["source"].astype("string"),
        shuffled["source"].astype("category"),
    ):
        ev = fk.evaluate(Batch(shuffled.assign(source=source), batch.status), truth)
        assert ev.summary() == reference.summary()
        pd.testing.assert_frame_equal(ev.curve(), reference.curve())


def test_matches_pair_truth_and_detections_consistently():
    batch, truth = _synthetic(5, pictures=10)
    ev = fk.evaluate(batch, truth)
    matches = ev.matches(threshold=0.3)
    summary_at = ev.at(0.3)
    counts = matches.groupby(["kind", "outcome"], observed=True).size()
    assert counts[("detection", "tp")] == counts[("truth", "tp")] == summary_at["tp"]
    assert counts[("detection", "fp")] == summary_at["fp"] and counts[("truth", "fn")] == summary_at["fn"]
    paired = matches[matches["partner"].notna()]
    assert (matches.loc[paired["partner"].to_numpy(int), "partner"].to_numpy(int) == paired.index).all()
    assert (matches["size"] == matches["h"]).all() and (matches.loc[paired.index, "iou"] >= 0.5).all()


def test_recall_by_face_height():
    heights = [10.0, 20.0, 40.0, 100.0, 200.0, 300.0]
    truth = fk.read_truth(
        pd.DataFrame({"source": "a.jpg", "x": np.arange(6) * 400.0, "y": 0.0, "w": heights, "h": heights})
    )
    found = truth.iloc[[1, 3, 4]]  # the 20, 100 and 200 px faces are found
    ev = fk.evaluate(_batch(found[["source", "frame", *BOX]].assign(score=0.9), ["a.jpg"]), truth)
    summary = ev.summary()
    assert [summary[f"recall_height_{b}"] for b in ("<16", "16-32", "32-64", "64-128", ">=128")] == [0, 1, 0, 1, 0.5]


def test_truth_without_faces_and_mismatched_truth():
    empty_truth = fk.read_truth(pd.DataFrame({"source": ["a.jpg"], **{c: [1.0] for c in BOX}})).iloc[:0]
    faces = pd.DataFrame({"source": "a.jpg", "frame": 0, "score": [0.9], **{c: [5.0] for c in BOX}})
    summary = fk.evaluate(_batch(faces, ["a.jpg"]), empty_truth).summary()
    assert summary["fp"] == 1 and math.isnan(summary["recall"]) and math.isnan(summary["ap50"])
    truth = fk.read_truth(pd.DataFrame({"source": ["a.jpg"], **{c: [10.0] for c in BOX}}))
    nothing = fk.evaluate(_batch(faces.iloc[:0], ["a.jpg"]), truth)
    assert nothing.summary()["fn"] == 1 and nothing.curve().empty and nothing.matches()["outcome"].tolist() == ["fn"]
    assert nothing.plot.pr().lines and len(nothing.per_file()) == 1
    other = fk.read_truth(pd.DataFrame({"source": ["b.jpg", "c.jpg"], **{c: [1.0, 2.0] for c in BOX}}))
    with pytest.raises(InvalidInputError, match="names none of the detected files"):
        fk.evaluate(_batch(faces, ["a.jpg"]), other)
    with pytest.raises(InvalidInputError, match="iou must be"):
        fk.evaluate(_batch(faces, ["a.jpg"]), other, iou=1.5)
    with pytest.raises(InvalidInputError, match="Result or Batch"):
        fk.evaluate(faces, other)


def test_per_file_figures_add_up_to_the_pooled_ones():
    batch, truth = _synthetic(6, pictures=8)
    ev = fk.evaluate(batch, truth)
    files, pooled = ev.per_file(), ev.summary()
    assert len(files) == 8 and files["source"].tolist() == sorted(batch.status["source"])
    for column in ("tp", "fp", "fn", "n_truth", "n_ignore", "n_detections"):
        assert files[column].sum() == pooled[column]
    one = files.iloc[int(files["n_truth"].to_numpy().argmax())]
    alone = fk.evaluate(batch, truth[truth["source"] == one["source"]]).per_file()
    assert alone.set_index("source").loc[one["source"], "ap50"] == pytest.approx(one["ap50"])


def test_tracking_metrics_of_perfect_tracks_are_one():
    truth = fk.read_truth(TRUTH / "pan_gt.txt").assign(source="pan.mp4")
    frames = truth[["source", "frame"]].drop_duplicates()
    kept = truth[~truth["ignore"]]
    metrics = tracking_metrics(truth, kept, frames)
    assert metrics == {"mota": 1.0, "idf1": 1.0, "hota": pytest.approx(1.0), "id_switches": 0}
    both = sorted(set(kept.loc[kept["frame"] == 15, "track_id"]) & set(kept.loc[kept["frame"] == 16, "track_id"]))
    a, b = both[0], both[1]  # two faces seen on both sides of the swap
    later = kept["frame"] > 15
    swapped = kept.assign(
        track_id=kept["track_id"].mask(later & (kept["track_id"] == a), b).mask(later & (kept["track_id"] == b), a)
    )
    worse = tracking_metrics(truth, swapped, frames)
    assert worse["id_switches"] == 2 and worse["idf1"] < 1 and worse["hota"] < 1 and worse["mota"] < 1
    expected = _motmetrics(truth, swapped, list(range(30)))
    assert {k: worse[k] for k in expected} == pytest.approx(expected, abs=1e-6)
    data = sequence(truth, kept, frames["frame"])
    assert data["num_timesteps"] == 30 and data["num_gt_dets"] == int((~truth["ignore"]).sum())


def _motmetrics(truth: pd.DataFrame, kept: pd.DataFrame, frames: list[int]) -> dict[str, float]:
    """MOTA, IDF1 and ID switches by motmetrics, ignore regions handled independently here:
    a detection whose Hungarian match (IoU >= 0.5) is an ignore region is dropped with it."""
    mm = pytest.importorskip("motmetrics")
    from scipy.optimize import linear_sum_assignment

    acc = mm.MOTAccumulator(auto_id=True)
    for frame in frames:
        gts, dets = truth[truth["frame"] == frame], kept[kept["frame"] == frame]
        overlap = iou_matrix(gts[BOX].to_numpy(), dets[BOX].to_numpy())
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        on_ignore = [c for r, c in zip(rows, cols) if overlap[r, c] >= 0.5 and gts["ignore"].iloc[r]]
        dets = dets.drop(dets.index[on_ignore])
        gts = gts[~gts["ignore"]]
        overlap = iou_matrix(gts[BOX].to_numpy(), dets[BOX].to_numpy())
        acc.update(
            gts["track_id"].to_numpy(int), dets["track_id"].to_numpy(int), np.where(overlap >= 0.5, 1 - overlap, np.nan)
        )
    table = mm.metrics.create().compute(acc, metrics=["mota", "idf1", "num_switches"], name="pan")
    return {
        "mota": float(table["mota"].iloc[0]),
        "idf1": float(table["idf1"].iloc[0]),
        "id_switches": int(table["num_switches"].iloc[0]),
    }


@pytest.mark.slow
def test_pan_video_tracks_score_as_motmetrics_does(pan_clip):
    """facekit's own tracks on the pan clip against the constructed truth: every third frame (the
    camera moves ~90 px between them) at confidence 0.2, so false positives are tracked too."""
    frames = list(range(0, 30, 3))
    result = fk.detect(pan_clip.path, frames=frames, confidence=0.2, progress=False)
    truth = fk.read_truth(TRUTH / "pan.cvat.xml")
    summary = fk.evaluate(result, truth).summary()
    assert summary["fp"] > 0 and summary["mota"] < 1
    expected = _motmetrics(truth.assign(source="pan.mp4"), result.to_frame(), frames)
    assert summary["mota"] == pytest.approx(expected["mota"], abs=1e-6)
    assert summary["idf1"] == pytest.approx(expected["idf1"], abs=1e-6)
    assert summary["id_switches"] == expected["id_switches"]
    assert 0.5 < summary["hota"] <= 1 and summary["recall"] > 0.9
    assert fk.read_truth(TRUTH / "pan_gt.txt").equals(
        fk.read_truth(TRUTH / "pan.cvat.xml").sort_values(["frame", "track_id"], ignore_index=True)
    )


@pytest.fixture(scope="module")
def solvay_result(model_path, solvay_path):
    return fk.detect(solvay_path)


@pytest.mark.slow
def test_curve_equals_fresh_detections_at_many_thresholds(solvay_result, solvay_path):
    """What a user running detect(confidence=t) gets (floor=t: only those candidates exist) scores
    exactly as the curve of one run says, on a real picture with real truth."""
    truth = fk.data.truth("solvay")
    curve = fk.evaluate(solvay_result, truth).curve()
    scores = curve["threshold"].to_numpy()
    thresholds = [0.05, 0.1, float(scores[scores < 0.2][3]), 0.3, 0.74, 0.8, float(scores[5]), 0.9]
    for t in thresholds:
        fresh = fk.evaluate(fk.detect(solvay_path, confidence=t, floor=t), truth).summary()
        row = curve[curve["threshold"] >= t].iloc[-1] if (curve["threshold"] >= t).any() else None
        expected = (0, 0, 29) if row is None else (row["tp"], row["fp"], row["fn"])
        assert (fresh["tp"], fresh["fp"], fresh["fn"]) == expected, t
    assert curve["fp"].iloc[-1] > 0 and curve["fn"].iloc[0] > 0  # the sweep covers both kinds of error


@pytest.mark.slow
def test_summary_and_plots_on_solvay(solvay_result):
    ev = fk.evaluate(solvay_result, TRUTH / "samples.coco.json")  # names three pictures: Solvay's are taken
    summary = ev.summary()
    assert summary["n_truth"] == 29 and summary["recall"] == 1.0 and summary["ap50"] > 0.95
    assert 0.5 < summary["best_f1_threshold"] < 0.8 and "mota" not in summary
    assert "<table" in ev._repr_html_() and "29 true faces" in repr(ev)
    pr = ev.plot.pr()
    assert len(pr.lines) == 2 and pr.lines[1].get_xdata()[0] == summary["recall"]
    f1 = ev.plot.f1()
    assert len(f1.lines) >= 4
    gallery = ev.plot.errors(threshold=0.1, count=6)
    assert len(gallery.axes) == 6 and all(ax.images for ax in gallery.axes)
    overlay = ev.plot.overlay(threshold=0.1)
    assert overlay.images and "29 TP" in overlay.get_title()


@pytest.mark.slow
def test_cli_evaluate_prints_the_summary_or_the_curve(model_path, newton_path, tmp_path, capsys):
    from facekit.cli import main

    assert main(["evaluate", str(newton_path), str(TRUTH / "samples.coco.json")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["tp"] == 1 and summary["recall"] == 1.0 and summary["recall_height_<16"] is None
    saved = fk.detect(newton_path).save(tmp_path / "newton.json")
    assert (
        main(["evaluate", str(saved), str(TRUTH / "voc"), "--format", "csv", "--output", str(tmp_path / "c.csv")]) == 0
    )
    curve = pd.read_csv(tmp_path / "c.csv")
    assert (
        list(curve.columns) == ["threshold", "tp", "fp", "fn", "precision", "recall", "f1"] and curve["tp"].max() == 1
    )
    assert main(["evaluate", str(newton_path), str(tmp_path / "missing.xml")]) == 2
    assert "no such truth file" in capsys.readouterr().err


@pytest.mark.slow
def test_batch_of_the_sample_pictures_per_file_and_pooled(model_path, solvay_path, newton_path, gauss_path):
    batch = fk.detect_many([solvay_path, newton_path, gauss_path], workers=1, progress=False)
    ev = fk.evaluate(batch, TRUTH / "samples_bbx_gt.txt")  # WIDER names the files; the batch has full paths
    files = ev.per_file().set_index("source")
    assert files["n_truth"].to_dict() == {"gauss.png": 1, "newton.png": 1, "solvay_conference_1927.jpg": 29}
    assert (files["recall"] == 1.0).all() and ev.summary()["tp"] == files["tp"].sum() == 31
    assert ev.source_of("newton.png") == str(newton_path)
    assert ev.plot.overlay(name="gauss.png").images
