"""Threading bench: which onnxruntime threads/spinning settings to default to, on a quiet and on a busy machine.

    python bench/bench_threads.py            # 10 s 720p video and 20 picture runs per setting (~4 min on 2 cores)
    python bench/bench_threads.py --quick    # 4 s video, 8 picture runs (~1.5 min)

For each setting (threads = all cores or 1; spinning on or off), FP32 letterboxed:
- every-frame fps of ``fk.detect(video, every_frame=True)`` and median ms of ``fk.detect(picture)``
- CPU seconds used per frame (process time / frames: what the setting costs a shared machine)
each measured twice: as the machine is, and with a second process spinning on one core
("busy"), the way a notebook or a server shares a machine. The settings are run interleaved,
so both conditions see the same background load; the load average is printed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import facekit as fk
from facekit.engine import Detector

FP32 = {"precision": "fp32", "aspect": "square", "progress": False}


def spin(stop: Event) -> None:
    """Keep one core busy until told to stop."""
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    while not stop.is_set():
        sum(range(10_000))


def measure(video: Path, picture: Path, threads: int, spinning: bool, runs: int) -> dict[str, float]:
    """Every-frame fps, CPU seconds per frame, and median picture latency for one setting."""
    options = {**FP32, "threads": threads, "spinning": spinning}
    fk.detect(picture, **options)  # warm this session
    cpu, tick = time.process_time(), time.perf_counter()
    result = fk.detect(video, every_frame=True, **options)
    wall, used = time.perf_counter() - tick, time.process_time() - cpu
    latencies = []
    for _ in range(runs):
        tick = time.perf_counter()
        fk.detect(picture, **options)
        latencies.append(time.perf_counter() - tick)
    frames = len(result.frames)
    return {
        "fps": frames / wall,
        "cpu_ms_per_frame": used / frames * 1e3,
        "picture_ms": statistics.median(latencies) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    settings = [(cores, True), (cores, False), (1, False), (1, True)]
    runs = 8 if args.quick else 20
    print(f"load average {os.getloadavg()[0]:.2f} on {len(os.sched_getaffinity(0))} usable cores")
    with tempfile.TemporaryDirectory(prefix="facekit-bench-") as tmp:
        video = fk.data.pan_video(
            Path(tmp) / "hd.mp4", seconds=4.0 if args.quick else 10.0, fps=30.0, size=(1280, 720)
        ).path
        picture = fk.data.path("solvay")
        Detector.load(fk.models.fetch())
        table: dict[tuple[str, int, bool], dict[str, float]] = {}
        for condition in ("as is", "busy"):
            stop = multiprocessing.Event()
            spinner = multiprocessing.Process(target=spin, args=(stop,), daemon=True) if condition == "busy" else None
            if spinner is not None:
                spinner.start()
            try:
                for threads, spinning in settings:
                    table[(condition, threads, spinning)] = measure(video, picture, threads, spinning, runs)
            finally:
                stop.set()
                if spinner is not None:
                    spinner.join()
        print(f"{'machine':<7} {'threads':>7} {'spinning':>8} {'video fps':>9} {'CPU ms/frame':>12} {'picture ms':>10}")
        for (condition, threads, spinning), row in table.items():
            print(
                f"{condition:<7} {threads:7d} {spinning!s:>8} {row['fps']:9.1f} {row['cpu_ms_per_frame']:12.1f} {row['picture_ms']:10.1f}"
            )
        for condition in ("as is", "busy"):
            best = max(settings, key=lambda s: table[(condition, *s)]["fps"])
            print(f"fastest video setting, {condition}: threads={best[0]} spinning={best[1]}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
