"""Run chunks on this machine: in this process, or in worker processes that each hold one session.

Workers are started with ``spawn`` (onnxruntime is not fork-safe once a session exists); each
loads the detector once, in its initializer, with ``threads`` onnxruntime threads, and gets the
task once too, so a chunk travels as a list of names only.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed

from .work import Chunk, Task, run_chunk, warm

__all__ = ["run"]

_task: Task | None = None  # the batch's task, in a worker process


def run(chunks: list[list[str]], task: Task, workers: int) -> Iterator[Chunk]:
    """Each chunk's result as it completes; ``workers`` <= 1 runs them here, in order."""
    if workers <= 1:
        for chunk in chunks:
            yield run_chunk(task, chunk)
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(task,),
    )
    finished = False
    try:
        for future in as_completed([pool.submit(_run_in_worker, chunk) for chunk in chunks]):
            yield future.result()
        finished = True
    finally:
        # On Ctrl-C or an error, drop the chunks not started rather than wait for them.
        pool.shutdown(wait=finished, cancel_futures=not finished)


def _start_worker(task: Task) -> None:
    """Keep the task and load the detector, once per worker process."""
    global _task
    _task = task
    warm(task.options)


def _run_in_worker(chunk: list[str]) -> Chunk:
    """A chunk, with the task the initializer kept."""
    assert _task is not None, "the pool's initializer sets the task"
    return run_chunk(_task, chunk)
