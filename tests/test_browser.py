"""A real browser check: JupyterLab on 127.0.0.1 shows the widgets and a Result's inline display;
headless Chromium (Debian's ``chromium``, driven by Playwright) moves the sliders and reads what changed.

Skipped where no Chromium is installed, unless FACEKIT_REQUIRE_BROWSER=1 (as in CI, whose
``.ci/run`` installs it). The screenshots go to FACEKIT_ARTIFACTS (CI keeps that folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import facekit as fk

nbformat = pytest.importorskip("nbformat")
playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM:
        return CHROMIUM
    if os.environ.get("FACEKIT_REQUIRE_BROWSER") == "1":
        pytest.fail("FACEKIT_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
    pytest.skip("no chromium on PATH")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_notebook(folder: Path, name: str, *cells: str) -> None:
    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    nbformat.write(book, folder / name)


def run_notebook(page, url: str, name: str) -> None:
    """Open notebook ``name`` in JupyterLab, wait for its kernel, and run every cell (not awaited)."""
    page.goto(f"{url}/lab/tree/{name}")
    page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=90_000)
    page.wait_for_function(
        "window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status === 'idle'", timeout=90_000
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells'); null")


@pytest.fixture
def jupyterlab(tmp_path, model_path):
    """JupyterLab on 127.0.0.1 (no token) serving ``tmp_path``."""
    write_notebook(
        tmp_path,
        "explorer.ipynb",
        "import facekit as fk\nexplorer = fk.widgets.ThresholdExplorer(fk.data.path('solvay'), width=800)\nexplorer",
        "truth = fk.data.truth('solvay')\n"
        "tuned = fk.widgets.ThresholdExplorer(explorer.base.filter(confidence=0.85), truth=truth, width=800)\ntuned",
    )
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True",
        "--allow-root",
        f"--ServerApp.root_dir={tmp_path}",
        "--LabApp.expose_app_in_browser=True",
    ]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    log = open(tmp_path / "jupyterlab.log", "wb")  # noqa: SIM115 - open while the server runs
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{url}/api/status", timeout=2).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyterlab.log").read_text(errors="replace")[-2000:])
    yield url
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    """Where screenshots go: FACEKIT_ARTIFACTS (kept by CI), else the test's folder."""
    folder = Path(os.environ.get("FACEKIT_ARTIFACTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(chromium_path):
    """A headless Chromium page, 1280 pixels wide."""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 1280, "height": 1400})
        browser.close()


@pytest.mark.slow
def test_slider_changes_the_face_count_in_jupyterlab(jupyterlab, page, artifacts, solvay_path):
    """The slider changes the count; with truth, the best-F1 button moves the threshold and the F1 shown."""
    from facekit.widgets import representable

    result = fk.detect(solvay_path)
    at_050, at_080 = len(result), len(result.filter(confidence=0.8))
    assert at_050 != at_080
    evaluation = fk.evaluate(result, fk.data.truth("solvay"))
    at_085, best = evaluation.at(0.85), evaluation.summary()
    lower = evaluation.curve()["threshold"]
    lower = float(lower[lower < best["best_f1_threshold"]].max())
    best_value = representable(best["best_f1_threshold"], lower, 0.01)
    assert f"{at_085['f1']:.2f}" != f"{best['best_f1']:.2f}"
    run_notebook(page, jupyterlab, "explorer.ipynb")
    count = page.locator(".facekit-count").first
    count.wait_for(timeout=120_000)
    playwright.expect(count).to_contain_text(f"{at_050} faces kept at confidence ≥ 0.50", timeout=120_000)
    page.screenshot(path=str(artifacts / "threshold_explorer_0.50.png"))

    handle = page.locator(".widget-slider .noUi-handle").first
    handle.focus()
    for _ in range(6):  # 0.50 -> 0.80 in steps of 0.05
        handle.press("ArrowRight")
    playwright.expect(count).to_contain_text(f"{at_080} faces kept at confidence ≥ 0.80", timeout=60_000)
    page.screenshot(path=str(artifacts / "threshold_explorer_0.80.png"))
    assert (artifacts / "threshold_explorer_0.80.png").stat().st_size > 10_000

    tuned = page.locator(".facekit-count").nth(1)
    playwright.expect(tuned).to_contain_text(f"F1 {at_085['f1']:.2f}", timeout=120_000)
    page.locator(".facekit-best-f1").click()
    playwright.expect(tuned).to_contain_text(f"confidence ≥ {best_value:.2f}", timeout=60_000)
    playwright.expect(tuned).to_contain_text(f"F1 {best['best_f1']:.2f}")
    page.screenshot(path=str(artifacts / "threshold_explorer_best_f1.png"), full_page=True)


