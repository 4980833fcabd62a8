"""The SCRFD engine: the same faces as InsightFace and as the scrfd package's references, exact
re-filtering, NMS, thread safety and grayscale input."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pandas as pd
import pytest

import facekit as fk
from facekit.engine import DEFAULT_SPINNING, DEFAULT_THREADS, NMS_IOU, Detections, Detector, default_threads, greedy_nms
from facekit.media import decode_image
from facekit.table import BOX_COLUMNS

KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# Reference faces published with scrfd 0.3.0 (tests/truth_faces.py in the sdist on PyPI):
# bbox upper-left / lower-right and the five keypoints, in pixels of the original pictures.
SCRFD_TRUTH = {
    "newton": {
        "bbox": (334, 89, 438, 232),
        "kps": [(371, 143), (419, 145), (399, 177), (371, 197), (409, 199)],
    },
    "gauss": {
        "bbox": (376, 203, 654, 568),
        "kps": [(469, 353), (594, 346), (549, 436), (487, 489), (589, 482)],
    },
}


def fp32_detect(source, **options) -> fk.Result:
    """fk.detect on the original FP32 model, letterboxed: the configuration that matches InsightFace."""
    return fk.detect(source, precision="fp32", aspect="square", **options)


@pytest.fixture(scope="module")
def pictures(solvay_path, newton_path, gauss_path, astronaut) -> dict[str, np.ndarray]:
    """RGB arrays of the four test pictures."""
    return {"solvay": fk.data.solvay(), "newton": fk.data.newton(), "gauss": fk.data.gauss(), "astronaut": astronaut}


@pytest.fixture(scope="module")
def results(pictures) -> dict[str, fk.Result]:
    """facekit's FP32 letterboxed answer for each picture at the default confidence (0.5), computed once."""
    return {name: fp32_detect(image) for name, image in pictures.items()}


@pytest.fixture(scope="module")
def insightface_scrfd(model_path):
    """InsightFace's own SCRFD on the same model file, prepared as its apps do."""
    model_zoo = pytest.importorskip("insightface.model_zoo")
    reference = model_zoo.SCRFD(model_file=str(model_path))
    reference.prepare(-1, input_size=(640, 640), det_thresh=0.5)
    return reference


def corners(frame: pd.DataFrame) -> np.ndarray:
    """x1 y1 x2 y2 boxes of a to_frame() table."""
    xy = frame[["x", "y"]].to_numpy()
    return np.hstack([xy, xy + frame[["w", "h"]].to_numpy()])


def keypoints(frame: pd.DataFrame) -> np.ndarray:
    """(N, 5, 2) detector keypoints of a to_frame() table."""
    return frame[[f"{name}_{axis}" for name in KEYPOINTS for axis in "xy"]].to_numpy().reshape(-1, 5, 2)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["solvay", "newton", "gauss", "astronaut"])
def test_same_faces_as_insightface(name, pictures, results, insightface_scrfd):
    bgr = np.ascontiguousarray(pictures[name][:, :, ::-1])
    boxes, kps = insightface_scrfd.detect(bgr, input_size=(640, 640))
    ours = results[name].to_frame()
    assert len(ours) == len(boxes) > 0
    np.testing.assert_allclose(corners(ours), boxes[:, :4], atol=0.5)
    np.testing.assert_allclose(keypoints(ours), kps, atol=0.5)
    np.testing.assert_allclose(ours["score"].to_numpy(), boxes[:, 4], atol=1e-4)


@pytest.mark.slow
def test_face_counts(results):
    assert len(results["solvay"]) == 29
    assert len(results["astronaut"]) == 1
    assert len(results["newton"]) == 1
    assert len(results["gauss"]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["newton", "gauss"])
def test_matches_the_scrfd_package_references(name, results):
    truth = SCRFD_TRUTH[name]
    faces = results[name].to_frame()
    assert len(faces) == 1
    np.testing.assert_allclose(corners(faces)[0], truth["bbox"], atol=2.0)
    np.testing.assert_allclose(keypoints(faces)[0], truth["kps"], atol=2.0)


