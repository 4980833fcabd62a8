"""fk.detect_many and `facekit batch`: sources, bad files, resume after a kill, local processes, Dask."""

from __future__ import annotations

import functools
import http.server
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

import facekit as fk
import facekit.batch.work
from facekit.batch import read
from facekit.batch.sources import expand
from facekit.batch.store import PARTS
from facekit.cli import main

pytestmark = pytest.mark.slow  # every test here runs the real model


@pytest.fixture(scope="module")
def folder(tmp_path_factory, solvay_path, newton_path, gauss_path) -> Path:
    """Good pictures at two sizes, a video, and bad files: truncated JPEG (sniffs as media), empty, text."""
    root = tmp_path_factory.mktemp("batch")
    (root / "sub").mkdir()
    for path in (solvay_path, newton_path, gauss_path):
        shutil.copy(path, root / path.name)
        with Image.open(path) as picture:
            half = picture.convert("RGB").resize((picture.width // 2, picture.height // 2))
            half.save(root / "sub" / f"{path.stem}_half.jpg", quality=90)
    fk.data.pan_video(root / "sub" / "pan.mp4", seconds=1, fps=10)
    (root / "sub" / "truncated.jpg").write_bytes(solvay_path.read_bytes()[:40_000])
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("not a picture\n")
    return root


GOOD = [
    "gauss.png",
    "newton.png",
    "solvay_conference_1927.jpg",
    "sub/gauss_half.jpg",
    "sub/newton_half.jpg",
    "sub/pan.mp4",
    "sub/solvay_conference_1927_half.jpg",
]


@pytest.fixture(scope="module")
def batch(folder) -> fk.batch.Batch:
    """The folder plus the two files a folder walk leaves out, named explicitly, and a missing one."""
    return fk.detect_many([folder, folder / "empty.jpg", folder / "notes.txt", folder / "missing.png"], workers=1)


def _faces_of(batch, source: str) -> pd.DataFrame:
    return batch.faces[batch.faces["source"] == source].drop(columns="source").reset_index(drop=True)


def test_folder_walk_chooses_media_by_content(folder, tmp_path):
    assert expand(folder) == [str(folder / name) for name in ["empty.jpg", *GOOD, "sub/truncated.jpg"]]
    shutil.copy(folder / "newton.png", tmp_path / "photo.dat")
    (tmp_path / "fake.jpg").write_text("hello")  # named like a picture: kept, to be reported
    assert expand(tmp_path) == [str(tmp_path / "fake.jpg"), str(tmp_path / "photo.dat")]
    assert expand(str(folder / "*.png")) == [str(folder / "gauss.png"), str(folder / "newton.png")]
    assert expand(pd.Series([str(folder / "newton.png"), str(folder / "newton.png")])) == [str(folder / "newton.png")]


def test_every_good_file_is_detected_as_detect_does(batch, folder):
    ok = batch.status[batch.status["status"] == "ok"]
    assert ok["source"].tolist() == [str(folder / name) for name in GOOD]
    for source in ok["source"]:
        expected = fk.detect(source).to_frame()
        pd.testing.assert_frame_equal(_faces_of(batch, source), expected, rtol=1e-4)
    video = ok.set_index("source").loc[str(folder / "sub/pan.mp4")]
    assert (video["media"], video["n_frames"]) == ("video", 5)
    assert ok["n_faces"].sum() == len(batch.faces)
    with_faces = ok.loc[ok["n_faces"] > 0, "source"].tolist()
    assert list(dict.fromkeys(batch.faces["source"])) == with_faces  # in source order


def test_every_bad_file_is_reported_with_its_reason(batch, folder):
    errors = batch.errors.set_index("source")
    assert errors.loc[str(folder / "sub/truncated.jpg"), "error_type"] == "MediaDecodeError"
    assert "truncated" in errors.loc[str(folder / "sub/truncated.jpg"), "error"]
    assert "empty" in errors.loc[str(folder / "empty.jpg"), "error"]
    assert "not a recognised image or video" in errors.loc[str(folder / "notes.txt"), "error"]
    missing = errors.loc[str(folder / "missing.png")]
    assert missing["error_type"] == "InvalidInputError" and pd.isna(missing["key"])
    assert (errors["n_faces"] == 0).all() and len(batch.status) == len(GOOD) + 4


def test_folder_scan_reports_a_broken_file_named_like_a_picture(tmp_path, newton_path):
    shutil.copy(newton_path, tmp_path / "newton.png")
    (tmp_path / "photo.jpg").write_bytes(b"")
    (tmp_path / "readme.md").write_text("not media, not named like it: skipped\n")
    scanned = fk.detect_many(tmp_path, workers=1)
    assert scanned.status["source"].tolist() == [str(tmp_path / "newton.png"), str(tmp_path / "photo.jpg")]
    error = scanned.errors.set_index("source").loc[str(tmp_path / "photo.jpg")]
    assert "empty" in error["error"] and error["n_faces"] == 0


def test_urls_and_series(folder, batch):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        urls = pd.Series([f"{base}/newton.png", f"{base}/sub/gauss_half.jpg", f"{base}/nothing.png"])
        got = fk.detect_many(urls, workers=1)
    finally:
        server.shutdown()
    assert got.status["status"].tolist() == ["ok", "ok", "error"]
    assert got.status["error_type"].iloc[2] == "DownloadError"
    for url, name in zip(urls[:2], ["newton.png", "sub/gauss_half.jpg"]):
        pd.testing.assert_frame_equal(_faces_of(got, url), _faces_of(batch, str(folder / name)))


def test_worker_processes_give_the_in_process_rows(folder, batch, tmp_path):
    got = fk.detect_many([folder, folder / "empty.jpg", folder / "notes.txt", folder / "missing.png"], workers=2)
    pd.testing.assert_frame_equal(got.faces, batch.faces, rtol=1e-4)
    columns = ["source", "key", "status", "error_type", "n_faces", "n_frames"]
    pd.testing.assert_frame_equal(got.status[columns], batch.status[columns])


def test_rerun_of_a_finished_batch_detects_nothing(folder, batch, tmp_path, monkeypatch):
    sources = [folder, folder / "notes.txt", folder / "missing.png"]
    first = fk.detect_many(sources, output=tmp_path / "out.parquet", workers=1)

    real_detect = facekit.batch.work.detect

    def only_warm_up(source, *args, **options):  # the blank warm-up picture is an array; a file comes as bytes
        assert not isinstance(source, bytes), "a stored source was detected again"
        return real_detect(source, *args, **options)

    monkeypatch.setattr(facekit.batch.work, "detect", only_warm_up)
    again = fk.detect_many(sources, output=tmp_path / "out.parquet", workers=1)
    assert again.status["cached"].tolist() == [True] * (len(first.status) - 1) + [
        False
    ]  # the missing file is tried again
    pd.testing.assert_frame_equal(again.faces, first.faces)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), first.faces)
    pd.testing.assert_frame_equal(read(tmp_path / "out.parquet").status, again.status)
    monkeypatch.undo()
    other = fk.detect_many([folder / "newton.png"], output=tmp_path / "out.parquet", workers=1, confidence=0.3)
    assert other.status[["status", "cached"]].values.tolist() == [["ok", False]]  # other options, other key
    monkeypatch.setenv("FACEKIT_PRECISION", "int8")  # a setting that changes the model run changes the key too
    fp32 = fk.detect_many([folder / "newton.png"], output=tmp_path / "out.parquet", workers=1)
    assert fp32.status[["status", "cached"]].values.tolist() == [["ok", False]]


