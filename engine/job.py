"""The planned work: a Source found while scanning, the Job it becomes (with its final target
and action), and the Plan that holds every job of a batch plus what could not be used.

Plain frozen data: it travels to worker processes (and cluster workers) by pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .recipe import Recipe


@dataclass(frozen=True)
class Source:
    """One input image: its path, the input folder it was found under (None for a file given
    directly), and the size and modification time read while scanning."""

    path: str
    root: str | None
    size: int = 0
    mtime: float = 0.0


@dataclass(frozen=True)
class Job:
    """One planned conversion. action is "convert", or "skip" with a reason.

    sync: the output's data reaches the disk before its name appears (off only for
    --no-sync). replace: the target is this recipe's own earlier output of this source
    (an incremental run refreshing it), so it is replaced, whatever the naming policy."""

    index: int
    source: str
    target: str
    format: str
    recipe: Recipe
    action: str = "convert"
    reason: str = ""
    size: int = 0
    mtime: float = 0.0
    sync: bool = True
    replace: bool = False

    @property
    def encoding(self) -> str:
        """The format the pixels are prepared for: the job's, or WebP's (transparency kept,
        any metadata) when the format is chosen per image ("auto")."""
        return "webp" if self.format == "auto" else self.format


@dataclass
class Plan:
    """Every job of a batch, in order, and the inputs that could not be used."""

    jobs: list[Job] = field(default_factory=list)
    #: (input path, message) for inputs that could not be used or were partly unreadable.
    problems: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_convert(self) -> int:
        return sum(1 for j in self.jobs if j.action == "convert")
