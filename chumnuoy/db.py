"""Engine creation shared by the portal and the sandbox registry (each has its own database)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

SQLITE_TIMEOUT = 30.0
"""Seconds a writer waits for another (SQLite's busy timeout, and the write gate's)."""
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteGate:
    """Lets one SQLite write transaction at a time into a database file, across threads and processes.

    SQLite itself allows one writer; a second one gets SQLITE_BUSY and its busy handler *sleeps*
    (1, 2, 5, 10, … 100 ms) before trying again, however soon the lock is free. Under concurrent
    USSD hops (gunicorn: 2 processes × 4 threads) those sleeps made the p99 of a hop. Here writers
    queue instead: a thread lock (woken at once on release) in the process, then an advisory `flock`
    on `<database>-writer.lock` between processes (tried without blocking, then polled every
    0.2–1 ms). Readers never wait (WAL). A writer that cannot get in within SQLITE_TIMEOUT gets
    "database is locked", as it would from SQLite. WAL checkpoints run in a thread of each process
    every CHECKPOINT_EVERY commits, not inside a writer's COMMIT."""

    CHECKPOINT_EVERY = 200
    """Write transactions between two WAL checkpoints (SQLite's automatic one, every 1,000 pages,
    ran inside the unlucky writer's COMMIT, its fsync holding up every writer queued behind it)."""

    CHECKPOINT_GROWTH = 8 << 20

    def __init__(self, database: str) -> None:
        self.database = database
        self._wal_size = 0
        self.lock_path = f"{database}-writer.lock"
        self._threads = threading.Lock()
        self._fd: int | None = None
        self._pid = 0
        self._commits = 0
        self._wake = threading.Event()
        self._checkpointer_pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own description
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, timeout: float = SQLITE_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        if not self._threads.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            fd, pause = self._file(), 0.0002
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError("database is locked") from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)
        except BaseException:
            self._threads.release()
            raise

    def release(self, committed: bool = False) -> None:
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            if committed:
                self._commits += 1
                due = self._commits % self.CHECKPOINT_EVERY == 0 or self._wal_grew()
            self._threads.release()
        if committed and due:
            self._checkpoint_soon()

    def _wal_grew(self) -> bool:
        """A few large transactions (bulk loads) fill the WAL with few commits: checkpoint too when
        the file grew by CHECKPOINT_GROWTH since the last look (a reused WAL keeps its size)."""
        try:
            size = os.stat(f"{self.database}-wal").st_size
        except OSError:
            return False
        if size < self._wal_size + self.CHECKPOINT_GROWTH:
            return False
        self._wal_size = size
        return True

    def _checkpoint_soon(self) -> None:
        """Wake this process's checkpointer thread: a PASSIVE checkpoint on its own connection, off
        the request path and outside the gate (readers and writers go on meanwhile)."""
        if self._checkpointer_pid != os.getpid():
            self._checkpointer_pid = os.getpid()
            threading.Thread(target=self._checkpoint_forever, name="sqlite-checkpoint", daemon=True).start()
        self._wake.set()

    def _checkpoint_forever(self) -> None:
        connection = sqlite3.connect(self.database, timeout=SQLITE_TIMEOUT, check_same_thread=False)
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:  # busy (another process checkpoints) or gone: the next one will do
                continue


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def write_gate(database: str) -> WriteGate:
    """The process's gate of one database file (shared by every engine on that file)."""
    database = os.path.realpath(database)
    with _gates_lock:
        gate = _gates.get(database)
        if gate is None:
            gate = _gates[database] = WriteGate(database)
        return gate


def _gated_connection_class(gate: WriteGate) -> type[sqlite3.Connection]:
    """A sqlite3 connection whose first write statement of a transaction waits at `gate`, released
    when the transaction ends (commit, rollback or close)."""

    class GatedCursor(sqlite3.Cursor):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
            self.connection._enter_gate(sql)  # type: ignore[attr-defined]
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
            self.connection._enter_gate(sql)  # type: ignore[attr-defined]
            return super().executemany(sql, parameters)

    class GatedConnection(sqlite3.Connection):
        _holding = False

        def _enter_gate(self, sql: str) -> None:
            if not self._holding and sql.lstrip()[:7].upper().startswith(_WRITES):
                gate.acquire()
                self._holding = True

        def _leave_gate(self, committed: bool = False) -> None:
            if self._holding:
                self._holding = False
                gate.release(committed)

        def cursor(self, factory: Any = GatedCursor) -> sqlite3.Cursor:  # type: ignore[override]
            return super().cursor(factory)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._leave_gate(committed=True)

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._leave_gate()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._leave_gate()

    return GatedConnection


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine with the settings every process uses (SQLite: WAL, synchronous=NORMAL, foreign keys,
    busy timeout, and writers queued at the file's `WriteGate`)."""
    if url.startswith("sqlite:///"):
        database = url.removeprefix("sqlite:///")
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"timeout": SQLITE_TIMEOUT, "check_same_thread": False}
        gated = bool(database) and database != ":memory:" and "?" not in database
        if gated:
            connect_args["factory"] = _gated_connection_class(write_gate(database))
        engine = create_engine(url, connect_args=connect_args)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            if gated:  # checkpoints by the gate's thread (WriteGate.CHECKPOINT_EVERY)
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10)
