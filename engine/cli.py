"""The headless face: `pixmill convert`, `pixmill presets`, `pixmill batches` and (from
cluster_cli.py) `pixmill cluster-check`.

Builds a Recipe from a preset and flags, plans with plan.py, runs with the BatchRunner and
prints a progress bar (stderr, terminals only), one line per failure and the summary. No Qt.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from . import cluster_cli
from .cluster import ClusterError
from .estimate import estimate
from .events import BatchListener, Progress, Throttle
from .formats import FORMATS
from .i18n import N_, _, ngettext
from .journal import INTERRUPTED, Journal, JournalError
from .plan import format_plan, plan
from .pool import default_workers
from .presets import PresetStore
from .recipe import DEFAULT_MAX_MEGAPIXELS, QUALITY_TARGETS, Recipe, RecipeError, Resize
from .report import Report, human_duration, summary_text
from .runner import BatchRunner
from .session import (
    BatchError,
    BatchSession,
    discard_batch,
    resume_batch,
    start_batch,
    up_to_date_readonly,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130


class UsageError(Exception):
    pass


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = text.lower().replace("×", "x").split("x")
        wi, hi = int(w), int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected WIDTHxHEIGHT, got {text}").format(text=repr(text))
        ) from None
    if wi < 1 or hi < 1:
        raise argparse.ArgumentTypeError(_("width and height must be at least 1"))
    return wi, hi


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a whole number, got {text}").format(text=repr(text))
        ) from None
    if v < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1"))
    return v


def _quality(text: str) -> int:
    v = _positive(text)
    if v > 100:
        raise argparse.ArgumentTypeError(_("quality must be between 1 and 100"))
    return v


def _percent(text: str) -> float:
    try:
        v = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a percentage, got {text}").format(text=repr(text))
        ) from None
    if not 0 < v <= 10000:
        raise argparse.ArgumentTypeError(_("percent must be above 0 and at most 10000"))
    return v


def _megapixels(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a number of megapixels, got {text}").format(text=repr(text))
        ) from None
    if not 0 <= v <= 1_000_000:
        raise argparse.ArgumentTypeError(_("megapixels must be between 0 (no limit) and 1000000"))
    return v


def _score(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a score, got {text}").format(text=repr(text))
        ) from None
    if not 30 <= v <= 100:
        raise argparse.ArgumentTypeError(_("the target score must be between 30 and 100"))
    return v


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3}


def _byte_size(text: str) -> int:
    t = text.strip().lower().replace(" ", "")
    number = t.rstrip("kmgb")
    unit = t[len(number) :]
    try:
        v = float(number) * _UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(
            _("expected a size like 300KB or 2MB, got {text}").format(text=repr(text))
        ) from None
    if v < 1:
        raise argparse.ArgumentTypeError(_("the size must be at least 1 byte"))
    return int(v)


def _saving(text: str) -> float:
    try:
        v = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a percentage, got {text}").format(text=repr(text))
        ) from None
    if not 0 <= v < 100:
        raise argparse.ArgumentTypeError(_("the saving must be between 0 and 100 percent"))
    return v


def _colors(text: str) -> int:
    v = _positive(text)
    if not 2 <= v <= 256:
        raise argparse.ArgumentTypeError(_("PNG colours must be between 2 and 256"))
    return v


#: argparse's own words (Python 3.11's argparse.py), marked so extraction finds them;
#: translate_argparse() has argparse look them up in Pixmill's catalogue.
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("options"),
    N_("positional arguments"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("not allowed with argument %s"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("ignored explicit argument %r"),
    N_("%(prog)s: error: %(message)s\n"),
)


def translate_argparse() -> None:
    """Have argparse say its headings and errors through Pixmill's catalogue (its own module
    functions are looked up by name when a parser formats help or an error)."""
    argparse._ = _  # type: ignore[attr-defined]
    argparse.ngettext = ngettext  # type: ignore[attr-defined]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixmill",
        description=_(
            "Fast, safe batch image converter. Run without a command to open the window."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    c = sub.add_parser(
        "convert", help=_("convert folders and files"), description=_("Convert images.")
    )
    c.add_argument("inputs", nargs="*", metavar="INPUT", help=_("folders and image files"))
    c.add_argument("-o", "--output", metavar="OUTDIR", help=_("output folder (required)"))
    c.add_argument(
        "--preset", metavar="NAME|FILE.json", help=_("start from a preset or recipe file")
    )
    c.add_argument("--format", choices=FORMATS)
    c.add_argument("--quality", type=_quality, metavar="1..100")
    c.add_argument(
        "--quality-target",
        choices=("off", *QUALITY_TARGETS),
        help=_(
            "per image, the lowest quality whose SSIMULACRA2 score reaches the target: "
            "{levels} (90 is visually lossless)"
        ).format(levels=", ".join(f"{k} {v:g}" for k, v in QUALITY_TARGETS.items())),
    )
    c.add_argument(
        "--target-score",
        type=_score,
        metavar="N",
        help=_("the SSIMULACRA2 score every output must reach (30..100), instead of a level"),
    )
    c.add_argument(
        "--max-size",
        type=_byte_size,
        metavar="SIZE",
        help=_(
            "each output at most SIZE (300KB, 2MB; 1 KB = 1000 bytes): the highest quality "
            "that fits; a file that cannot fit fails"
        ),
    )
    c.add_argument(
        "--skip-larger",
        action="store_true",
        default=None,
        help=_("keep the original (its own bytes and extension) when the output is not smaller"),
    )
    c.add_argument(
        "--min-saving",
        type=_saving,
        metavar="PERCENT",
        help=_("keep the original unless the output is smaller by at least PERCENT"),
    )
    c.add_argument(
        "--png-colors",
        type=_colors,
        metavar="N",
        help=_("PNG with at most N colours (2..256, libimagequant's palette): much smaller"),
    )
    c.add_argument("--progressive", action="store_true", default=None, help=_("progressive JPEG"))
    c.add_argument("--lossless", action="store_true", default=None, help=_("lossless WebP"))
    c.add_argument("--png-level", type=int, choices=range(10), metavar="0..9")
    size = c.add_mutually_exclusive_group()
    size.add_argument("--fit", type=_size, metavar="WxH", help=_("fit within WxH"))
    size.add_argument("--long-edge", type=_positive, metavar="N", help=_("longest side N px"))
    size.add_argument("--scale", type=_percent, metavar="PERCENT", help=_("scale by percent"))
    size.add_argument("--exact", type=_size, metavar="WxH", help=_("exactly WxH (may distort)"))
    size.add_argument("--fill", type=_size, metavar="WxH", help=_("cover WxH, centre-crop"))
    c.add_argument("--upscale", action="store_true", default=None, help=_("allow enlarging"))
    c.add_argument(
        "--filter", choices=("lanczos", "bicubic", "bilinear", "nearest"), help=_("resampling")
    )
    meta = c.add_mutually_exclusive_group()
    meta.add_argument("--strip-metadata", action="store_true", help=_("drop EXIF and XMP"))
    meta.add_argument("--strip-location", action="store_true", help=_("drop GPS data only"))
    meta.add_argument("--keep-metadata", action="store_true", help=_("keep EXIF, ICC and XMP"))
    c.add_argument("--strip-icc", action="store_true", help=_("drop the colour profile too"))
    c.add_argument("--no-auto-orient", action="store_true", help=_("do not apply EXIF rotation"))
    c.add_argument("--background", metavar="'#rrggbb'", help=_("colour behind transparency"))
    c.add_argument(
        "--to-srgb",
        action="store_true",
        default=None,
        help=_("convert wide-gamut colours (Display P3, Adobe RGB) to sRGB, as the web expects"),
    )
    c.add_argument(
        "--raw-preview",
        action="store_true",
        default=None,
        help=_("camera RAW: use the embedded full-size JPEG preview instead of demosaicing"),
    )
    c.add_argument(
        "--max-megapixels",
        type=_megapixels,
        metavar="N",
        help=_(
            "refuse files that decode to more than N megapixels, 0 for no limit (default {limit})"
        ).format(limit=f"{DEFAULT_MAX_MEGAPIXELS:g}"),
    )
    c.add_argument("--first-frame", action="store_true", help=_("drop animation frames and pages"))
    c.add_argument(
        "--name",
        metavar="TEMPLATE",
        help=_("{stem} {ext} {width} {height} {index} {parent} {date}; e.g. '{stem}_{width}px'"),
    )
    c.add_argument("--flat", action="store_true", help=_("do not recreate the folder tree"))
    c.add_argument("--no-recursive", action="store_true", help=_("do not enter subfolders"))
    c.add_argument("--on-conflict", choices=("rename", "skip", "overwrite"))
    c.add_argument(
        "--keep-dates",
        action="store_true",
        default=None,
        help=_("give outputs the source's modification time"),
    )
    c.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help=_("parallel workers (default {workers})").format(workers=default_workers()),
    )
    c.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help=_("give up on one file after this long (default 600)"),
    )
    cluster_cli.add_convert_arguments(c)
    c.add_argument("--dry-run", action="store_true", help=_("print the plan, write nothing"))
    c.add_argument(
        "--estimate",
        action="store_true",
        help=_(
            "with --dry-run: convert a sample of the files into a temporary folder and print "
            "the expected total size, saving and time"
        ),
    )
    c.add_argument(
        "--update",
        action="store_true",
        help=_(
            "convert only sources that are new or changed since this recipe last wrote "
            "their output into this folder; the rest are skipped as up to date"
        ),
    )
    c.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="ID",
        help=_(
            "continue the most recent interrupted batch (or batch ID, see `pixmill "
            "batches`) with its own inputs, recipe and output folder"
        ),
    )
    c.add_argument(
        "--no-sync",
        action="store_true",
        help=_(
            "do not wait for each output to reach the disk before naming it (faster on "
            "RAM disks; a power cut may then leave damaged outputs)"
        ),
    )
    c.add_argument("--report", metavar="FILE.json", help=_("write a JSON (or .csv) report"))
    talk = c.add_mutually_exclusive_group()
    talk.add_argument("--quiet", "-q", action="store_true", help=_("only print failures"))
    talk.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help=_("also print what the decoders said about each file (its warnings)"),
    )
    sub.add_parser("presets", help=_("list built-in presets"))
    b = sub.add_parser(
        "batches",
        help=_("list recent batches and their state"),
        description=_(
            "Recent batches, newest first. An interrupted one continues with "
            "`pixmill convert --resume ID`."
        ),
    )
    b.add_argument("--limit", type=_positive, default=20, metavar="N", help=_("show N (20)"))
    b.add_argument(
        "--discard", type=_positive, metavar="ID", help=_("give up interrupted batch ID")
    )
    cluster_cli.add_check_command(sub)
    return parser


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    base = PresetStore().find(args.preset) if args.preset else Recipe()
    changes: dict[str, Any] = {}
    for attr, field in (
        ("format", "format"),
        ("quality", "quality"),
        ("progressive", "progressive"),
        ("lossless", "webp_lossless"),
        ("png_level", "png_compress_level"),
        ("background", "background"),
        ("name", "name_template"),
        ("on_conflict", "on_conflict"),
        ("keep_dates", "keep_dates"),
        ("to_srgb", "to_srgb"),
        ("raw_preview", "raw_preview"),
        ("max_megapixels", "max_megapixels"),
        ("quality_target", "quality_target"),
        ("target_score", "target_score"),
        ("max_size", "max_size"),
        ("skip_larger", "skip_larger"),
        ("png_colors", "png_colors"),
    ):
        value = getattr(args, attr)
        if value is not None:
            changes[field] = value
    if args.min_saving is not None:
        changes.update(skip_larger=True, min_saving=args.min_saving)
    if args.strip_metadata:
        changes["metadata"] = "strip"
    elif args.strip_location:
        changes["metadata"] = "strip_location"
    elif args.keep_metadata:
        changes["metadata"] = "keep"
    if args.strip_icc:
        changes["keep_icc"] = False
    if args.no_auto_orient:
        changes["auto_orient"] = False
    if args.first_frame:
        changes["keep_frames"] = False
    if args.flat:
        changes["preserve_tree"] = False
    if args.no_recursive:
        changes["recursive"] = False
    rz = base.resize
    if args.fit:
        rz = Resize("fit", width=args.fit[0], height=args.fit[1])
    elif args.long_edge:
        rz = Resize("long_edge", long_edge=args.long_edge)
    elif args.scale:
        rz = Resize("percent", percent=args.scale)
    elif args.exact:
        rz = Resize("exact", width=args.exact[0], height=args.exact[1])
    elif args.fill:
        rz = Resize("fill", width=args.fill[0], height=args.fill[1])
    if args.upscale is not None or args.filter is not None:
        rz = Resize(
            rz.mode,
            rz.width,
            rz.height,
            rz.long_edge,
            rz.percent,
            args.upscale if args.upscale is not None else rz.upscale,
            args.filter or rz.filter,
        )
    changes["resize"] = rz
    return base.replace(**changes)


class ConsoleListener(BatchListener):
    """Progress bar on a terminal, one line per failure, nothing else."""

    def __init__(self, stream: TextIO, quiet: bool, verbose: bool = False) -> None:
        self.stream = stream
        self.tty = stream.isatty() and not quiet
        self.quiet = quiet
        self.verbose = verbose
        self._throttle = Throttle(0.1)
        self._width = 0

    def _clear(self) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def say(self, line: str) -> None:
        """A warning about the batch itself (the journal, a lock), on its own line."""
        self._clear()
        self.stream.write(_("pixmill: warning: {message}").format(message=line) + "\n")
        self.stream.flush()

    def job_finished(self, result: dict[str, Any]) -> None:
        said = result.get("warnings") if self.verbose else None
        if result["status"] != "failed" and not said:
            return
        self._clear()
        if result["status"] == "failed":
            self.stream.write(
                _("failed: {source}: {error}").format(
                    source=result["source"], error=result["error"]
                )
                + "\n"
            )
        for line in said or ():
            self.stream.write(
                _("warning: {source}: {message}").format(source=result["source"], message=line)
                + "\n"
            )
        self.stream.flush()

    def progress(self, snap: Progress) -> None:
        # The runner sends a snapshot every 0.1 s and a last one at the end: a held-back
        # update is never the last word.
        if not self.tty or (self._throttle.wait() and snap.done < snap.total):
            return
        width = 30
        filled = int(width * snap.fraction)
        eta = "--" if snap.eta_s is None else human_duration(snap.eta_s)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {snap.done}/{snap.total} " + _(
            "{rate} files/s  ETA {eta}"
        ).format(rate=f"{snap.files_per_s:5.1f}", eta=eta)
        if snap.failed:
            line += "  " + ngettext("{count} failed", "{count} failed", snap.failed).format(
                count=snap.failed
            )
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()

    def batch_finished(self, report: Report) -> None:
        self._clear()


def cmd_presets(out: TextIO) -> int:
    store = PresetStore()
    for preset in store.builtin():
        out.write(f"{preset.name:24} {preset.recipe.description or preset.recipe.describe()}\n")
    mine = store.user()
    if mine:
        out.write("\n" + _("your presets ({folder}):").format(folder=store.folder) + "\n")
        for preset in mine:
            recipe = preset.recipe
            out.write(f"{preset.name:24} {recipe.description or recipe.describe()}\n")
    return EXIT_OK


def cmd_convert(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.resume is not None:
        return cmd_resume(args, err)
    try:
        recipe = recipe_from_args(args)
    except RecipeError as exc:
        raise UsageError(str(exc)) from None
    if not args.inputs:
        raise UsageError(_("give folders or files to convert (or --resume)"))
    if not args.output:
        raise UsageError(_("an output folder is required: -o OUTDIR"))
    outdir = os.path.abspath(args.output)
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise UsageError(_("output {path} exists and is not a folder").format(path=outdir))
    missing = [p for p in args.inputs if not os.path.exists(p)]
    if missing:
        raise UsageError(_("input not found: {paths}").format(paths=", ".join(missing)))
    if args.estimate and not args.dry_run:
        raise UsageError(_("--estimate goes with --dry-run"))
    if args.dry_run:
        p = plan(args.inputs, recipe, outdir)
        if args.update:
            p.jobs = up_to_date_readonly(p.jobs, recipe, outdir)
        out.write(format_plan(p) + "\n")
        if args.estimate:
            runner = _runner(args)
            try:
                out.write(
                    _("estimate: {estimate}").format(estimate=estimate(p.jobs, runner).describe())
                    + "\n"
                )
            finally:
                runner.shutdown()
        return EXIT_OK
    runner = _runner(args)
    try:
        if not args.update:  # an incremental run often has nothing to convert: no pool then
            runner.warm_up()  # the workers boot while the inputs are scanned
    except ClusterError as exc:
        runner.shutdown()
        raise UsageError(str(exc)) from None
    try:
        return _run(runner, args, recipe, outdir, err)
    finally:
        runner.shutdown()


def _runner(args: argparse.Namespace) -> BatchRunner:
    try:
        return BatchRunner(
            workers=args.workers,
            time_limit=args.time_limit if args.time_limit else 600.0,
            cluster=cluster_cli.spec_from_args(args),
        )
    except ClusterError as exc:
        raise UsageError(str(exc)) from None


def _run(
    runner: BatchRunner, args: argparse.Namespace, recipe: Recipe, outdir: str, err: TextIO
) -> int:
    created = time.time()
    p = plan(args.inputs, recipe, outdir, sync=not args.no_sync)
    for path, msg in p.problems:
        err.write(_("note: {path}: {message}").format(path=path, message=msg) + "\n")
    if not p.jobs:
        err.write(_("no images found in the inputs") + "\n")
        return EXIT_USAGE
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            _("cannot create output folder {path}: {error}").format(path=outdir, error=exc.strerror)
        ) from None
    if not os.access(outdir, os.W_OK):
        raise UsageError(_("output folder {path} is not writable").format(path=outdir))
    why = runner.preflight(p.jobs)  # a cluster's check on every worker; nothing locally
    if why:
        raise UsageError(why)
    listener = ConsoleListener(err, args.quiet, args.verbose)
    try:
        session = start_batch(
            p,
            recipe,
            args.inputs,
            outdir,
            "cli",
            update=args.update,
            created=created,
            warn=listener.say,
        )
    except BatchError as exc:
        raise UsageError(str(exc)) from None
    return _execute(runner, session, listener, args, err)


#: convert's options that --resume takes; the rest (inputs, recipe, output) come from the
#: journal.
_RESUME_OPTIONS = (
    "resume",
    "workers",
    "time_limit",
    "report",
    "quiet",
    "verbose",
    "no_sync",
    *cluster_cli.RESUME_OPTIONS,
)


def cmd_resume(args: argparse.Namespace, err: TextIO) -> int:
    given = [
        k
        for k, v in vars(args).items()
        if k not in _RESUME_OPTIONS and k != "command" and v not in (None, False, [])
    ]
    if given:
        flags = ", ".join("INPUT" if k == "inputs" else "--" + k.replace("_", "-") for k in given)
        raise UsageError(
            _(
                "--resume continues a batch with its own inputs, recipe and output folder; "
                "drop {flags}"
            ).format(flags=flags)
        )
    if args.resume == "latest":
        batch_id = None
    elif args.resume.isdigit():
        batch_id = int(args.resume)
    else:
        raise UsageError(
            _("--resume takes a batch ID (see `pixmill batches`), not {value}").format(
                value=repr(args.resume)
            )
        )
    listener = ConsoleListener(err, args.quiet, args.verbose)
    runner = _runner(args)
    try:
        try:
            runner.warm_up()
        except ClusterError as exc:
            raise UsageError(str(exc)) from None
        try:
            session, info = resume_batch(
                batch_id, "cli", sync=False if args.no_sync else None, warn=listener.say
            )
        except BatchError as exc:
            raise UsageError(str(exc)) from None
        if not args.quiet:
            err.write(_("resuming {batch}").format(batch=info.describe()) + "\n")
        return _execute(runner, session, listener, args, err)
    finally:
        runner.shutdown()


def _execute(
    runner: BatchRunner,
    session: BatchSession,
    listener: ConsoleListener,
    args: argparse.Namespace,
    err: TextIO,
) -> int:
    """Run a recorded batch with Ctrl-C and SIGTERM cancelling it; report and summary."""

    def on_signal(signum: int, frame: Any) -> None:
        runner.cancel()

    wanted = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    previous = {}
    try:
        for sig in wanted:
            previous[sig] = signal.signal(sig, on_signal)
    except ValueError:  # not the main thread (embedded use): no signal handling
        pass
    try:
        report = runner.run(session.jobs, listener, done=session.done, journal=session)
    finally:
        session.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.report:
        try:
            report.save(args.report)
        except OSError as exc:
            err.write(
                _("could not write report {path}: {error}").format(
                    path=args.report, error=exc.strerror or exc
                )
                + "\n"
            )
    if not args.quiet or report.exit_code:
        err.write(summary_text(report.summary, plain=True) + "\n")
    if report.cancelled:
        if session.journaled:
            line = _("cancelled; continue with: pixmill convert --resume {id}").format(
                id=session.batch_id
            )
        else:
            line = _("cancelled")
        err.write(line + "\n")
    return report.exit_code


def cmd_batches(args: argparse.Namespace, out: TextIO) -> int:
    if args.discard is not None:
        try:
            info = discard_batch(args.discard)
        except BatchError as exc:
            raise UsageError(str(exc)) from None
        out.write(_("discarded {batch}").format(batch=info.describe()) + "\n")
        return EXIT_OK
    try:
        with Journal.open() as journal:
            batches = journal.batches(args.limit)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    if not batches:
        out.write(_("no batches yet") + "\n")
        return EXIT_OK
    heads = (_("ID"), _("STARTED"), _("STATE"), _("DONE"), _("FROM"), _("RECIPE -> OUTPUT"))
    out.write(
        f"{heads[0]:>5}  {heads[1]:16}  {heads[2]:11}  {heads[3]:>15}  {heads[4]:6}  {heads[5]}\n"
    )
    for b in batches:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created))
        done = f"{b.done:,}/{b.total:,}"
        failed = b.counts.get("failed", 0)
        recipe = b.recipe.name or b.recipe.describe()
        where = b.output or _("'{folder}' beside the sources").format(folder=b.subfolder)
        line = (
            f"{b.id:>5}  {started:16}  {b.state:11}  {done:>15}  {b.origin:6}  {recipe} -> {where}"
        )
        if failed:
            line += "  " + ngettext("({count} failed)", "({count} failed)", failed).format(
                count=f"{failed:,}"
            )
        out.write(line + "\n")
    if any(b.state == INTERRUPTED for b in batches):
        out.write(
            "\n" + _("continue an interrupted batch with: pixmill convert --resume ID") + "\n"
        )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    translate_argparse()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if exc.code in (0, None) else EXIT_USAGE
    try:
        if args.command == "presets":
            return cmd_presets(sys.stdout)
        if args.command == "convert":
            return cmd_convert(args, sys.stdout, sys.stderr)
        if args.command == "batches":
            return cmd_batches(args, sys.stdout)
        if args.command == "cluster-check":
            return cluster_cli.cmd_cluster_check(args, sys.stdout, sys.stderr)
        parser.print_help()
        return EXIT_USAGE
    except UsageError as exc:
        sys.stderr.write(_("pixmill: {error}").format(error=exc) + "\n")
        return EXIT_USAGE
    except RecipeError as exc:
        sys.stderr.write(_("pixmill: {error}").format(error=exc) + "\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_CANCELLED


if __name__ == "__main__":
    sys.exit(main())
