"""The words of the window's offer to resume (or discard) a batch that stopped before it
finished: its process died, so the journal (engine.journal) still shows it running."""

from __future__ import annotations

from pixmill.engine.i18n import N_, _, ngettext
from pixmill.engine.journal import BatchInfo

from .sources import display_path

#: The status line while the journal and the outputs on disk are checked.
CHECKING = N_("Checking what the interrupted batch already finished…")


def destination(info: BatchInfo) -> str:
    """Where the batch writes, in the output panel's words (the home folder as ~)."""
    if info.output is not None:
        return display_path(info.output)
    return _("a “{folder}” subfolder next to each source").format(folder=info.subfolder)


def progress(info: BatchInfo) -> str:
    """'3,012 of 10,000 files done (web 2048) to /home/u/out'."""
    recipe = info.recipe.name or info.recipe.describe()
    return ngettext(
        "{done} of {total} file done ({recipe}) to {destination}",
        "{done} of {total} files done ({recipe}) to {destination}",
        info.total,
    ).format(
        done=f"{info.done:,}",
        total=f"{info.total:,}",
        recipe=recipe,
        destination=destination(info),
    )


def offer_text(info: BatchInfo) -> str:
    return _("The last batch stopped before it finished: {progress}.").format(
        progress=progress(info)
    )


def discarded_text(info: BatchInfo) -> str:
    return _("Discarded the interrupted batch: {progress}. The files it finished stay.").format(
        progress=progress(info)
    )