@pytest.mark.slow
def test_video_widgets_and_inline_display_in_jupyterlab(jupyterlab, page, artifacts, tmp_path, pan_clip):
    """A Result shows its summary, overlay and a playable clip; the FrameExplorer adds frames in the
    background and keeps its frame; the ThresholdExplorer's frame picker moves over analysed frames;
    and no stray figure appears under the widgets."""
    from facekit.widgets import nested_frames

    sampled = fk.detect(pan_clip.path, num_frames=6, progress=False)
    write_notebook(
        tmp_path,
        "video.ipynb",
        f"import facekit as fk\nresult = fk.detect({str(pan_clip.path)!r}, num_frames=6, progress=False)\nresult",
        f"frames = fk.widgets.FrameExplorer({str(pan_clip.path)!r}, num_frames=3, width=600)\nframes",
        "threshold = fk.widgets.ThresholdExplorer(result, width=700)\nthreshold",
    )
    run_notebook(page, jupyterlab, "video.ipynb")
    display = page.locator(".facekit-display")
    display.wait_for(timeout=120_000)
    playwright.expect(display).to_contain_text(f"{len(sampled)}")
    playwright.expect(display.locator("img.facekit-thumbnail")).to_have_count(1)
    page.wait_for_function(  # Chromium decodes the embedded H.264 clip
        "document.querySelector('video.facekit-player')?.readyState >= 1", timeout=60_000
    )
    assert page.evaluate("document.querySelector('video.facekit-player').duration") > 1.0

    counts = page.locator(".facekit-count")
    playwright.expect(counts.nth(0)).to_contain_text("in 3 frames", timeout=120_000)
    slider = page.locator(".facekit-frame-slider")
    last = nested_frames(30, 3)[-1]
    for _ in range(20):  # the slider's view is rebuilt when its options arrive: press until it answers
        handle = page.locator(".facekit-frame-slider .noUi-handle")
        handle.focus()
        handle.press("ArrowRight")  # frame 0 -> on to the last of the 3 analysed frames (it stops there)
        if str(last) in slider.inner_text():
            break
        page.wait_for_timeout(500)
    playwright.expect(slider).to_contain_text(str(last))  # source frame numbers, not positions
    handle = page.locator(".facekit-num-frames .noUi-handle")
    handle.focus()
    handle.press("ArrowRight")
    handle.press("ArrowRight")
    playwright.expect(counts.nth(0)).to_contain_text("in 5 frames", timeout=120_000)
    playwright.expect(page.locator(".facekit-status")).to_have_text("", timeout=120_000)
    playwright.expect(slider).to_contain_text(str(last))  # still on the same frame

    playwright.expect(counts.nth(1)).to_contain_text(f"in frame {sampled.frames[0]}", timeout=120_000)
    picker = page.locator(".facekit-frame-picker .noUi-handle")
    picker.focus()
    picker.press("ArrowRight")
    here = int((sampled.to_frame()["frame"] == sampled.frames[1]).sum())
    playwright.expect(counts.nth(1)).to_contain_text(f"({here} in frame {sampled.frames[1]}", timeout=60_000)
    page.screenshot(path=str(artifacts / "video_widgets.png"), full_page=True)
    stray = page.locator(".jp-OutputArea-output .jp-RenderedImage")  # a figure drawn outside any widget
    assert stray.count() == 0