@pytest.mark.slow
def test_sources_of_the_same_picture_agree(solvay_path, pictures, results):
    """Solvay is an 8-bit gray JPEG: decoded single-channel, it gives the RGB version's faces."""
    assert decode_image(solvay_path.read_bytes(), fk.Limits()).pixels.ndim == 2
    from_file = fp32_detect(solvay_path)
    pd.testing.assert_frame_equal(from_file.to_frame(), results["solvay"].to_frame(), check_exact=True)


def test_gray_blob_equals_rgb_blob(model_path, pictures):
    detector = Detector.load(model_path)
    gray = np.ascontiguousarray(pictures["newton"][:, :, 1])
    gray_blob, gray_scale = detector.prepare(gray)
    gray_blob = gray_blob.copy()
    rgb_blob, rgb_scale = detector.prepare(np.repeat(gray[:, :, None], 3, axis=2))
    assert gray_scale == rgb_scale
    np.testing.assert_array_equal(gray_blob, rgb_blob)


@pytest.mark.parametrize("name", ["newton", "gauss", "solvay"])
def test_blob_is_insightfaces_blob(model_path, pictures, name):
    """The fused resize + normalisation gives, bit for bit, the blob SCRFD.detect builds with blobFromImage."""
    image = pictures[name]
    height, width = image.shape[:2]
    new_w, new_h = (int(640 / (height / width)), 640) if height / width > 1 else (640, int(640 * height / width))
    canvas = np.zeros((640, 640, 3), np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(image[:, :, ::-1], (new_w, new_h))
    expected = cv2.dnn.blobFromImage(canvas, 1.0 / 128, (640, 640), (127.5, 127.5, 127.5), swapRB=True)
    blob, scale = Detector.load(model_path).prepare(image)
    np.testing.assert_array_equal(blob, expected)
    assert scale == new_h / height


def test_load_shares_one_session_per_setting(model_path, monkeypatch):
    monkeypatch.delenv("FACEKIT_THREADS", raising=False)
    monkeypatch.delenv("FACEKIT_SPINNING", raising=False)
    assert Detector.load(model_path) is Detector.load(model_path, default_threads(), False, "square")
    monkeypatch.setenv("FACEKIT_SPINNING", "1")
    busy = Detector.load(model_path)
    assert busy.spinning is True and busy is not Detector.load(model_path, spinning=False)


def test_threading_defaults(model_path, monkeypatch):
    """One intra-op thread per usable core, onnxruntime's busy-waiting off (bench/bench_threads.py)."""
    monkeypatch.delenv("FACEKIT_THREADS", raising=False)
    monkeypatch.delenv("FACEKIT_SPINNING", raising=False)
    detector = Detector.load(model_path)
    assert (DEFAULT_THREADS, DEFAULT_SPINNING) == (0, False)
    assert detector.threads == len(os.sched_getaffinity(0)) and detector.spinning is False
    monkeypatch.setenv("FACEKIT_THREADS", "1")
    assert Detector.load(model_path).threads == 1


def test_a_preparer_rotates_its_blobs_and_runs_like_detect(model_path, pictures):
    """Blobs prepared ahead (by a video's decoding thread) stay intact until ``depth`` more are made."""
    detector = Detector.load(model_path)
    image = pictures["newton"]
    prepare = detector.preparer(3)
    made = [prepare(image) for _ in range(4)]
    assert len({id(blob) for blob, _ in made[:3]}) == 3 and made[3][0] is made[0][0]
    expected = detector.detect(image, 0.05)
    found = detector.run(*made[1], 0.05)
    np.testing.assert_array_equal(found.boxes, expected.boxes)
    np.testing.assert_array_equal(found.scores, expected.scores)


def test_detections_concatenate_in_float32(model_path, pictures):
    detector = Detector.load(model_path)
    parts = [detector.detect(pictures[name], 0.3) for name in ("newton", "gauss")]
    joined = Detections.concat(parts)
    assert len(joined) == sum(map(len, parts)) and joined.boxes.dtype == np.float32
    np.testing.assert_array_equal(joined.keypoints[len(parts[0]) :], parts[1].keypoints)
    assert len(Detections.concat([])) == 0


def test_prepare_refuses_what_is_not_uint8_pixels(model_path):
    detector = Detector.load(model_path)
    for bad in (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 4), np.uint8), np.zeros(8, np.uint8)):
        with pytest.raises(fk.InvalidInputError):
            detector.prepare(bad)


