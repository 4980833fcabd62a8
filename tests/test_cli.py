"""The facekit command, run as a user runs it: a subprocess, JSON on stdout, one line on stderr."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
import pytest
from PIL import Image

import facekit as fk
from facekit import models
from facekit.cli import main
from facekit.schema import validate_akool


def facekit(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess:
    """Run ``facekit ARGS``; ``env`` adds variables (None removes one)."""
    merged = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "facekit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in merged.items() if v is not None},
    )


def facekit_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """``facekit ARGS`` in this process (the same ``main``, without the start-up cost)."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's --version, --help and usage errors
        code = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("facekit: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def solvay_api(solvay_path) -> fk.Result:
    return fk.detect(solvay_path)


# -- facekit detect --------------------------------------------------------------------------


@pytest.mark.slow
def test_detect_prints_akool_json(newton_path):
    done = facekit("detect", newton_path)
    assert done.returncode == 0 and done.stderr == ""
    response = json.loads(done.stdout)
    validate_akool(response)
    assert response == fk.detect(newton_path).to_akool()
    assert len(done.stdout.splitlines()) == 1


@pytest.mark.slow
def test_detect_json_format_and_confidence(solvay_path, solvay_api):
    done = facekit("detect", solvay_path, "--format", "json", "--confidence", "0.8")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    strict = solvay_api.filter(confidence=0.8)
    assert payload["faces_obj"] == strict.faces_obj
    assert 0 < len(payload["faces_obj"]["0"]["scores"]) < len(solvay_api)
    assert payload["meta"]["source"] == str(solvay_path) and payload["meta"]["confidence"] == 0.8
    assert (payload["meta"]["width"], payload["meta"]["height"]) == (3000, 2171)


@pytest.mark.slow
def test_detect_single_face_crops_and_output(solvay_path, solvay_api, tmp_path):
    out, crops = tmp_path / "answer.json", tmp_path / "crops"
    done = facekit("detect", solvay_path, "--single-face", "--crops", crops, "--output", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    response = json.loads(out.read_text())
    validate_akool(response)
    frame = response["faces_obj"]["0"]
    assert frame["region"] == solvay_api.filter(single_face=True).to_akool()["faces_obj"]["0"]["region"]
    assert len(frame["face_urls"]) == 1
    crop = Path(frame["face_urls"][0].removeprefix("file://"))
    assert crop.parent == crops.resolve() and crop.is_file()
    assert Image.open(crop).size == tuple(frame["crop_region"][0][2:])


@pytest.mark.slow
def test_detect_csv_and_parquet(newton_path, tmp_path, capsys):
    done = facekit("detect", newton_path, "--format", "csv")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(io.StringIO(done.stdout))
    expected = fk.detect(newton_path).to_frame()
    assert list(table.columns) == list(expected.columns)
    np.testing.assert_allclose(table[["x", "y", "w", "h"]], expected[["x", "y", "w", "h"]])
    done = facekit_here(capsys, "detect", newton_path, "--format", "parquet", "--output", tmp_path / "faces.parquet")
    assert done.returncode == 0, done.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "faces.parquet"), expected, check_dtype=False)
    one_error_line(facekit_here(capsys, "detect", newton_path, "--format", "parquet"))


