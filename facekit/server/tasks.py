"""Asynchronous detection tasks (Magic Hour, CRUN): a SQLite store and a bounded pool of worker threads.

State lives in ``<data-dir>/tasks.sqlite3`` so tasks survive a restart: at startup a task that was
queued or running is queued again, or marked failed once it has already been interrupted
``MAX_ATTEMPTS`` times (so a task that kills the server cannot do it forever). A graceful shutdown
waits ``drain`` seconds for running tasks, then hands the rest back to the queue without counting
the attempt, so only crashes spend the retry budget. Each task belongs to the caller (``owner``)
and contract that created it; lookups by another owner or contract find nothing. Finished tasks
expire ``ttl`` seconds after they finish; expired rows and their crops are deleted.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FacekitError
from .storage import Storage

__all__ = ["MAX_ATTEMPTS", "Task", "TaskRunner", "TaskStore", "Work", "log"]

log = logging.getLogger("facekit.server")

MAX_ATTEMPTS = 2
QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY, contract TEXT NOT NULL, status TEXT NOT NULL,
    source TEXT NOT NULL, options TEXT NOT NULL, result TEXT, error TEXT,
    created_at REAL NOT NULL, started_at REAL, finished_at REAL, expires_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS tasks_status ON tasks(status);
"""


@dataclass(frozen=True)
class Task:
    """One task row: its input (``source``: ``{"url"}`` or ``{"asset"}``), options and outcome."""

    id: str
    contract: str
    status: str
    source: dict[str, str]
    options: dict[str, Any]
    result: dict[str, Any] | None
    error: str | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    expires_at: float | None
    attempts: int
    owner: str = ""