# -- Result.filter is exact ------------------------------------------------------------------


@pytest.fixture(scope="module", params=["solvay", "solvay_small"])
def filter_case(request, pictures):
    """A picture and its result at the lowest threshold; the small Solvay has more weak candidates."""
    image = pictures["solvay"]
    if request.param == "solvay_small":
        image = cv2.resize(image, (image.shape[1] // 4, image.shape[0] // 4), interpolation=cv2.INTER_AREA)
    return image, fk.detect(image, confidence=0.05)


@pytest.mark.slow
def test_filter_equals_a_fresh_detection(filter_case):
    image, base = filter_case
    scores = np.sort(base.candidates()["score"].to_numpy())
    assert len(scores) > 29  # weak candidates exist, so the thresholds below change the answer
    thresholds = [*np.arange(0.05, 0.95, 0.05), 0.0500001, 0.123456, 0.5 + 1e-9, 0.77, 0.999]
    thresholds += [scores[len(scores) // 3], scores[-5]]  # exactly a candidate's score: it is kept
    counts = set()
    for step, confidence in enumerate(map(float, thresholds)):
        filtered = base.filter(confidence=confidence)
        assert len(filtered) == int((scores >= confidence).sum())
        counts.add(len(filtered))
        # A fresh detection whose NMS only ever saw the candidates above ``confidence``...
        fresh = fk.detect(image, confidence=confidence, floor=min(confidence, scores[-1]))
        pd.testing.assert_frame_equal(filtered.to_frame(), fresh.to_frame(), check_exact=True)
        assert filtered.faces_obj == fresh.faces_obj
        if step % 4 == 0:  # ... and, now and then, one with the default floor
            fresh = fk.detect(image, confidence=confidence)
            pd.testing.assert_frame_equal(filtered.to_frame(), fresh.to_frame(), check_exact=True)
    assert len(counts) > 5


@pytest.mark.slow
def test_filter_refuses_thresholds_it_cannot_honour(results):
    result = results["astronaut"]
    with pytest.raises(fk.InvalidInputError, match="floor"):
        result.filter(confidence=result.floor / 2)
    for bad in (1.5, -0.1):
        with pytest.raises(fk.InvalidInputError):
            result.filter(confidence=bad)


# -- greedy NMS ------------------------------------------------------------------------------


def random_boxes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Clustered boxes (so that many overlap) and distinct scores."""
    centres = rng.uniform(0, 200, (n // 4 + 1, 2))[rng.integers(0, n // 4 + 1, n)] + rng.normal(0, 6, (n, 2))
    sizes = rng.uniform(10, 60, (n, 2))
    boxes = np.hstack([centres - sizes / 2, centres + sizes / 2]).astype(np.float32)
    return boxes, rng.permutation(np.linspace(0.05, 0.95, n)).astype(np.float32)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """InsightFace's overlap (pixel areas with the ``+1``) of box ``a`` against boxes ``b``."""
    w = np.maximum(0.0, np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]) + 1)
    h = np.maximum(0.0, np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]) + 1)
    area = lambda box: (box[..., 2] - box[..., 0] + 1) * (box[..., 3] - box[..., 1] + 1)  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


@pytest.mark.parametrize("seed", range(5))
def test_nms_properties(seed):
    boxes, scores = random_boxes(np.random.default_rng(seed), 120)
    keep = greedy_nms(boxes, scores)
    assert keep.dtype == np.int64 and len(set(keep.tolist())) == len(keep)
    assert np.all(np.diff(scores[keep]) < 0)  # best first
    for rank, i in enumerate(keep):  # no two kept boxes overlap too much
        assert np.all(iou(boxes[i], boxes[keep[rank + 1 :]]) <= NMS_IOU)
    dropped = np.setdiff1d(np.arange(len(boxes)), keep)
    assert dropped.size > 0
    for j in dropped:  # each dropped box is covered by a better kept one
        better = keep[scores[keep] > scores[j]]
        assert np.any(iou(boxes[j], boxes[better]) > NMS_IOU)


