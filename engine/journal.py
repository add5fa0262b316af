"""The batch journal: one SQLite database (the standard library's sqlite3, WAL mode) in the
user's data folder that records every batch's recipe, inputs and output folder, its planned
files and, per file, the result: whether it was published, where, and the output's size.

It is what makes a batch resumable after its process died (session.py) and what an
incremental run (--update) compares sources with (the `outputs` table: per output folder,
recipe fingerprint and source, the source's size and time and the output it gave). Only the
main process writes it; workers never see it. Every failure here is a JournalError with a
one-line reason: the journal is never the reason a batch or a file fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .i18n import N_, _, ngettext
from .job import Job
from .locks import FileLock, lock_name
from .recipe import Recipe, RecipeError

SCHEMA_VERSION = 1
#: Batches kept in the journal; older ones (and their file rows) are dropped.
KEEP_BATCHES = 30
#: How long a write waits for another Pixmill process holding the database, in seconds.
BUSY_SECONDS = 1.0

RUNNING, INTERRUPTED, FINISHED, CANCELLED, DISCARDED = (
    "running",
    "interrupted",
    "finished",
    "cancelled",
    "discarded",
)
#: The states in the user's words (the values above stay English in the database and in
#: `pixmill batches --json`-like output): show _(STATE_NAMES[state]).
STATE_NAMES = {
    RUNNING: N_("running"),
    INTERRUPTED: N_("interrupted"),
    FINISHED: N_("finished"),
    CANCELLED: N_("cancelled"),
    DISCARDED: N_("discarded"),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY,
    created REAL NOT NULL,
    ended REAL,
    state TEXT NOT NULL,
    origin TEXT NOT NULL,
    recipe TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    inputs TEXT NOT NULL,
    output TEXT,
    subfolder TEXT NOT NULL,
    sync INTEGER NOT NULL,
    total INTEGER NOT NULL,
    pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    batch INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    format TEXT NOT NULL,
    action TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    replace_ INTEGER NOT NULL,
    status TEXT,
    final TEXT,
    error TEXT,
    bytes_in INTEGER,
    bytes_out INTEGER,
    width INTEGER,
    height INTEGER,
    ms REAL,
    warnings TEXT,
    PRIMARY KEY (batch, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs (
    dest TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    source TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    target TEXT NOT NULL,
    bytes_out INTEGER NOT NULL,
    PRIMARY KEY (dest, fingerprint, source)
) WITHOUT ROWID;
"""

_FILE_COLUMNS = (
    "idx, source, target, format, action, reason, size, mtime, replace_, "
    "status, final, error, bytes_in, bytes_out, width, height, ms, warnings"
)


class JournalError(Exception):
    """The journal cannot be used; str() is one line for the user."""


def data_dir() -> Path:
    """Pixmill's data folder: $XDG_DATA_HOME/Pixmill on Linux (~/.local/share/Pixmill),
    %LOCALAPPDATA%\\Pixmill on Windows, ~/Library/Application Support/Pixmill on macOS."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "Pixmill"


def dest_key(output_dir: str | None, subfolder: str) -> str:
    """Where a batch's outputs go, as the outputs table keys it."""
    return output_dir if output_dir is not None else f"<beside>/{subfolder}"


@dataclass(frozen=True)
class BatchInfo:
    """One batch as the journal knows it. counts: files per recorded status."""

    id: int
    created: float
    state: str
    origin: str
    recipe: Recipe
    inputs: list[str]
    output: str | None
    subfolder: str
    sync: bool
    total: int
    pid: int
    ended: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        """Files with a final result (converted, skipped or failed)."""
        return sum(n for status, n in self.counts.items() if status != "cancelled")

    @property
    def resumable(self) -> bool:
        return self.state in (INTERRUPTED, CANCELLED)

    @property
    def dest(self) -> str:
        return dest_key(self.output, self.subfolder)

    def describe(self) -> str:
        """'batch 12: 3,012 of 10,000 files (web 2048, JPEG q85, fit 2048x2048) to /out'."""
        recipe = self.recipe.name or self.recipe.describe()
        if self.output:
            where = self.output
        else:
            where = _("a '{folder}' folder beside each source").format(folder=self.subfolder)
        return ngettext(
            "batch {id}: {done} of {total} file done ({recipe}) to {where}",
            "batch {id}: {done} of {total} files done ({recipe}) to {where}",
            self.total,
        ).format(
            id=self.id, done=f"{self.done:,}", total=f"{self.total:,}", recipe=recipe, where=where
        )


