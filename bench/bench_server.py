"""Load bench of ``facekit serve`` on loopback: Akool ``detect_faces`` with a real picture.

Starts ``facekit serve`` as a subprocess, runs N concurrent clients for T seconds, reports
requests/s, p50/p99 latency and errors, then measures one client alone against in-process
``facekit.detect`` on the same picture and prints the ratio p50(server, concurrency 1) / p50(in-process).

    python bench/bench_server.py [--clients 16] [--seconds 60] [--quick] [--picture solvay|newton|gauss]
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

import facekit as fk

ROUTE = "/interface/detect-api/detect_faces"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: str, workers: int) -> tuple[str, subprocess.Popen]:
    """``facekit serve`` on a free loopback port, with the rate limit out of the way."""
    port = _free_port()
    env = {**os.environ, "FACEKIT_RATE_PER_SECOND": "1000000", "FACEKIT_RATE_BURST": "1000000"}
    command = [sys.executable, "-c", "import sys; from facekit.cli import main; sys.exit(main())", "serve",
               "--port", str(port), "--data-dir", data_dir, "--workers", str(workers)]
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


def load(base: str, body: dict, clients: int, seconds: float) -> tuple[list[float], int, float]:
    """Latencies (s) of successful requests, the error count and the wall time of ``clients`` loops."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        nonlocal errors
        with requests.Session() as session:
            while time.monotonic() < stop_at:
                tick = time.perf_counter()
                try:
                    ok = session.post(base + ROUTE, json=body, timeout=120).json().get("error_code") == 0
                except (requests.RequestException, ValueError):
                    ok = False
                elapsed = time.perf_counter() - tick
                with lock:
                    if ok:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="10 s instead of --seconds")
    parser.add_argument("--picture", default="newton", choices=["newton", "gauss", "solvay"])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="server detection slots")
    args = parser.parse_args()
    seconds = 10.0 if args.quick else args.seconds
    picture = fk.data.path(args.picture)
    data = picture.read_bytes()
    body = {"img": base64.b64encode(data).decode()}

    with tempfile.TemporaryDirectory() as data_dir:
        base, process = start_server(data_dir, args.workers)
        try:
            load(base, body, 1, 1.0)  # warm up
            latencies, errors, wall = load(base, body, args.clients, seconds)
            single, single_errors, _ = load(base, body, 1, max(3.0, seconds / 4))
        finally:
            process.terminate()
            process.wait(timeout=20)

    fk.detect(data)  # warm up
    local: list[float] = []
    stop_at = time.monotonic() + max(3.0, seconds / 4)
    while time.monotonic() < stop_at:
        tick = time.perf_counter()
        fk.detect(data)
        local.append(time.perf_counter() - tick)

    ms = 1e3
    print(f"picture: {args.picture} ({len(data)} bytes), server workers: {args.workers}, cpus: {os.cpu_count()}")
    print(f"load: {args.clients} clients x {seconds:.0f} s: {len(latencies) / wall:.1f} req/s, "
          f"p50 {percentile(latencies, 0.5) * ms:.1f} ms, p99 {percentile(latencies, 0.99) * ms:.1f} ms, "
          f"{len(latencies)} ok, {errors} errors")
    server_p50 = statistics.median(single) if single else float("nan")
    local_p50 = statistics.median(local)
    print(f"concurrency 1: server p50 {server_p50 * ms:.1f} ms ({len(single)} ok, {single_errors} errors); "
          f"in-process fk.detect p50 {local_p50 * ms:.1f} ms ({len(local)} runs)")
    print(f"ratio p50(server, concurrency 1) / p50(in-process) = {server_p50 / local_p50:.2f}")


if __name__ == "__main__":
    main()
