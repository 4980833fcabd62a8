"""Fast-inference bench: every-frame throughput of each model variant against the sequential floor, in one run.

    python bench/bench_fast.py            # 20 s pan videos at 1280x720 and 1920x1080, 30 fps (~6 min on 2 cores)
    python bench/bench_fast.py --quick    # 4 s videos (~2 min)
    python bench/bench_fast.py --gate     # also the fidelity gate of tests/test_fidelity.py, per input

For FP32 letterboxed (the default), FP32 native aspect, int8 letterboxed and int8 native, on
each video:
- the sequential floor: PyAV decoding every frame (measured here, alone) plus ``session.run``
  of the same model on a ready blob for every frame, back to back
- every-frame fps of ``fk.detect(video, every_frame=True)``: decoding, preprocessing, the
  model, decoding its outputs, NMS and tracking
- ratio to the floor (goal >= 1.0: decoding and preprocessing overlapped with inference)
Bare inference is measured before and after each run and the faster counts (a shared machine).
The same ratio in CPU seconds per frame (process time, all threads) is printed beside it: it
does not show the overlap, but it is steady on a loaded machine, where wall-clock ratios are not
(``cpu ratio`` = the floor's CPU per frame / detect's: 1.0 means no work beyond decoding and the model).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import av
from timing import bare_run

import facekit as fk
from facekit import variants
from facekit.engine import Detector

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = (("fp32", "square"), ("fp32", "native"), ("int8", "square"), ("int8", "native"))
SIZES = ((1280, 720), (1920, 1080))


def decode_seconds(path: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds PyAV takes to decode every frame of ``path`` (with the threading facekit
    uses), and the frame count."""
    start, cpu, count = time.perf_counter(), time.process_time(), 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            count += 1
    return time.perf_counter() - start, time.process_time() - cpu, count


def first_frame(path: Path):
    with av.open(str(path)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24")


def gate(workdir: Path) -> dict:
    """The fidelity gate of tests/test_fidelity.py per input: int8 (letterboxed) and FP32 native against FP32."""
    from facekit.evaluation.fidelity import GATE, TINY, compare, gate_inputs

    source = fk.models.resolve()
    floor = GATE["confidence"] - GATE["window"]
    reference = Detector.load(source.path)
    out = {}
    for name, frames in gate_inputs(workdir, ROOT.parent / "shared" / "data").items():
        expected = {id(frame): reference.detect(frame, floor) for frame in frames}
        for precision, aspect in (("int8", "square"), ("fp32", "native")):
            candidate = Detector.load(variants.choose(source, precision, aspect).path, None, None, aspect)
            agreement = compare(lambda f, e=expected: e[id(f)], lambda f, d=candidate: d.detect(f, floor), frames)
            out[f"{name} {precision} {aspect}"] = {**agreement.summary(), "passes": agreement.passes(tiny=name == TINY)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 s videos instead of 20 s")
    parser.add_argument("--gate", action="store_true", help="also print the fidelity gate per input")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args()
    seconds = 4.0 if args.quick else 20.0
    source = fk.models.resolve(fk.models.fetch())
    print(f"load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} usable cores")
    rows = []
    with tempfile.TemporaryDirectory(prefix="facekit-bench-") as tmp:
        tmp = Path(tmp)
        for size in SIZES:
            pan = fk.data.pan_video(tmp / f"{size[1]}p.mp4", seconds=seconds, fps=30.0, size=size, sweep_seconds=10.0)
            first = first_frame(pan.path)
            for precision, aspect in CONFIGS:
                detector = Detector.load(variants.choose(source, precision, aspect).path, None, None, aspect)
                fk.detect(first, precision=precision, aspect=aspect)  # derive (cached afterwards) and warm
                runs = 30 if args.quick else 100
                before, run_cpu = bare_run(detector, first, runs)
                decoding, decoding_cpu, count = decode_seconds(pan.path)
                tick, cpu = time.perf_counter(), time.process_time()
                result = fk.detect(pan.path, every_frame=True, progress=False, precision=precision, aspect=aspect)
                took, used = time.perf_counter() - tick, time.process_time() - cpu
                again, again_cpu, _ = decode_seconds(pan.path)
                decoding, decoding_cpu = min(decoding, again), min(decoding_cpu, again_cpu)
                after, after_cpu = bare_run(detector, first, runs)
                bare, run_cpu = max(before, after), min(run_cpu, after_cpu)
                floor_fps = count / (decoding + count / bare)
                fps = len(result.frames) / took
                rows.append(
                    {
                        "video": f"{size[0]}x{size[1]}",
                        "variant": f"{precision} {aspect}",
                        "frames": count,
                        "decode_fps": count / decoding,
                        "bare_fps": bare,
                        "floor_fps": floor_fps,
                        "fps": fps,
                        "ratio": fps / floor_fps,
                        "cpu_ratio": (decoding_cpu / count + run_cpu) / (used / len(result.frames)),
                    }
                )
                row = rows[-1]
                print(
                    f"{row['video']:>9} {row['variant']:<12} decode {row['decode_fps']:6.0f} fps  bare run "
                    f"{bare:5.1f} fps  floor {floor_fps:5.1f} fps  detect {fps:5.1f} fps  ratio {row['ratio']:.3f}  "
                    f"(goal >= 1.0)  cpu ratio {row['cpu_ratio']:.3f}",
                    flush=True,
                )
        output: dict = {"load_average_end": os.getloadavg()[0], "throughput": rows}
        if args.gate:
            output["fidelity"] = gate(tmp)
            print("\nfidelity against the FP32 letterbox (confidence 0.5; found/extra at IoU >= 0.8)")
            for name, n in output["fidelity"].items():
                print(
                    f"{name:<64} faces {n['faces']:4d} found {n['found']:.3f} extra {n['extra_faces']:3d} "
                    f"med|ds| {n['median_score_diff']:.4f} distinct {n['distinct_near_threshold']:.2f}  {n['passes']}"
                )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(output, indent=1, default=float))


if __name__ == "__main__":
    main()
