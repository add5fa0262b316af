"""The command line's cluster parts: `--cluster` and `--path-map` for `pixmill convert`
(PIXMILL_CLUSTER when --cluster is not given) and `pixmill cluster-check ADDRESS`.
"""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from .cluster import CLUSTER_ENV, ClusterError, ClusterSpec, check, parse_path_map
from .i18n import _

#: convert's options that go with --resume as well.
RESUME_OPTIONS = ("cluster", "path_map")


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    """convert's --cluster and --path-map."""
    parser.add_argument(
        "--cluster",
        metavar="tcp://HOST:PORT",
        help=_(
            "run on the Dask cluster of this scheduler (default: ${variable}, else this "
            "machine's workers); needs pixmill[cluster]"
        ).format(variable=CLUSTER_ENV),
    )
    parser.add_argument(
        "--path-map",
        action="append",
        default=[],
        metavar="LOCAL=REMOTE",
        help=_("the workers see this machine's folder LOCAL as REMOTE (repeatable)"),
    )


def add_check_command(sub: argparse._SubParsersAction) -> None:
    """`pixmill cluster-check ADDRESS [--path-map L=R] [FOLDER...] [-o OUTDIR]`."""
    c = sub.add_parser(
        "cluster-check",
        help=_("check that every worker of a Dask cluster can run Pixmill's batches"),
        description=_(
            "Connect to a Dask scheduler and check every worker: Pixmill and Pillow "
            "versions match, the format plugins load, the folders are visible and the output "
            "folder is writable."
        ),
    )
    c.add_argument(
        "address",
        nargs="?",
        metavar="ADDRESS",
        help=_("tcp://HOST:PORT (${variable})").format(variable=CLUSTER_ENV),
    )
    c.add_argument("folders", nargs="*", metavar="FOLDER", help=_("input folders to check"))
    c.add_argument("-o", "--output", metavar="OUTDIR", help=_("output folder to check"))
    c.add_argument(
        "--path-map", action="append", default=[], metavar="LOCAL=REMOTE", help=_("as for convert")
    )


def spec_from_args(args: argparse.Namespace) -> ClusterSpec | None:
    """The cluster convert runs on (--cluster, else PIXMILL_CLUSTER), or None for the local
    pool; raises ClusterError for a bad --path-map or one without a cluster."""
    address = (getattr(args, "cluster", None) or os.environ.get(CLUSTER_ENV, "")).strip()
    maps = tuple(parse_path_map(m) for m in getattr(args, "path_map", None) or ())
    if not address:
        if maps:
            raise ClusterError(_("--path-map goes with --cluster (or PIXMILL_CLUSTER)"))
        return None
    return ClusterSpec(address, maps)


def cmd_cluster_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run the pre-flight check alone: 0 when every worker passes, 1 when not, 2 for a usage
    error."""
    address = (args.address or os.environ.get(CLUSTER_ENV, "")).strip()
    if not address:
        err.write(
            _("pixmill: give the scheduler's address (tcp://HOST:PORT) or set {variable}").format(
                variable=CLUSTER_ENV
            )
            + "\n"
        )
        return 2
    try:
        maps = [parse_path_map(m) for m in args.path_map]
    except ClusterError as exc:
        err.write(_("pixmill: {error}").format(error=exc) + "\n")
        return 2
    folders = [os.path.abspath(f) for f in args.folders]
    outputs = [os.path.abspath(args.output)] if args.output else []
    result = check(address, maps, folders, outputs)
    for worker, problems in sorted(result.workers.items()):
        said = _("; ").join(problems) if problems else _("ok")
        out.write(f"{worker}: {said}\n")
    line = _("ok: {message}") if result.ok else _("failed: {message}")
    (out if result.ok else err).write(line.format(message=result.message) + "\n")
    return 0 if result.ok else 1
