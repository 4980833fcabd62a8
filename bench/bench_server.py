"""Load bench of ``facekit serve`` on loopback, with its default limits, as a team would share it.

Starts ``facekit serve`` as a subprocess with API keys and the default rate limits, then:

1. ``--users`` threads run the unmodified ``magic-hour`` SDK's ``generate`` (upload, create, poll every
   0.5 s, download the crops) in a loop on one shared key for ``--seconds``: errors and latency;
2. ``--pictures`` clients post a picture to Akool's ``detect_faces`` (one key each), alone, then with a
   slow video (a single-keyframe clip: thousands of frames decoded for 5 samples) in flight: picture
   p50/p99 in both, and their ratio; and how fast a video over the server's decode budget is refused;
3. in-process ``facekit.detect`` on the same picture, the reference for the server's p50;

and reports the server's peak RSS (``VmHWM``); then, on a fresh server limited to ``--max-mb``, sends ``--bodies``
max-size Akool bodies at once and reports how much the RSS grew, against the bytes in flight.

    python bench/bench_server.py [--users 16] [--seconds 60] [--quick] [--workers 2] [--bodies 16] [--max-mb 50]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

import facekit as fk

AKOOL = "/interface/detect-api/detect_faces"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    data_dir: str, workers: int, keys: list[str], max_bytes: int | None = None
) -> tuple[str, subprocess.Popen]:
    """``facekit serve`` on a free loopback port with these keys, the default rate limits and ``max_bytes``."""
    port = _free_port()
    env = {**os.environ, "FACEKIT_API_KEYS": ",".join(keys)}
    if max_bytes is not None:
        env["FACEKIT_MAX_BYTES"] = str(max_bytes)
    for name in ("FACEKIT_RATE_PER_SECOND", "FACEKIT_RATE_BURST", "FACEKIT_READ_RATE_PER_SECOND", "FACEKIT_READ_BURST"):
        env.pop(name, None)
    command = [sys.executable, "-c", "import sys; from facekit.cli import main; sys.exit(main())", "serve",
               "--port", str(port), "--data-dir", data_dir, "--workers", str(workers)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=1).ok:
                return base, process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("facekit serve did not start")


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (Linux ``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


Outcome = tuple[list[float], list[str]]  # latencies (s) of the successes, and the errors


def run_clients(clients: list[Callable[[], bool]], seconds: float) -> list[Outcome]:
    """Each client called in its own loop for ``seconds``; one outcome per client."""
    outcomes: list[Outcome] = [([], []) for _ in clients]
    stop_at = time.monotonic() + seconds

    def loop(call: Callable[[], bool], outcome: Outcome) -> None:
        while time.monotonic() < stop_at:
            tick = time.perf_counter()
            try:
                ok, problem = call(), "not successful"
            except Exception as exc:  # the bench counts every failure, whatever raised it
                ok, problem = False, f"{type(exc).__name__}: {str(exc)[:120]}"
            if ok:
                outcome[0].append(time.perf_counter() - tick)
            else:
                outcome[1].append(problem)

    threads = [threading.Thread(target=loop, args=pair) for pair in zip(clients, outcomes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def merged(outcomes: list[Outcome]) -> Outcome:
    return [t for o in outcomes for t in o[0]], [e for o in outcomes for e in o[1]]


def sdk_user(base: str, key: str, picture: Path, downloads: str) -> Callable[[], bool]:
    """One unmodified magic-hour SDK client: ``generate`` uploads, creates, polls and downloads."""
    import magic_hour

    client = magic_hour.Client(token=key, base_url=base)

    def call() -> bool:
        result = client.v1.face_detection.generate(
            assets={"target_file_path": str(picture)}, confidence_score=0.5, download_directory=downloads
        )
        return result.status == "complete" and len(result.downloaded_paths) == len(result.faces) > 0

    return call


def akool_client(base: str, key: str, body: dict) -> Callable[[], bool]:
    """One Akool caller posting ``body`` on its own key."""
    session = requests.Session()
    session.headers["x-api-key"] = key

    def call() -> bool:
        return session.post(base + AKOOL, json=body, timeout=300).json().get("error_code") == 0

    return call


def memory_phase(scratch: Path, workers: int, bodies: int, max_bytes: int) -> tuple[int, float, float, list[str]]:
    """``bodies`` concurrent Akool requests, each the largest picture the server accepts (``max_bytes``: the Solvay
    JPEG padded with zeros, which its decoder ignores): body size, the server's RSS before and at its peak (MB), errors.
    """
    picture = fk.data.path("solvay").read_bytes()
    body = {"img": base64.b64encode(picture + bytes(max_bytes - len(picture) - 16)).decode()}
    keys = [f"memory-key-{i}" for i in range(bodies)]
    base, process = start_server(str(scratch / "memory"), workers, keys, max_bytes)
    try:
        akool_client(base, keys[0], {"img": base64.b64encode(picture).decode()})()  # warm up
        before = peak_rss_mb(process.pid)
        answers: list[bool] = []
        threads = [
            threading.Thread(target=lambda key=key: answers.append(akool_client(base, key, body)())) for key in keys
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        errors = [f"{answers.count(False)} requests failed"] if False in answers else []
        return len(json.dumps(body)), before, peak_rss_mb(process.pid), errors
    finally:
        process.terminate()
        process.wait(timeout=30)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def summary(name: str, latencies: list[float], errors: list[str], seconds: float) -> str:
    distinct = sorted(set(errors))[:3]
    return (f"{name}: {len(latencies) / seconds:.1f} ok/s, p50 {percentile(latencies, 0.5) * 1e3:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1e3:.0f} ms, {len(latencies)} ok, {len(errors)} errors"
            + (f" {distinct}" if distinct else ""))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=16, help="concurrent magic-hour SDK users on one key")
    parser.add_argument("--pictures", type=int, default=4, help="concurrent Akool picture clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the SDK phase")
    parser.add_argument("--quick", action="store_true", help="15 s SDK phase, 10 s picture phases")
    parser.add_argument("--picture", default="newton", choices=["newton", "gauss", "solvay"])
    parser.add_argument("--workers", type=int, default=2, help="server detection slots (the server's default: 2)")
    parser.add_argument("--bodies", type=int, default=16, help="concurrent max-size bodies in the memory phase")
    parser.add_argument("--max-mb", type=int, default=50, help="the memory phase's FACEKIT_MAX_BYTES, in MiB")
    args = parser.parse_args()
    sdk_seconds = 15.0 if args.quick else args.seconds
    picture_seconds = 10.0 if args.quick else max(10.0, args.seconds / 3)
    picture = fk.data.path(args.picture)
    body = {"img": base64.b64encode(picture.read_bytes()).decode()}

    with tempfile.TemporaryDirectory() as scratch:
        slow = Path(scratch) / "slow.mp4"
        fk.data.pan_video(slow, seconds=300, fps=10, size=(320, 180), keyframe_interval=100_000)
        slow_body = {"img": base64.b64encode(slow.read_bytes()).decode(), "num_frames": 5}
        over = Path(scratch) / "over.mp4"  # like the single-keyframe clip: 6000 frames for 5 samples
        fk.data.pan_video(over, seconds=600, fps=10, size=(64, 36), keyframe_interval=100_000)
        over_body: dict[str, str | int] = {"img": base64.b64encode(over.read_bytes()).decode(), "num_frames": 5}
        keys = ["team-key", "video-key", *(f"picture-key-{i}" for i in range(args.pictures))]
        base, process = start_server(str(Path(scratch) / "data"), args.workers, keys)
        try:
            downloads = Path(scratch) / "downloads"
            downloads.mkdir()
            users = [sdk_user(base, "team-key", picture, str(downloads)) for _ in range(args.users)]
            sdk = merged(run_clients(users, sdk_seconds))
            pictures = [akool_client(base, f"picture-key-{i}", body) for i in range(args.pictures)]
            alone = merged(run_clients(pictures, picture_seconds))
            *with_video, video = run_clients([*pictures, akool_client(base, "video-key", slow_body)], picture_seconds)
            mixed = merged(with_video)
            tick = time.perf_counter()
            refused = requests.post(base + AKOOL, json=over_body, headers={"x-api-key": "video-key"}, timeout=300)
            refused_ms = (time.perf_counter() - tick) * 1e3
            rss = peak_rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
        body_size, rss_before, rss_peak, memory_errors = memory_phase(
            Path(scratch), args.workers, args.bodies, args.max_mb * 1024 * 1024
        )

    fk.detect(picture)  # warm up
    local = [_timed(lambda: fk.detect(picture)) for _ in range(10)]

    print(f"picture: {args.picture}, server workers: {args.workers}, cpus: {os.cpu_count()}, default rate limits")
    print(summary(f"magic-hour SDK generate, {args.users} users on one key, {sdk_seconds:.0f} s", *sdk, sdk_seconds))
    print(summary(f"Akool picture, {args.pictures} clients, alone", *alone, picture_seconds))
    print(summary(f"Akool picture, {args.pictures} clients, slow video in flight", *mixed, picture_seconds))
    print(summary("  the slow video (3000 frames decoded for 5 samples)", *video, picture_seconds))
    print(f"  a video over the decode budget (6000 frames for 5 samples): {refused.status_code} in {refused_ms:.0f} ms")
    local_p50 = statistics.median(local)
    print(
        f"in-process fk.detect p50 {local_p50 * 1e3:.0f} ms; ratio picture p50 (server, alone) / in-process = "
        f"{percentile(alone[0], 0.5) / local_p50:.2f}; ratio picture p99 with video / alone = "
        f"{percentile(mixed[0], 0.99) / percentile(alone[0], 0.99):.2f}"
    )
    print(f"server peak RSS over the load phases: {rss:.0f} MB")
    in_flight = args.bodies * body_size / 2**20
    print(
        f"memory: {args.bodies} concurrent Akool bodies of {body_size / 2**20:.0f} MiB ({in_flight:.0f} MiB in flight), "
        f"{args.workers} detection slots, one parse at a time: RSS {rss_before:.0f} -> peak {rss_peak:.0f} MiB, "
        f"growth / bodies in flight = {(rss_peak - rss_before) / in_flight:.2f}, "
        f"growth / one body = {(rss_peak - rss_before) * 2**20 / body_size:.2f}"
        + (f", {memory_errors}" if memory_errors else ", 0 errors")
    )


def _timed(call: Callable[[], object]) -> float:
    tick = time.perf_counter()
    call()
    return time.perf_counter() - tick


if __name__ == "__main__":
    main()