@pytest.mark.parametrize("seed", range(3))
def test_nms_equals_insightface(seed, insightface_scrfd):
    boxes, scores = random_boxes(np.random.default_rng(200 + seed), 150)
    assert insightface_scrfd.nms_thresh == NMS_IOU
    expected = insightface_scrfd.nms(np.hstack([boxes, scores[:, None]]))
    np.testing.assert_array_equal(greedy_nms(boxes, scores), expected)


def test_nms_edge_cases():
    assert greedy_nms(np.empty((0, 4), np.float32), np.empty(0, np.float32)).tolist() == []
    same = np.tile(np.array([[10, 10, 50, 50]], np.float32), (4, 1))
    assert greedy_nms(same, np.array([0.3, 0.9, 0.5, 0.1], np.float32)).tolist() == [1]
    apart = np.array([[0, 0, 10, 10], [100, 100, 110, 110], [200, 0, 210, 10]], np.float32)
    assert greedy_nms(apart, np.array([0.2, 0.9, 0.5], np.float32)).tolist() == [1, 2, 0]


# -- one shared detector, many threads -------------------------------------------------------


@pytest.mark.slow
def test_detector_is_thread_safe(model_path, pictures):
    detector = Detector.load(model_path)
    images = [pictures["solvay"], pictures["gauss"]]
    expected = [detector.detect(image, 0.05) for image in images]
    start = threading.Barrier(len(images))
    answers: dict[int, list] = {}

    def work(index: int) -> None:
        start.wait()
        answers[index] = [detector.detect(images[index], 0.05) for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == [0, 1]
    for index, runs in answers.items():
        for got in runs:
            np.testing.assert_array_equal(got.boxes, expected[index].boxes)
            np.testing.assert_array_equal(got.scores, expected[index].scores)
            np.testing.assert_array_equal(got.keypoints, expected[index].keypoints)


@pytest.mark.slow
def test_detect_is_thread_safe(pictures, results):
    from concurrent.futures import ThreadPoolExecutor

    names = ["newton", "solvay", "astronaut", "gauss"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda name: fp32_detect(pictures[name]), names))
    for name, answer in zip(names, answers):
        pd.testing.assert_frame_equal(answer.to_frame(), results[name].to_frame(), check_exact=True)


# -- pictures without faces ------------------------------------------------------------------


@pytest.mark.slow
def test_detector_finds_nothing_in_a_blank_picture(model_path):
    found = Detector.load(model_path).detect(np.full((480, 640, 3), 128, np.uint8), 0.05)
    assert len(found) == 0
    assert found.boxes.shape == (0, 4) and found.keypoints.shape == (0, 5, 2)


@pytest.mark.slow
def test_detect_a_picture_without_faces(model_path):
    result = fk.detect(np.full((480, 640, 3), 128, np.uint8), confidence=0.05)
    assert len(result) == 0 and len(result.candidates()) == 0
    assert result.to_akool()["faces_obj"]["0"]["region"] == []
    assert list(result.to_frame().columns[:9]) == ["frame", "time", "face", "track_id", "score", *BOX_COLUMNS]


def test_reused_blob_is_padded_for_each_picture_size(model_path, pictures):
    """A wide picture after a tall one (same 640 x 640 blob): no stale pixels in the new padding."""
    detector = Detector.load(model_path)
    wide = pictures["solvay"]
    fresh = Detector(model_path).prepare(wide)[0].copy()
    detector.prepare(pictures["gauss"])  # tall: fills the left of the blob, pads the right
    np.testing.assert_array_equal(detector.prepare(wide)[0], fresh)


@pytest.mark.slow
def test_native_aspect_detector_is_thread_safe(model_path, pictures):
    """Pictures of different shapes at once: each thread keeps its own blob per input size."""
    from concurrent.futures import ThreadPoolExecutor

    from facekit import variants

    native = variants.get(fk.models.resolve(model_path), "native")
    detector = Detector.load(native.path, None, None, "native")
    images = [pictures[name] for name in ("solvay", "gauss", "newton", "astronaut")] * 2
    expected = [detector.detect(image, 0.05) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda image: detector.detect(image, 0.05), images))
    for got, want in zip(answers, expected):
        np.testing.assert_array_equal(got.boxes, want.boxes)
        np.testing.assert_array_equal(got.keypoints, want.keypoints)