@dataclass(frozen=True)
class FileRow:
    """One planned file of a batch and what became of it (status None: no result yet)."""

    index: int
    source: str
    target: str
    format: str
    action: str
    reason: str
    size: int
    mtime: float
    replace: bool
    status: str | None
    final: str | None
    error: str | None
    bytes_in: int | None
    bytes_out: int | None
    width: int | None
    height: int | None
    ms: float | None
    warnings: str | None

    def job(self, recipe: Recipe, sync: bool, target: str | None = None) -> Job:
        """The job that (re)does this file (to target, when given)."""
        return Job(
            self.index,
            self.source,
            target or self.target,
            self.format,
            recipe,
            self.action,
            self.reason,
            self.size,
            self.mtime,
            sync,
            self.replace,
        )

    def result(self) -> dict[str, Any]:
        """The recorded result as the report's record."""
        return {
            "index": self.index,
            "source": self.source,
            "target": self.final if self.final is not None else self.target,
            "status": self.status,
            "error": self.error,
            "traceback": None,
            "bytes_in": self.bytes_in or self.size,
            "bytes_out": self.bytes_out,
            "width": self.width,
            "height": self.height,
            "ms": self.ms or 0.0,
            "warnings": self.warnings.split("\n") if self.warnings else [],
        }


#: os.fsencode's codec, looked up once: the journal encodes a few paths per file.
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _path(path: str | None) -> bytes | None:
    """A path as the journal stores it: its bytes (a name need not be valid UTF-8), as
    os.fsencode gives them."""
    return path.encode(_FS_ENCODING, _FS_ERRORS) if path is not None else None


def _unpath(data: bytes | str | None) -> str | None:
    return os.fsdecode(data) if data is not None else None