@pytest.mark.parametrize(
    "case",
    ["missing", "noise", "truncated", "confidence", "num-frames", "base64", "text-data-uri"],
)
def test_bad_input_exits_2_with_one_line(case, tmp_path, solvay_path, capsys):
    source, extra = str(tmp_path / "missing.jpg"), []
    if case == "noise":
        (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(4000))
        source = str(tmp_path / "noise.jpg")
    elif case == "truncated":
        data = solvay_path.read_bytes()
        (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
        source = str(tmp_path / "half.jpg")
    elif case == "confidence":
        source, extra = str(solvay_path), ["--confidence", "1.5"]
    elif case == "num-frames":
        source, extra = str(solvay_path), ["--num-frames", "0"]
    elif case == "base64":
        source = "QUJD" * 40 + "*"
    elif case == "text-data-uri":
        source = "data:text/plain;base64,aGVsbG8gd29ybGQ="
    done = facekit_here(capsys, "detect", source, *extra)
    assert done.returncode == 2
    one_error_line(done)
    if case in ("missing", "noise"):  # and through the real entry point, start-up included
        done = facekit("detect", source, *extra)
        assert done.returncode == 2
        one_error_line(done)


def test_unreachable_url_is_one_line(model_path, capsys):
    done = facekit_here(capsys, "detect", "http://127.0.0.1:9/photo.jpg")
    assert done.returncode != 0
    assert "127.0.0.1" in one_error_line(done)


@pytest.mark.slow
def test_video_named_jpg(tmp_path, newton_path, capsys):
    frames = [Image.open(newton_path).convert("RGB").resize((96, 54)), Image.new("RGB", (96, 54), "white")]
    clip = tmp_path / "clip.jpg"
    frames[0].save(clip, "GIF", save_all=True, append_images=frames[1:], duration=100)
    done = facekit_here(capsys, "detect", clip)
    if done.returncode == 0:  # video support has landed: it is analysed as a video
        assert json.loads(done.stdout)["faces_obj"].keys() >= {"0"}
    else:
        assert done.returncode == 2 and "video" in one_error_line(done)


@pytest.mark.slow
def test_unwritable_output_is_one_line(newton_path, tmp_path, capsys):
    done = facekit_here(capsys, "detect", newton_path, "--output", tmp_path / "no" / "such" / "folder" / "out.json")
    assert done.returncode == 1
    one_error_line(done)


@pytest.mark.slow
def test_closed_stdout_is_not_a_traceback(solvay_path):
    """`facekit detect x | head -c 10`: the reader goes away before facekit writes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "facekit.cli", "detect", str(solvay_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()
    _, stderr = process.communicate(timeout=120)
    assert stderr == b""  # neither a traceback nor "Exception ignored ... BrokenPipeError"
    assert process.returncode != 0


def test_version(capsys):
    done = facekit_here(capsys, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"facekit {fk.__version__}"


# -- facekit doctor and facekit models -------------------------------------------------------


@pytest.mark.slow
def test_doctor(model_path):
    done = facekit("doctor", "--runs", "2")
    assert done.returncode == 0, done.stderr
    fields = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in done.stdout.splitlines())
    assert fields["model"] == str(model_path)
    assert fields["model sha256"] == models.DEFAULT_MODEL_SHA256
    assert fields["model verified"] == "True"
    assert fields["provider"] in onnxruntime.get_available_providers()
    assert int(fields["threads"].split()[0]) >= 1
    assert fields["spinning"].startswith(("on", "off")) and fields["precision"].startswith(("fp32", "int8"))
    ms = next(value for key, value in fields.items() if key.startswith("ms per detection"))
    assert float(ms.split()[0]) > 0


def test_models_path_and_info(model_path, capsys):
    done = facekit("models", "path")
    assert done.returncode == 0 and Path(done.stdout.strip()) == model_path
    done = facekit_here(capsys, "models", "info")
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    assert described["sha256"] == models.DEFAULT_MODEL_SHA256 and described["verified"] is True
    assert described["path"] == str(model_path) and described["input_size"] == [640, 640]


def offline_env(tmp_path: Path) -> dict[str, str | None]:
    links = tmp_path / "no-links"
    links.mkdir(exist_ok=True)
    return {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(links),
        "PIP_INDEX_URL": None,
        "PIP_EXTRA_INDEX_URL": None,
        "FACEKIT_MODEL": None,
    }


def test_models_fetch_from_a_local_sdist(model_path, tmp_path, monkeypatch, capsys):
    sdist = tmp_path / models.SDIST_NAME
    with tarfile.open(sdist, "w:gz") as tar:
        for member, (rel, _) in models.SDIST_MEMBERS.items():
            tar.add(model_path.parents[1] / rel, arcname=member)
    home = tmp_path / "home"
    env = {**offline_env(tmp_path), "FACEKIT_HOME": str(home)}
    done = facekit("models", "fetch", "--sdist", sdist, env=env)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == home / "models" / models.DEFAULT_MODEL_NAME
    assert models.sha256_of(home / "models" / models.DEFAULT_MODEL_NAME) == models.DEFAULT_MODEL_SHA256
    for name, value in env.items():
        monkeypatch.setenv(name, value) if value is not None else monkeypatch.delenv(name, raising=False)
    done = facekit_here(capsys, "models", "path")
    assert done.returncode == 0 and Path(done.stdout.strip()) == home / "models" / models.DEFAULT_MODEL_NAME


def test_models_offline_without_a_model(tmp_path, monkeypatch, capsys):
    env = {**offline_env(tmp_path), "FACEKIT_HOME": str(tmp_path / "empty-home")}
    done = facekit("models", "path", env=env)
    assert done.returncode == 1
    assert "FACEKIT_MODEL" in one_error_line(done)
    for name, value in env.items():
        monkeypatch.setenv(name, value) if value is not None else monkeypatch.delenv(name, raising=False)
    done = facekit_here(capsys, "detect", "photo.jpg")  # the missing model is reported, not a traceback
    assert done.returncode == 1
    assert "FACEKIT_MODEL" in one_error_line(done)


@pytest.mark.slow
def test_demo_writes_the_quickstart_figures_and_tables(tmp_path, capsys):
    out = tmp_path / "demo"
    done = facekit_here(capsys, "demo", "--output", str(out))
    assert done.returncode == 0
    printed = done.stdout
    written = [Path(line) for line in printed.splitlines() if line.startswith(str(out))]
    assert {p.name for p in written} >= {
        "solvay_akool.json",
        "solvay_result.parquet",
        "solvay_overlay.png",
        "solvay_scores.png",
        "pan_faces.parquet",
        "pan_tracks.png",
        "pan_gallery.png",
        "pan_timeline.png",
        "pan_annotated.mp4",
        "pan_blurred.mp4",
    }
    assert "AP50 1.000" in printed
    assert all(p.is_file() and p.stat().st_size > 1000 for p in written)
    assert len(fk.load(out / "solvay_result.parquet")) == 29
    pan = pd.read_parquet(out / "pan_faces.parquet")
    assert pan["removed"].any() and pan.loc[~pan["removed"], "track_id"].notna().all()
    assert "29 faces" in printed
