"""The words of the window's offer to resume (or discard) a batch that stopped before it
finished: its process died, so the journal (engine.journal) still shows it running."""

from __future__ import annotations

from pixmill.engine.journal import BatchInfo

from .sources import display_path

#: The status line while the journal and the outputs on disk are checked.
CHECKING = "Checking what the interrupted batch already finished…"


def destination(info: BatchInfo) -> str:
    """Where the batch writes, in the output panel's words (the home folder as ~)."""
    if info.output is not None:
        return display_path(info.output)
    return f"a “{info.subfolder}” subfolder next to each source"


def progress(info: BatchInfo) -> str:
    """'3,012 of 10,000 files done (web 2048) to /home/u/out'."""
    recipe = info.recipe.name or info.recipe.describe()
    files = "file" if info.total == 1 else "files"
    return f"{info.done:,} of {info.total:,} {files} done ({recipe}) to {destination(info)}"


def offer_text(info: BatchInfo) -> str:
    return f"The last batch stopped before it finished: {progress(info)}."


def discarded_text(info: BatchInfo) -> str:
    return f"Discarded the interrupted batch: {progress(info)}. The files it finished stay."