class TaskStore:
    """Task rows in SQLite, shared by the request threads and the workers behind one lock."""

    def __init__(self, path: Path, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if "owner" not in {row["name"] for row in self._db.execute("PRAGMA table_info(tasks)")}:
            self._db.execute("ALTER TABLE tasks ADD COLUMN owner TEXT NOT NULL DEFAULT ''")  # stores from 0.x

    def _run(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def create(self, contract: str, source: dict[str, str], options: dict[str, Any], owner: str = "") -> Task:
        task_id = uuid.uuid4().hex
        rows = self._run(
            "INSERT INTO tasks (id, contract, status, source, options, created_at, owner) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *",
            task_id,
            contract,
            QUEUED,
            json.dumps(source),
            json.dumps(options),
            time.time(),
            owner,
        )
        return _task(rows[0])

    def get(self, task_id: str, contract: str | None = None, owner: str | None = None) -> Task | None:
        """The task, or None when unknown, expired, or (when given) of another contract or owner."""
        rows = self._run(
            "SELECT * FROM tasks WHERE id = ? AND (expires_at IS NULL OR expires_at > ?)", task_id, time.time()
        )
        task = _task(rows[0]) if rows else None
        if task is None or (contract is not None and task.contract != contract):
            return None
        return task if owner is None or hmac.compare_digest(task.owner.encode(), owner.encode()) else None

    def start(self, task_id: str) -> Task | None:
        """Mark a queued task running (counting the attempt); None if it is not queued any more."""
        rows = self._run(
            "UPDATE tasks SET status = ?, started_at = ?, attempts = attempts + 1 "
            "WHERE id = ? AND status = ? RETURNING *",
            RUNNING,
            time.time(),
            task_id,
            QUEUED,
        )
        return _task(rows[0]) if rows else None

    def finish(self, task_id: str, *, result: dict[str, Any] | None = None, error: str | None = None) -> None:
        now = time.time()
        self._run(
            "UPDATE tasks SET status = ?, result = ?, error = ?, finished_at = ?, expires_at = ? WHERE id = ?",
            FAILED if error else SUCCEEDED,
            json.dumps(result) if result is not None else None,
            error,
            now,
            now + self.ttl,
            task_id,
        )

    def requeue(self, task_id: str) -> None:
        self._run("UPDATE tasks SET status = ? WHERE id = ?", QUEUED, task_id)

    def release(self, task_id: str) -> None:
        """Queue a running task again without counting its attempt (a graceful shutdown is not a crash)."""
        self._run(
            "UPDATE tasks SET status = ?, attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = ?",
            QUEUED,
            task_id,
            RUNNING,
        )

    def unfinished(self) -> list[Task]:
        return [
            _task(row)
            for row in self._run("SELECT * FROM tasks WHERE status IN (?, ?) ORDER BY created_at", QUEUED, RUNNING)
        ]

    def pop_expired(self) -> list[Task]:
        """Delete and return the tasks whose results have expired."""
        return [_task(row) for row in self._run("DELETE FROM tasks WHERE expires_at <= ? RETURNING *", time.time())]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _task(row: sqlite3.Row) -> Task:
    return Task(
        row["id"],
        row["contract"],
        row["status"],
        json.loads(row["source"]),
        json.loads(row["options"]),
        json.loads(row["result"]) if row["result"] else None,
        row["error"],
        row["created_at"],
        row["started_at"],
        row["finished_at"],
        row["expires_at"],
        row["attempts"],
        row["owner"],
    )


Work = Callable[[Task], dict[str, Any]]


class TaskRunner:
    """Runs tasks from the store on ``workers`` threads and sweeps expired results in the background."""

    def __init__(self, store: TaskStore, storage: Storage, work: Work, workers: int, drain: float = 5.0) -> None:
        self.store, self.storage, self.work, self.drain = store, storage, work, drain
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="facekit-task")
        self._stop = threading.Event()
        self._running: set[str] = set()  # tasks a worker is on; released ones leave it at shutdown
        self._idle = threading.Condition()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="facekit-sweeper", daemon=True)

    def start(self) -> None:
        """Recover interrupted tasks, then start sweeping."""
        for task in self.store.unfinished():
            if task.status == RUNNING and task.attempts >= MAX_ATTEMPTS:
                self.store.finish(task.id, error="interrupted by server restarts")
                log.warning("task %s failed: interrupted %d times", task.id, task.attempts)
                continue
            self.store.requeue(task.id)
            self.submit(task.id)
            log.info("task %s queued again after a restart", task.id)
        self.sweep()
        self._sweeper.start()

    def create(self, contract: str, source: dict[str, str], options: dict[str, Any], owner: str = "") -> Task:
        """Store a new task and queue it."""
        task = self.store.create(contract, source, options, owner)
        self.submit(task.id)
        return task

    def submit(self, task_id: str) -> None:
        self._pool.submit(self._run, task_id)

    def _run(self, task_id: str) -> None:
        with self._idle:
            if self._stop.is_set():
                return  # shutting down: the task stays queued for the next start
            task = self.store.start(task_id)
            if task is None:
                return
            self._running.add(task_id)
        try:
            outcome: dict[str, Any] = {"result": self.work(task)}
        except FacekitError as exc:
            outcome = {"error": str(exc) or type(exc).__name__}
        except Exception as exc:  # a worker must record every failure, never die silently
            log.exception("task %s failed", task_id)
            outcome = {"error": f"internal error: {type(exc).__name__}"}
        with self._idle:
            if task_id in self._running:  # not released by a shutdown meanwhile
                self._running.discard(task_id)
                self.store.finish(task_id, **outcome)
                self._idle.notify_all()

    def sweep(self) -> None:
        """Delete expired tasks and their crops, and expired uploads."""
        for task in self.store.pop_expired():
            folder = (task.result or {}).get("folder")
            if folder:
                self.storage.remove(folder)
        self.storage.sweep()

    def _sweep_loop(self) -> None:
        interval = min(60.0, max(0.2, self.store.ttl / 4))
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except Exception:  # keep sweeping whatever one pass met
                log.exception("sweep failed")

    def close(self) -> None:
        """Stop taking tasks, wait up to ``drain`` s for the running ones, and queue the rest again uncounted."""
        with self._idle:
            self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._idle:
            self._idle.wait_for(lambda: not self._running, timeout=self.drain)
            for task_id in sorted(self._running):
                self.store.release(task_id)
                log.info("task %s queued again: the server stopped before it finished", task_id)
            self._running.clear()