def test_killed_batch_resumes_to_the_uninterrupted_rows(tmp_path, newton_path, gauss_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i in range(30):
        with Image.open(newton_path if i % 2 else gauss_path) as picture:
            picture.convert("RGB").resize((320 + 16 * i, 240 + 12 * i)).save(pictures / f"p{i:02d}.jpg")
    out = tmp_path / "out.parquet"
    command = [sys.executable, "-m", "facekit.cli", "batch", str(pictures), "--output", str(out), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list((out / PARTS).glob("status-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "faces.parquet").exists(), "the batch finished before it was killed"

    resumed = fk.detect_many(pictures, output=out, workers=1)
    whole = fk.detect_many(pictures, workers=1)
    assert 0 < resumed.status["cached"].sum() < 30
    pd.testing.assert_frame_equal(resumed.faces, whole.faces)
    pd.testing.assert_frame_equal(pd.read_parquet(out), whole.faces)


def test_cli_prints_a_summary_and_the_errors(folder, tmp_path, capsys):
    code = main(
        [
            "batch",
            str(folder / "newton.png"),
            str(folder / "notes.txt"),
            "--output",
            str(tmp_path / "o.parquet"),
            "--workers",
            "1",
            "--confidence",
            "0.6",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "2 files, 1 ok, 1 faces, 1 errors, 0 already done" in out and "files/s" in out
    assert f"error: {folder / 'notes.txt'}: MediaDecodeError: not a recognised image or video" in out


@pytest.mark.parametrize(
    ("sources", "options", "message"),
    [
        (123, {}, "sources must be"),
        ([b"\xff\xd8\xff"], {}, "each batch source"),
        (["/no/such/folder/*.jpg"], {}, "no files match"),
        (["x.jpg"], {"confidence": 2.0}, "confidence"),
        (["x.jpg"], {"colour": True}, "unknown detect option"),
        (["x.jpg"], {"workers": -1}, "workers must be"),
    ],
)
def test_bad_arguments_raise_clear_errors(sources, options, message):
    with pytest.raises(fk.InvalidInputError, match=message):
        fk.detect_many(sources, **options)


def test_dask_local_cluster_gives_the_local_rows(folder, batch):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = fk.detect_many(
            [folder, folder / "empty.jpg", folder / "notes.txt", folder / "missing.png"], scheduler=client
        )
    pd.testing.assert_frame_equal(got.faces, batch.faces, rtol=1e-4)
    pd.testing.assert_frame_equal(got.status.drop(columns=["seconds"]), batch.status.drop(columns=["seconds"]))
