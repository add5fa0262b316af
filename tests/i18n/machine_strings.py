"""String literals that read like prose but are not for the user, so they stay English:
(file, a snippet of the literal) -> why. test_marked.py fails on an entry that no longer
matches anything, so the list cannot outlive its reasons."""

MACHINE_STRINGS: dict[tuple[str, str], str] = {
    ("engine/metric.py", "expected uint8 pixels"): "a ValueError for a caller's mistake",
    ("engine/metric.py", "expected HxW, HxWx3 or HxWx4"): "a ValueError for a caller's mistake",
    ("engine/metric.py", "expected a PIL image or a numpy"): "a TypeError for a caller's mistake",
    ("engine/metric.py", "empty image"): "a ValueError for a caller's mistake",
    ("engine/metric.py", "distorted is {}x{}"): "a ValueError for a caller's mistake",
    ("engine/pool.py", "the message pipe is closed"): (
        "an internal exception, caught and turned into a replaced pool, never shown"
    ),
    ("engine/faults.py", "injected start-up failure"): (
        "PIXMILL_FAULTS, the fault-injection hook: for tests only"
    ),
    ("engine/journal.py", "CREATE TABLE"): "the journal's database schema (SQL)",
    ("engine/journal.py", "idx, source, target"): "the files table's columns (SQL)",
    ("engine/journal.py", "WHERE id = ?"): "a clause of an SQL query",
    ("engine/journal.py", "Application Support"): "the name of macOS's data folder",
    ("engine/codecs.py", "JPEG XL"): "a format's name, the same in every language",
    ("engine/raw.py", "demosaic (half size)"): "RawPicture.source: a value for tests and debugging",
    ("engine/raw.py", "embedded preview"): "RawPicture.source: a value for tests and debugging",
    (
        "engine/worker.py",
        "pixmill worker {}",
    ): "written to the worker's own stderr: the log, for developers",
    ("engine/worker.py", "run_chunk runs in a pool worker"): "an assertion, for developers",
    ("engine/session.py", "process {} discarding batch {}"): (
        "the lock holder's line, written into the lock file and read by other processes, "
        "which may speak another language"
    ),
    ("gui/format_editor.py", "JPEG XL"): "a format's name, the same in every language",
    ("gui/queue_model.py", "one size per path"): "a ValueError for a caller's mistake",
    ("gui/actions.py", "<code>pixmill convert</code>"): "a command, typed as it is in any language",
    ("gui/app.py", "window shown"): (
        "PIXMILL_SMOKE_QUIT_MS: the packaging smoke test's line, read by a script"
    ),
    ("gui/launcher.py", "pixmill {}"): "--version: the program's name and version number",
    ("gui/naming_editor.py", "{stem}"): "the name template's default token, typed as it is",
    ("engine/preview.py", "JPEG XL"): "a format's name, the same in every language",
    ("engine/compress.py", "full chroma"): "a key that keeps two quality searches apart",
    (
        "engine/runner.py",
        "a batch is running",
    ): "a RuntimeError for a caller's mistake, for developers",
    ("engine/runner.py", "a batch is already running"): (
        "a RuntimeError for a caller's mistake, for developers"
    ),
    ("engine/runner.py", "no batch is running on a pool"): (
        "a RuntimeError for a caller's mistake, for developers"
    ),
    ("engine/encoders.py", "unknown JPEG encoder"): "a ValueError for a caller's mistake",
    ("engine/encoders.py", "data is too long"): (
        "a ValueError from building JPEG segments; the caller turns it into its own message"
    ),
    ("engine/encoders.py", "ICC profile is too long"): (
        "a ValueError from building JPEG segments; the caller turns it into its own message"
    ),
    ("engine/encoders.py", "Comment is too long"): (
        "a ValueError from building JPEG segments; the caller turns it into its own message"
    ),
    ("engine/encoders.py", "no SOI marker"): "a ValueError for a caller's mistake",
    ("engine/encoders.py", "oxipng level must be"): "a ValueError for a caller's mistake",
    ("engine/encoders.py", "colors must be 1..256"): "a ValueError for a caller's mistake",
    ("engine/encoders.py", "not available: "): (
        "python -m pixmill.engine.encoders: a diagnostic listing for developers"
    ),
}
