"""Run chunks on a Dask cluster: one future per chunk, the detector loaded once per Dask worker.

Imported only when ``detect_many(scheduler=...)`` is used, so Dask stays optional. The results
come back to the caller as they complete and are stored there, exactly as in a local run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributed import Client, WorkerPlugin, as_completed

from ..options import DetectOptions
from .work import Chunk, Task, run_chunk, warm

__all__ = ["DetectorPlugin", "connect", "run", "slots"]


class DetectorPlugin(WorkerPlugin):
    """Loads the detector when a worker joins, into the per-process cache that ``detect`` uses."""

    idempotent = False  # a batch with other options (model, threads, ...) replaces an earlier one's
    name = "facekit-detector"

    def __init__(self, options: DetectOptions) -> None:
        self.options = options

    def setup(self, worker: Any) -> None:
        warm(self.options)


@contextmanager
def connect(scheduler: Any) -> Iterator[Client]:
    """The given Client, or one connected to a scheduler address for the length of the batch."""
    if isinstance(scheduler, Client):
        yield scheduler
        return
    with Client(scheduler) as client:
        yield client


def slots(client: Client) -> int:
    """Tasks the cluster runs at once: its workers' threads, together."""
    return max(1, sum(client.nthreads().values()))


def run(client: Client, chunks: list[list[str]], task: Task) -> Iterator[Chunk]:
    """Each chunk's result as it completes on the cluster."""
    client.register_plugin(DetectorPlugin(task.options))
    [shared] = client.scatter([task], broadcast=True, hash=False)
    futures = client.map(run_chunk, [shared] * len(chunks), chunks, key="facekit-batch", pure=False)
    try:
        for _, chunk in as_completed(futures, with_results=True):
            yield chunk
    finally:
        client.cancel(futures)
