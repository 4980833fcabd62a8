"""Greedy NMS (sparse pairs, decided in rounds) keeps exactly what InsightFace's one-box-at-a-time loop keeps."""

from __future__ import annotations

import numpy as np
import pytest

from facekit.engine import greedy_nms


def insightface_nms(boxes: np.ndarray, scores: np.ndarray, thresh: float = 0.4) -> np.ndarray:
    """The loop of insightface.model_zoo.scrfd.SCRFD.nms, on boxes and scores apart."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[order[1:]]) - np.maximum(x1[i], x1[order[1:]]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[order[1:]]) - np.maximum(y1[i], y1[order[1:]]) + 1)
        inter = w * h
        overlap = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(overlap <= thresh)[0] + 1]
    return np.asarray(keep, dtype=np.int64)


@pytest.mark.parametrize("count", [0, 1, 7, 300, 1300])
@pytest.mark.parametrize("block", [4, 512])
def test_matches_the_reference_loop(count: int, block: int) -> None:
    rng = np.random.default_rng(count)
    corner = rng.uniform(0, 400, (count, 2))
    boxes = np.hstack([corner, corner + rng.uniform(5, 90, (count, 2))]).astype(np.float32)
    scores = rng.uniform(0, 1, count).astype(np.float32)
    scores[: count // 4] = 0.5  # ties must break as the stable sort does
    kept = greedy_nms(boxes, scores, block=block)
    assert np.array_equal(kept, insightface_nms(boxes, scores))
    assert len(kept) < count or count <= 7  # the test data does overlap


def test_kept_above_a_threshold_is_nms_of_the_candidates_above_it() -> None:
    rng = np.random.default_rng(7)
    corner = rng.uniform(0, 200, (400, 2))
    boxes = np.hstack([corner, corner + rng.uniform(10, 60, (400, 2))]).astype(np.float32)
    scores = rng.uniform(0, 1, 400).astype(np.float32)
    kept_all = greedy_nms(boxes, scores)
    for threshold in np.linspace(0.05, 0.95, 19):
        above = np.flatnonzero(scores >= threshold)
        direct = above[greedy_nms(boxes[above], scores[above])]
        filtered = kept_all[scores[kept_all] >= threshold]
        assert np.array_equal(np.sort(direct), np.sort(filtered))


@pytest.mark.slow
def test_matches_the_reference_loop_on_real_candidates(model_path) -> None:
    """The floor-0.05 candidates of a real frame (hundreds, in clusters around each face)."""
    import cv2

    import facekit as fk
    from facekit.engine import Detector
    from facekit.pipeline import DEFAULT_FLOOR

    detector = Detector.load(model_path)
    solvay = fk.data.solvay()
    for image in (solvay, cv2.resize(solvay, (1280, 926), interpolation=cv2.INTER_AREA)):
        blob, scale = detector.prepare(image)
        outputs = detector.session.run(detector.output_names, {detector.input_name: blob})
        captured = {}

        def spy(boxes: np.ndarray, scores: np.ndarray, captured: dict = captured) -> np.ndarray:
            captured.update(boxes=boxes, scores=scores)
            return greedy_nms(boxes, scores)

        import facekit.engine as engine

        original, engine.greedy_nms = engine.greedy_nms, spy
        try:
            detector.decode(outputs, DEFAULT_FLOOR, scale)
        finally:
            engine.greedy_nms = original
        boxes, scores = captured["boxes"], captured["scores"]
        assert len(scores) > 300
        for block in (64, 1 << 20):
            assert np.array_equal(greedy_nms(boxes, scores, block=block), insightface_nms(boxes, scores))


@pytest.mark.parametrize("count", [50, 400])
def test_chains_and_identical_boxes(count: int) -> None:
    """Boxes sliding one step at a time (long chains of who-suppresses-whom), and exact duplicates."""
    step = np.arange(count, dtype=np.float32)[:, None]
    chain = np.hstack([step * 4, step * 0, step * 4 + 10, step * 0 + 10]).astype(np.float32)
    scores = np.linspace(0.9, 0.1, count).astype(np.float32)
    assert np.array_equal(greedy_nms(chain, scores), insightface_nms(chain, scores))
    same = np.tile(np.array([[5, 5, 25, 25]], np.float32), (count, 1))
    assert np.array_equal(greedy_nms(same, scores[::-1].copy()), insightface_nms(same, scores[::-1].copy()))
    assert greedy_nms(same, scores).tolist() == [0]
