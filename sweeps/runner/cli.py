"""The flags every sweep shares, parsed into one-line errors (never a traceback or a usage dump;
the parser and value checks: analysis.results.arguments)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.results.arguments import (
    OneLineParser,
    checked,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)
from sweeps.runner.run_logs import parse_logs

# A trial's result lines at most this often by default (its last one always; --progress-every):
# the palindrome sweep reports 8,000 rows at its defaults, 84 in its smoke test, far more than a person reads.
TRIAL_EVERY_S = 5.0
RESULTS_ROOT = "results"  # --storage-path's default: where runs go, and where python -m sweeps --runs looks


def summary(doc: str) -> str:
    """A module docstring's first paragraph as one line: the `--help` description (a first line
    alone stops mid-sentence when the sentence wraps)."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def _storage(text: str) -> str:
    """A local folder, or a URI that every node of a cluster reaches (analysis.results.storage)."""
    from analysis.results.storage import StorageError, check_storage

    try:
        return check_storage(text)
    except StorageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _existing_folder(text: str) -> str:
    """A folder the user names must exist: a typo would otherwise train on the fallback data."""
    path = Path(text).expanduser()
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist; allowed: an existing folder "
                                         "(only the default, $SWEEPLAB_DATA_DIR or ~/.cache/sweeplab/data, is created)")
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; allowed: an existing folder")
    return str(path)


def parse_value(text: str):
    """A config value from the command line: JSON when it parses (numbers, lists, true/null), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _assignment(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value.strip()


def build_parser(prog: str, description: str, epilog: str | None = None) -> argparse.ArgumentParser:
    p = OneLineParser(prog=prog, description=description, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-epochs", type=checked(positive_int), help="epochs per trial (default: the sweep's)")
    p.add_argument("--num-samples", type=checked(positive_int), help="Tune num_samples: grid repeats, or Optuna trials")
    p.add_argument("--repeats", type=checked(positive_int),
                   help="seeds per configuration (0..N-1; default: the sweep's own, 1 unless its source averaged runs)")
    p.add_argument("--search", choices=("grid", "optuna"), help="search algorithm (default: the sweep's)")
    p.add_argument("--scheduler", choices=("asha", "none"), help="trial scheduler (default: the sweep's)")
    p.add_argument("--min-delta", type=checked(non_negative_float),
                   help="stop a trial once its metric improves by less than this (default: the sweep's)")
    p.add_argument("--patience", type=checked(positive_int), help="epochs in a row below --min-delta before stopping")
    p.add_argument("--fuse", choices=("auto", "on", "off"), default="auto",
                   help="train same-shape trials (differing only in lr, momentum, weight decay, dropout, "
                        "seed, label noise) as one stacked population per worker (default: when possible)")
    p.add_argument("--population-size", type=checked(positive_int), default=32, help="most trials fused into one population")
    p.add_argument("--cpus-per-trial", type=checked(positive_float), default=1.0,
                   help="CPUs (torch threads) per trial, fractions allowed (default: 1)")
    p.add_argument("--gpus-per-trial", type=checked(non_negative_float),
                   help="GPUs per trial, fractions allowed (default: when Ray has a GPU, the share that packs "
                        "trials by their estimated memory, else 0)")
    p.add_argument("--storage-path", type=_storage, default=RESULTS_ROOT,
                   help="where results go, one folder per sweep run: a local folder or shared mount, or "
                        "s3://bucket/path, gs://bucket/path (a cluster's nodes must all reach it)")
    p.add_argument("--max-failures", type=checked(non_negative_int), default=3,
                   help="restarts of a trial whose worker or node dies, each from its latest checkpoint (default: 3)")
    p.add_argument("--data-dir", type=_existing_folder,
                   help="dataset folder, which must exist (default: $SWEEPLAB_DATA_DIR or ~/.cache/sweeplab/data, "
                        "created when missing)")
    p.add_argument("--name", help="results folder name (default: the sweep's name, numbered if taken)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run named by --name (default: the latest) in --storage-path, with the "
                        "settings it was started with")
    p.add_argument("--address", help="join a running Ray cluster (e.g. auto) instead of starting one")
    p.add_argument("--dashboard", action="store_true",
                   help="start the local Ray with its dashboard on 127.0.0.1 and print its URL (needs the "
                        "dashboard extra: pip install -e '.[dashboard]')")
    p.add_argument("--progress-every", type=checked(non_negative_float), default=TRIAL_EVERY_S, metavar="SECONDS",
                   help="seconds between one trial's progress lines; its last line always shows (0: every row; "
                        "default: %(default)s)")
    p.add_argument("--log", type=checked(parse_logs), default=(), metavar="BACKENDS",
                   help="also log every trial, each member of a fused population apart, to tensorboard, mlflow "
                        "and/or wandb, comma separated (default: none; README: Watching runs)")
    p.add_argument("--smoke-test", action="store_true", help="tiny and fast: a few trials, few epochs")
    p.add_argument("--profile", action="store_true",
                   help="print the wall time of each phase at the end: imports, plan and checks, Ray start, "
                        "training, Ray stop, collection, post-hoc studies, plots, report")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan and its estimated wall time (a few steps timed on this machine), then exit "
                        "without starting Ray or training")
    p.add_argument("--base-from", metavar="RESULTS_DIR",
                   help="start from the best configuration of a finished sweep (its swept values become fixed)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", type=_assignment,
                   help="override a setting, e.g. --set lr=0.05 or --set width=[128,64]; on a swept "
                        "key, comma-separated values replace the grid (--set width=100,300)")
    return p


def parse_flags(prog: str, description: str, argv: list[str] | None, epilog: str | None = None) -> argparse.Namespace:
    return build_parser(prog, description, epilog).parse_args(sys.argv[1:] if argv is None else argv)


