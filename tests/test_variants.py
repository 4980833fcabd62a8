"""Derived variants: free input size, int8, their cache records, and how detect picks them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import facekit as fk
from facekit import models, variants
from facekit.engine import Detector, native_size


@pytest.fixture(scope="session")
def source(model_path) -> models.ModelInfo:
    return models.resolve(model_path)


@pytest.fixture(scope="session")
def native(source) -> variants.Variant:
    return variants.get(source, "native")


@pytest.fixture(scope="session")
def int8(source) -> variants.Variant:
    """Derived once per cache (seconds), then reused from it."""
    return variants.get(source, "int8")


@pytest.fixture
def fresh_home(tmp_path, monkeypatch, model_path) -> Path:
    """A facekit cache holding only the original model and the sample pictures."""
    root = tmp_path / "facekit-home"
    for rel, _ in models.SDIST_MEMBERS.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(model_path.parents[1] / rel, root / rel)
    monkeypatch.setenv("FACEKIT_HOME", str(root))
    monkeypatch.delenv("FACEKIT_MODEL", raising=False)
    return root


def run(path: Path, blob: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: blob})


def test_native_variant_has_a_free_input_and_the_same_outputs(source, native, model_path):
    graph = onnx.load(str(native.path)).graph
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims[2:]] == ["height", "width"]
    assert all(len(node.input) == 3 for node in graph.node if node.op_type == "Resize")  # scales, no sizes
    blob, _ = Detector.load(model_path).prepare(fk.data.newton())
    for ours, original in zip(run(native.path, blob), run(model_path, blob)):
        np.testing.assert_allclose(ours, original, atol=1e-4)
    wide = run(native.path, np.ascontiguousarray(blob[:, :, :384]))  # 640 x 384: 80 x 48 anchors at stride 8
    assert [o.shape[1] for o in wide[:3]] == [2 * 80 * 48, 2 * 40 * 24, 2 * 20 * 12]


def test_records_say_how_each_variant_was_made(source, native, int8):
    for variant in (native, int8):
        assert variant.path.parent == variants.directory(source)
        assert models.sha256_of(variant.path) == variant.sha256 == variant.record["sha256"]
        record = json.loads(variant.path.with_suffix(".json").read_text())
        assert record["source_sha256"] == models.DEFAULT_MODEL_SHA256
        assert set(record["tools"]) >= {"onnx", "onnxruntime", "numpy", "opencv", "facekit"}
    calibration = int8.record["settings"]["calibration"]
    assert calibration["count"] == variants.CALIBRATION_COUNT == len(calibration["pictures"])
    assert set(calibration["sources"]) == {"newton", "gauss"}
    assert int8.record["settings"]["per_channel"] is True
    assert int8.record["settings"]["from"]["sha256"] == native.sha256
    graph = onnx.load(str(int8.path)).graph
    assert sum(node.op_type == "QuantizeLinear" for node in graph.node) > 50
    listed = {entry["kind"]: entry for entry in variants.info()["variants"]}
    assert listed["int8"]["sha256"] == int8.sha256 and listed["native"]["cached"] is True


@pytest.mark.slow
def test_derivation_is_reproducible_and_downloads_nothing(fresh_home, native, int8, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no fetch could succeed: everything is derived locally
    fresh = models.resolve(fetch_missing=False)
    assert variants.listed(fresh)[0]["cached"] is False
    assert variants.get(fresh, "int8").sha256 == int8.sha256
    assert variants.get(fresh, "native").sha256 == native.sha256
    assert variants.directory(fresh).is_relative_to(fresh_home)


def test_a_tampered_variant_is_derived_again(fresh_home, native):
    fresh = models.resolve(fetch_missing=False)
    path = variants.get(fresh, "native").path
    path.write_bytes(path.read_bytes()[:-64] + bytes(64))
    assert variants.cached(fresh, "native") is None
    assert variants.get(fresh, "native").sha256 == native.sha256


def test_calibration_set_is_fixed():
    first = list(variants.calibration_pictures())
    again = list(variants.calibration_pictures())
    assert len(first) == variants.CALIBRATION_COUNT
    assert {d["kind"] for d, _ in first} == {"crop", "mosaic"}
    for (d1, p1), (d2, p2) in zip(first, again):
        assert d1 == d2 and np.array_equal(p1, p2)


@pytest.mark.parametrize(
    "size, expected",
    [
        ((1280, 720), (640, 384)),
        ((360, 640), (384, 640)),
        ((3000, 2171), (640, 480)),
        ((640, 640), (640, 640)),
        ((50, 20), (640, 256)),
    ],
)
def test_native_size(size, expected):
    assert native_size(*size) == expected


def test_native_blob_holds_the_square_blobs_pixels(model_path, native):
    frame = fk.data.gauss()  # portrait: the padding is to the right
    square, square_scale = Detector.load(model_path).prepare(frame)
    square = square.copy()
    narrow, scale = Detector.load(native.path, None, None, "native").prepare(frame)
    assert narrow.shape == (1, 3, 640, 512) and scale == square_scale
    np.testing.assert_array_equal(narrow, square[:, :, :, :512])


def test_native_needs_a_free_input_model(model_path):
    with pytest.raises(fk.InvalidInputError, match="free input"):
        Detector(model_path, aspect="native")
    with pytest.raises(fk.InvalidInputError, match="aspect"):
        Detector(model_path, aspect="wide")


# -- fk.detect picks the variant: argument, environment, meta --------------------------------


@pytest.mark.slow
def test_detect_runs_the_chosen_variant(newton_path, native, int8, model_path):
    plain = fk.detect(newton_path, precision="fp32")
    assert (plain.meta["precision"], plain.meta["aspect"], plain.meta["variant"]) == ("fp32", "square", "original")
    assert plain.meta["variant_sha256"] == models.DEFAULT_MODEL_SHA256 and list(plain.meta["input_size"]) == [640, 640]
    fast = fk.detect(newton_path, precision="int8", aspect="native", threads=1, spinning=False)
    assert (fast.meta["variant"], fast.meta["variant_sha256"]) == ("int8", int8.sha256)
    assert list(fast.meta["input_size"]) == [640, 384] and fast.meta["threads"] == 1 and fast.meta["spinning"] is False
    assert len(fast) == len(plain) == 1
    box = lambda r: r.to_frame()[["x", "y", "w", "h"]].to_numpy()  # noqa: E731
    np.testing.assert_allclose(box(fast), box(plain), atol=3.0)
    assert fast.meta["model_sha256"] == models.DEFAULT_MODEL_SHA256  # the original it was derived from


@pytest.mark.slow
def test_fp32_letterboxed_is_the_default(newton_path, monkeypatch, model_path):
    """int8 is opt-in: its anchor scores near the threshold move too much (test_fidelity.py), so
    "auto" runs the original itself, for the default model and any other."""
    monkeypatch.delenv("FACEKIT_PRECISION", raising=False)
    monkeypatch.delenv("FACEKIT_ASPECT", raising=False)
    meta = fk.detect(newton_path).meta
    assert (meta["precision"], meta["aspect"], meta["variant"]) == ("fp32", "square", "original")
    assert meta["variant_sha256"] == models.DEFAULT_MODEL_SHA256
    assert variants.auto_precision(fk.models.resolve(model_path)) == "fp32"


def test_int8_keeps_its_score_heads_in_fp32(native, int8):
    """The nodes from each score output back to its logits Conv are left out of quantisation."""
    heads = variants.score_heads(onnx.load(str(native.path)))
    assert [name for name in heads if name.startswith("Conv")] and len(heads) == 12
    graph = onnx.load(str(int8.path)).graph
    producer = {output: node for node in graph.node for output in node.output}
    for output in graph.output:
        if output.name.startswith("score"):
            chain, node = [], producer[output.name]
            while node.op_type != "Conv":
                chain.append(node.op_type)
                node = producer[node.input[0]]
            assert "QuantizeLinear" not in chain and "DequantizeLinear" not in chain, chain
            weights = producer.get(node.input[1])
            assert weights is None or weights.op_type != "DequantizeLinear"  # float weights, float conv
    assert int8.record["settings"]["float_nodes"] == "score heads"


@pytest.mark.slow
def test_environment_settings(newton_path, monkeypatch, native):
    monkeypatch.setenv("FACEKIT_PRECISION", "int8")
    monkeypatch.setenv("FACEKIT_ASPECT", "native")
    monkeypatch.setenv("FACEKIT_THREADS", "1")
    monkeypatch.setenv("FACEKIT_SPINNING", "0")
    result = fk.detect(newton_path)
    assert (result.meta["precision"], result.meta["aspect"], result.meta["threads"], result.meta["spinning"]) == (
        "int8",
        "native",
        1,
        False,
    )
    assert fk.detect(newton_path, precision="fp32", aspect="square").meta["variant"] == "original"  # arguments win


@pytest.mark.parametrize(
    "options, env, match",
    [
        ({"precision": "int4"}, {}, "precision"),
        ({"aspect": "wide"}, {}, "aspect"),
        ({}, {"FACEKIT_PRECISION": "fp16"}, "precision.*fp16"),
        ({}, {"FACEKIT_SPINNING": "maybe"}, "FACEKIT_SPINNING"),
    ],
)
def test_bad_settings_are_refused(newton_path, monkeypatch, options, env, match):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(fk.InvalidInputError, match=match):
        fk.detect(newton_path, **options)


@pytest.mark.slow
def test_cli_precision_flag(newton_path, int8):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "facekit.cli",
            "detect",
            str(newton_path),
            "--precision",
            "int8",
            "--aspect",
            "native",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads(done.stdout)["meta"]
    assert (meta["precision"], meta["aspect"], meta["variant_sha256"]) == ("int8", "native", int8.sha256)
    assert done.stderr == ""
