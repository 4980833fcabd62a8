"""The fidelity gate (facekit.evaluation.fidelity) on its held-out set, against the original FP32 model.

The reference is facekit's FP32 letterboxed detector on the original model, which gives
InsightFace's own boxes (tests/test_engine.py). The int8 variant is calibrated on Newton and
Gauss only; everything here is data it never saw but a Newton close-up far larger than any
calibration face: Solvay whole, 1280 wide and upside down, crowd mosaics of Solvay, non-face
textures, the astronaut, the pan video and every frame of every clip in ../shared/data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import facekit as fk
from facekit import variants
from facekit.engine import Detections, Detector
from facekit.evaluation.fidelity import GATE, TINY, Agreement, anchor_errors, compare, gate_inputs, score_steps, steady
from facekit.pipeline import DEFAULT_ASPECT

NATIVE_MAX_DEVIATION_PX = 1.0
FLOOR = GATE["confidence"] - GATE["window"]  # low enough to see the scores near the threshold


def detector(model_path: Path, precision: str, aspect: str) -> Detector:
    variant = variants.choose(fk.models.resolve(model_path), precision, aspect)
    return Detector.load(variant.path, None, None, aspect)


@pytest.fixture(scope="module")
def inputs(shared_data, model_path, tmp_path_factory) -> dict[str, list[np.ndarray]]:
    return gate_inputs(tmp_path_factory.mktemp("fidelity"), shared_data)


@pytest.fixture(scope="module")
def table(inputs, model_path) -> dict[str, dict[str, Agreement]]:
    """Per input, the agreement of FP32 native and int8 (default aspect) with the FP32 letterbox."""
    reference = detector(model_path, "fp32", "square")
    candidates = {
        "fp32_native": detector(model_path, "fp32", "native"),
        "int8": detector(model_path, "int8", DEFAULT_ASPECT),
    }
    out: dict[str, dict[str, Agreement]] = {}
    for name, frames in inputs.items():
        expected = {id(frame): reference.detect(frame, FLOOR) for frame in frames}
        out[name] = {
            label: compare(lambda f, e=expected: e[id(f)], lambda f, d=candidate: d.detect(f, FLOOR), frames)
            for label, candidate in candidates.items()
        }
    return out


@pytest.mark.slow
def test_the_gate_set_is_wide(inputs, table):
    """Every clip every frame, crowds, textures without faces and a face filling the frame are all in it."""
    assert {"crowd_mosaics", "textures", "face_filling_frame", TINY, "pan.mp4"} <= set(inputs)
    assert sum(name.endswith((".mp4", ".mov", ".mkv", ".gif")) for name in inputs) >= 6
    assert sum(len(frames) for frames in inputs.values()) > 200
    assert table["crowd_mosaics"]["fp32_native"].reference > 50
    assert table["face_filling_frame"]["fp32_native"].reference == 1
    assert table["textures"]["fp32_native"].reference == 0


@pytest.mark.slow
def test_native_aspect_finds_the_letterboxed_faces(table):
    """Native aspect finds every face of the letterbox, within 2 px (1 px everywhere but at the
    bottom edge of the pan video, where less padding lies under the faces)."""
    for name, row in table.items():
        numbers = row["fp32_native"].summary()
        assert numbers["found"] == 1.0 and numbers["extra"] <= GATE["extra"], (name, numbers)
        assert numbers["max_deviation_px"] <= 2 * NATIVE_MAX_DEVIATION_PX, (name, numbers)


@pytest.mark.slow
def test_int8_scores_are_not_quantised(table):
    """The score heads stay FP32 in the int8 variant: near the threshold its scores are distinct values."""
    pooled = np.concatenate([row["int8"].near for row in table.values()])
    assert pooled.size >= 20
    assert score_steps(pooled) >= GATE["distinct"]


@pytest.mark.slow
def test_defaults_follow_the_gates(inputs, table, model_path):
    """Native aspect is the default only within 1 px on every input; int8 only if it passes the face gate
    on every input and keeps anchor scores near the threshold steady; otherwise "auto" is FP32."""
    from facekit.pipeline import DEFAULT_PRECISION

    native = [row["fp32_native"].summary() for row in table.values()]
    native_ok = all(
        n["found"] == 1.0 and n["extra"] == 0.0 and n["max_deviation_px"] <= NATIVE_MAX_DEVIATION_PX for n in native
    )
    assert (DEFAULT_ASPECT == "native") == native_ok
    faces_ok = all(row["int8"].passes(tiny=name == TINY) for name, row in table.items())
    frames = [frame for row in inputs.values() for frame in row[::8]]
    errors = anchor_errors(detector(model_path, "fp32", "square"), detector(model_path, "int8", "square"), frames)
    assert errors.size > 200
    int8_ok = faces_ok and steady(errors)
    auto = variants.auto_precision(fk.models.resolve()) if DEFAULT_PRECISION == "auto" else DEFAULT_PRECISION
    assert (auto == "int8") == int8_ok, {
        "faces_ok": faces_ok,
        "p99_anchor_error": float(np.percentile(np.abs(errors), 99)),
    }


def test_the_gate_data_is_held_out():
    """Calibration draws on Newton and Gauss only; every other gate input is one it never saw."""
    sources = {picture.get("source") for picture, _ in variants.calibration_pictures()}
    sources |= {name for picture, _ in variants.calibration_pictures() for name in picture.get("sources", [])}
    assert sources - {None} == {"newton", "gauss"} == set(variants.CALIBRATION_SOURCES)


def test_agreement_counts_lost_and_extra_faces():
    box = np.array([[10, 10, 50, 50]], np.float32)
    points = np.zeros((1, 5, 2), np.float32)
    one = Detections(box, np.array([0.9], np.float32), points)
    shifted = Detections(box + 30, np.array([0.9], np.float32), points)
    same = Agreement.of(one, one)
    assert (same.matched, same.lost, same.extra, same.deviation) == (1, 0, 0, 0.0)
    moved = Agreement.of(one, shifted)
    assert (moved.matched, moved.lost, moved.extra) == (0, 1, 1)
    assert not moved.passes()
    weak = Agreement.of(one, Detections(box + 1, np.array([0.45], np.float32), points))
    assert (weak.lost, weak.extra) == (1, 0)  # below the gate confidence it does not count as found
    assert weak.near.tolist() == [pytest.approx(0.45)]  # but it is near the threshold


def test_score_steps_see_quantised_scores():
    """Scores in steps of ~1/300 (what a quantised score head gives) fail the distinct-values rule."""
    scores = np.random.default_rng(0).uniform(0.4, 0.6, 500).astype(np.float32)
    assert score_steps(scores) >= GATE["distinct"]
    assert score_steps(np.round(scores * 296) / 296) < GATE["distinct"]
    assert score_steps(scores[:5]) == 1.0  # too few to tell
    assert steady(np.full(100, 0.01)) and not steady(np.full(100, 0.03))


@pytest.mark.slow
def test_large_jpegs_decoded_at_reduced_scale_pass_the_gate(model_path, tmp_path):
    """fk.detect decodes a large JPEG file at 1/2, 1/4 or 1/8 scale (Pillow's draft) when twice the
    model's letterbox still fits and the variant is not the exact original; its faces pass the gate
    against the full decode, in stored pixels."""
    from facekit.media import Source, decode_image
    from facekit.pipeline import _reduce

    detector = Detector.load(model_path)
    solvay = fk.data.path("solvay")
    reduced = decode_image(Source(str(solvay), path=solvay), fk.Limits(), reduce=_reduce(detector))
    full = decode_image(solvay.read_bytes(), fk.Limits())
    assert reduced.stored == (full.width, full.height) and reduced.reduction == (2.0, 2.0)
    expected = detector.detect(full.pixels, FLOOR)
    found = detector.detect(reduced.pixels, FLOOR).scaled(*reduced.reduction)
    agreement = Agreement.of(expected, found)
    assert agreement.reference == 29 and agreement.passes(), agreement.summary()
    result = fk.detect(solvay, precision="fp32", aspect="native")
    assert (result.meta["width"], result.meta["height"]) == (3000, 2171) and len(result) == 29
    assert result.pixels().shape[:2] == full.pixels.shape[:2]  # drawn from the file, full size
    exact = fk.detect(solvay, precision="fp32", aspect="square")  # the original: decoded in full, InsightFace's boxes
    assert exact.to_frame().equals(fk.detect(full.rgb(), precision="fp32", aspect="square").to_frame())