def _text(text: str | None) -> str | None:
    """A message as UTF-8 text (a file name in it that is not UTF-8 is shown with U+FFFD)."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def result_row(batch: int, r: dict[str, Any]) -> tuple[Any, ...]:
    """A result's values for the files table's UPDATE (see Journal.record)."""
    warnings = r.get("warnings")
    return (
        r["status"],
        _path(r.get("target")) if r["status"] == "ok" else None,
        _text(r.get("error")),
        r.get("bytes_in"),
        r.get("bytes_out"),
        r.get("width"),
        r.get("height"),
        r.get("ms"),
        _text("\n".join(warnings)) if warnings else None,
        batch,
        r["index"],
    )


class Journal:
    """An open connection to the journal. Not shared between threads at the same time; open
    one per use (opening takes about a millisecond)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Journal:
        """Open (and create) the journal. A damaged database is set aside (renamed with
        ".damaged" and the time) and a new one started; anything else that stops it from
        opening raises JournalError."""
        where = Path(path) if path is not None else data_dir() / "journal.sqlite3"
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            return cls(_connect(where), where)
        except sqlite3.DatabaseError as exc:
            if not _damaged(exc):
                raise JournalError(_cannot_open(where, exc)) from None
        except OSError as exc:
            raise JournalError(_cannot_open(where, exc.strerror or exc)) from None
        aside = where.with_name(f"{where.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(where, aside)
            for extra in ("-wal", "-shm"):
                Path(f"{where}{extra}").unlink(missing_ok=True)
            journal = cls(_connect(where), where)
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(
                _("the batch journal {path} is damaged: {error}").format(path=where, error=exc)
            ) from None
        journal.set_aside = str(aside)
        return journal

    #: Where a damaged journal was moved when this one was started instead (else None).
    set_aside: str | None = None

    def close(self) -> None:
        try:
            self._conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (taking the write lock at once, waiting up to
        BUSY_SECONDS for another process's); any failure is a JournalError."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except (sqlite3.Error, ValueError, OverflowError) as exc:  # UnicodeError is a ValueError
            raise JournalError(
                _("the batch journal cannot be written: {error}").format(error=exc)
            ) from None

    def _write(self, statements: Iterable[tuple[str, Any]]) -> None:
        """Run statements (sql, parameters or a list of them) in one transaction."""
        with self._transaction() as conn:
            for sql, params in statements:
                if isinstance(params, list):
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, params)

    def begin(
        self,
        jobs: Sequence[Job],
        recipe: Recipe,
        inputs: Sequence[str],
        output_dir: str | None,
        subfolder: str,
        origin: str,
        created: float,
    ) -> int:
        """Record a new batch and its planned files; returns its id. Drops the oldest
        batches beyond KEEP_BATCHES."""
        sync = all(j.sync for j in jobs)
        row = (
            created,
            RUNNING,
            origin,
            recipe.to_json(),
            recipe.fingerprint(),
            json.dumps(list(inputs)),
            _path(output_dir),
            subfolder,
            int(sync),
            len(jobs),
            os.getpid(),
        )
        with self._transaction() as conn:
            cur = conn.execute(
                "INSERT INTO batches (created, state, origin, recipe, fingerprint, inputs,"
                " output, subfolder, sync, total, pid) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                row,
            )
            batch = int(cur.lastrowid or 0)
            conn.executemany(
                "INSERT INTO files (batch, idx, source, target, format, action, reason,"
                " size, mtime, replace_, status, error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    (
                        batch,
                        j.index,
                        _path(j.source),
                        _path(j.target),
                        j.format,
                        j.action,
                        _text(j.reason),
                        j.size,
                        j.mtime,
                        int(j.replace),
                        "skipped" if j.action == "skip" else None,
                        _text(j.reason) if j.action == "skip" else None,
                    )
                    for j in jobs
                ),
            )
            old = conn.execute(
                "SELECT id FROM batches ORDER BY id DESC LIMIT -1 OFFSET ?", (KEEP_BATCHES,)
            ).fetchall()
            conn.executemany("DELETE FROM files WHERE batch = ?", old)
            conn.executemany("DELETE FROM batches WHERE id = ?", old)
        for (gone,) in old:  # an interrupted batch's lock file stays until now
            lock = FileLock(self.lock_path(gone))
            if os.path.exists(lock.path) and lock.is_free():
                try:
                    os.unlink(lock.path)
                except OSError:
                    pass
        return batch

    def record(
        self, batch: int, results: Sequence[dict[str, Any]], dest: str, fingerprint: str
    ) -> None:
        """Store finished files' results; converted ones also become the outputs table's
        record of what this recipe made of their sources."""
        where = _path(dest)
        ok = [
            (where, fingerprint, _path(r["target"]), r["bytes_out"] or 0, batch, r["index"])
            for r in results
            if r["status"] == "ok"
        ]
        self._write(
            (
                (
                    "UPDATE files SET status=?, final=?, error=?, bytes_in=?, bytes_out=?,"
                    " width=?, height=?, ms=?, warnings=? WHERE batch=? AND idx=?",
                    [result_row(batch, r) for r in results],
                ),
                (
                    "INSERT OR REPLACE INTO outputs (dest, fingerprint, source, size, mtime,"
                    " target, bytes_out) SELECT ?, ?, source, size, mtime, ?, ? FROM files"
                    " WHERE batch=? AND idx=?",
                    ok,
                ),
            )
        )

    def set_state(self, batch: int, state: str) -> None:
        ended = None if state == RUNNING else time.time()
        pid = os.getpid()
        self._write(
            (("UPDATE batches SET state=?, ended=?, pid=? WHERE id=?", (state, ended, pid, batch)),)
        )

    # --- reading ---------------------------------------------------------------------------
    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except (sqlite3.Error, ValueError) as exc:
            raise JournalError(
                _("the batch journal cannot be read: {error}").format(error=exc)
            ) from None

    def batches(self, limit: int = 20, batch: int | None = None) -> list[BatchInfo]:
        """The most recent batches, newest first (or just the one with id batch), with the
        state of a running batch whose process is gone shown as interrupted."""
        where, params = ("WHERE id = ?", (batch,)) if batch is not None else ("", ())
        rows = self._read(
            "SELECT id, created, state, origin, recipe, inputs, output, subfolder, sync, total,"
            f" pid, ended FROM batches {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        )
        out = []
        for row in rows:
            counts = dict(
                self._read(
                    "SELECT status, count(*) FROM files WHERE batch = ? AND status IS NOT NULL"
                    " GROUP BY status",
                    (row[0],),
                )
            )
            try:
                recipe = Recipe.from_json(row[4])
            except RecipeError:
                continue  # written by a Pixmill whose recipes this one cannot read
            state = row[2]
            if state == RUNNING and FileLock(self.lock_path(row[0])).is_free():
                state = INTERRUPTED
            out.append(
                BatchInfo(
                    row[0],
                    row[1],
                    state,
                    row[3],
                    recipe,
                    json.loads(row[5]),
                    _unpath(row[6]),
                    row[7],
                    bool(row[8]),
                    row[9],
                    row[10],
                    row[11],
                    counts,
                )
            )
        return out

    def batch(self, batch: int) -> BatchInfo | None:
        found = self.batches(1, batch)
        return found[0] if found else None

    def latest_interrupted(self) -> BatchInfo | None:
        """The most recent batch whose process died before it ended."""
        for info in self.batches(KEEP_BATCHES):
            if info.state == INTERRUPTED:
                return info
        return None

    # --- locks beside the journal ----------------------------------------------------------
    def lock_path(self, batch: int) -> str:
        """The lock file a running batch holds (locks.py): free means its process is gone."""
        return str(self.path.parent / "locks" / f"batch-{batch}.lock")

    def folder_lock_path(self, folder: str) -> str:
        """The lock file of a batch writing into folder."""
        return str(self.path.parent / "locks" / lock_name(folder))

    def files(self, batch: int) -> list[FileRow]:
        rows = self._read(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE batch = ? ORDER BY idx", (batch,)
        )
        return [
            FileRow(
                r[0],
                _unpath(r[1]),
                _unpath(r[2]),
                *r[3:8],
                bool(r[8]),
                r[9],
                _unpath(r[10]),
                *r[11:],
            )
            for r in rows
        ]

    def outputs(self, dest: str, fingerprint: str) -> dict[str, tuple[int, float, str, int]]:
        """source -> (its size, its time, the output, the output's size), for what this
        recipe last wrote into dest."""
        rows = self._read(
            "SELECT source, size, mtime, target, bytes_out FROM outputs"
            " WHERE dest = ? AND fingerprint = ?",
            (_path(dest), fingerprint),
        )
        return {_unpath(r[0]): (r[1], r[2], _unpath(r[3]), r[4]) for r in rows}


def _cannot_open(where: Path, error: object) -> str:
    return _("cannot open the batch journal {path}: {error}").format(path=where, error=error)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(
        str(path), timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: consistent after a crash, and fast
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    _("written by a newer Pixmill (journal version {version})").format(
                        version=version
                    )
                )
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text
