"""Fast-inference bench: every-frame throughput of each model variant against InsightFace in the same run.

    python bench/bench_fast.py            # 60 s 1280x720 30 fps pan video, then the fidelity gate (~6 min on 2 cores)
    python bench/bench_fast.py --quick    # 10 s video (~2 min with the gate, add --no-gate for ~1 min)

For FP32 letterboxed (640x640), FP32 native aspect (640x384), int8 native aspect and int8
letterboxed (the default):
- bare inference fps: ``session.run`` alone on a ready blob of the video's first frame
- every-frame fps: ``fk.detect(video, every_frame=True)``, decoding and tracking included
- ratio to bare (goal >= 0.9) and to InsightFace's ``SCRFD.detect`` loop over the same decoded
  frames on the same model file (its own session, default threads)
- facekit's own time per frame around ``session.run``: ``prepare`` and ``decode`` at the 0.05 floor
  (goal <= 1.5 ms in all)
Goals: >= 40 fps FP32 native and >= 60 fps int8 native on 2 cores. Then the fidelity gate of
tests/test_fidelity.py per input (same helpers, so the same numbers CI checks).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import av
import numpy as np

import facekit as fk
from facekit import variants
from facekit.engine import Detector
from facekit.pipeline import DEFAULT_FLOOR
from timing import bare_fps

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("fp32", "square", None), ("fp32", "native", 40.0), ("int8", "native", 60.0), ("int8", "square", None))


def frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    """The video's first ``limit`` frames as RGB arrays."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="rgb24"))
            if limit is not None and len(out) >= limit:
                break
    return out


def overhead_ms(detector: Detector, pictures: list[np.ndarray]) -> tuple[float, float, float]:
    """Median ms per frame of facekit's ``prepare``, of its ``decode`` (at the floor, NMS included),
    and of the two together: the detector's time around ``session.run``."""
    prepare, decode = [], []
    for picture in pictures:
        tick = time.perf_counter()
        blob, scale = detector.prepare(picture)
        prepare.append(time.perf_counter() - tick)
        outputs = detector.session.run(detector.output_names, {detector.input_name: blob})
        tick = time.perf_counter()
        detector.decode(outputs, DEFAULT_FLOOR, scale, (blob.shape[3], blob.shape[2]))
        decode.append(time.perf_counter() - tick)
    around = [p + d for p, d in zip(prepare, decode)]
    return tuple(statistics.median(values) * 1e3 for values in (prepare, decode, around))  # type: ignore[return-value]


def insightface_fps(model: Path, path: Path) -> float:
    """InsightFace's SCRFD.detect on every frame, decoding included, as its apps run it."""
    from insightface.model_zoo import SCRFD

    reference = SCRFD(model_file=str(model))
    reference.prepare(-1, input_size=(640, 640), det_thresh=0.5)
    count, start = 0, time.perf_counter()
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            reference.detect(frame.to_ndarray(format="bgr24"), input_size=(640, 640))
            count += 1
    return count / (time.perf_counter() - start)


def fidelity_gate(model: Path, workdir: Path) -> dict:
    """The gate of tests/test_fidelity.py, per input."""
    spec = importlib.util.spec_from_file_location("test_fidelity", ROOT / "tests" / "test_fidelity.py")
    gate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gate)  # type: ignore[union-attr]
    from skimage.data import astronaut

    inputs = gate.gate_inputs(ROOT.parent / "shared" / "data", workdir, astronaut())
    return gate.gate_table(inputs, model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 10 s video instead of 60 s")
    parser.add_argument("--no-gate", action="store_true", help="skip the fidelity gate")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else 60.0
    model = fk.models.fetch()
    source = fk.models.resolve(model)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores (timings are only meaningful on a quiet machine)")
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="facekit-bench-") as tmp:
        tmp = Path(tmp)
        pan = fk.data.pan_video(tmp / "hd.mp4", seconds=seconds, fps=30.0, size=(1280, 720), sweep_seconds=10.0)
        sample = frames(pan.path, 90)
        started = time.perf_counter()
        for precision, aspect, _ in CONFIGS:  # derive (cached afterwards) and warm every session
            fk.detect(sample[0], precision=precision, aspect=aspect)
        print(f"variants ready in {time.perf_counter() - started:.1f} s; {pan.path.name}: {seconds:g} s 1280x720 30 fps")
        reference = insightface_fps(model, pan.path)
        for precision, aspect, goal in CONFIGS:
            detector = Detector.load(variants.choose(source, precision, aspect).path, None, None, aspect)
            runs = 60 if args.quick else 150
            before = bare_fps(detector, sample[0], runs)
            tick = time.perf_counter()
            result = fk.detect(pan.path, every_frame=True, progress=False, precision=precision, aspect=aspect)
            fps = len(result.frames) / (time.perf_counter() - tick)
            bare = max(before, bare_fps(detector, sample[0], runs))  # a shared machine: the faster counts
            prepare, decode, around = overhead_ms(detector, sample)
            rows[f"{precision} {aspect}"] = {
                "input": "x".join(map(str, result.meta["input_size"])),
                "bare_fps": bare,
                "fps": fps,
                "ratio_bare": fps / bare,
                "ratio_insightface": fps / reference,
                "prepare_ms": prepare,
                "decode_ms": decode,
                "around_run_ms": around,
                "goal_fps": goal,
            }
        print(f"\nInsightFace SCRFD.detect every frame: {reference:.1f} fps\n")
        print(f"{'variant':<14} {'input':>8} {'bare fps':>9} {'fps':>7} {'/bare':>6} {'/insightface':>12} "
              f"{'prepare ms':>10} {'decode ms':>9} {'around run':>10}  goal (around run <= 1.5 ms)")
        for name, row in rows.items():
            goal = f">= {row['goal_fps']:g} fps, /bare >= 0.9" if row["goal_fps"] else "/bare >= 0.9"
            print(f"{name:<14} {row['input']:>8} {row['bare_fps']:9.1f} {row['fps']:7.1f} {row['ratio_bare']:6.3f} "
                  f"{row['ratio_insightface']:12.2f} {row['prepare_ms']:10.3f} {row['decode_ms']:9.3f} {row['around_run_ms']:10.3f}  {goal}")
        output = {"load_average": load, "insightface_fps": reference, "variants": rows}
        if not args.no_gate:
            table = fidelity_gate(model, tmp)
            output["fidelity"] = table
            print("\nfidelity against InsightFace's letterboxed SCRFD (confidence 0.5; found/extra at IoU >= 0.8)")
            print(f"{'input':<48} {'variant':<12} {'faces':>5} {'found':>6} {'extra':>6} {'med IoU':>7} "
                  f"{'med |ds|':>8} {'max dev px':>10}  pass")
            for name, per_variant in table.items():
                for label, n in per_variant.items():
                    print(f"{name:<48} {label:<12} {n['faces']:5d} {n['found']:6.3f} {n['extra']:6.3f} "
                          f"{n['median_iou']:7.3f} {n['median_score_diff']:8.4f} {n['max_deviation_px']:10.3f}  {n['passes']}")
    if args.json:
        args.json.write_text(json.dumps(output, indent=1, default=float))


if __name__ == "__main__":
    main()
