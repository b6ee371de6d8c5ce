"""The curriculum: every sweep whose data is here, one after another in one Ray session, then an
index of them all with the source's results checked ("N of M reference values reproduced").

    python -m sweeps.curriculum                        # every sweep whose data is available
    python -m sweeps.curriculum --smoke-test           # the whole path in a few minutes
    python -m sweeps.curriculum --only mnist_width,toy2d --max-epochs 3
    python -m sweeps.curriculum --resume               # continue: finished sweeps are never rerun
    python -m sweeps.curriculum --resume --record REPRODUCTION.md   # and write the reproduction record

Results: results/curriculum/<sweep>/ (as `python -m sweeps.<sweep>` writes them) and
results/curriculum/index.md with its page index.html; state.json there says which sweeps finished.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

from data_modules.atomic import write_text_atomically
from sweeps.runner import interrupt
from sweeps.runner.entry import INTERRUPTED, end_process

PROG = "python -m sweeps.curriculum"
FOLDER = "curriculum"
STATE_FILE, INDEX_FILE = "state.json", "index.md"
DONE, FAILED, STOPPED, SKIPPED = "finished", "failed", "interrupted", "skipped"


def _local_folder(text: str) -> str:
    """The curriculum keeps its state and index.md in a local folder; a URI is for single sweeps."""
    from analysis.results.storage import is_uri

    if is_uri(text):
        raise argparse.ArgumentTypeError(f"{text}: the curriculum writes to a local folder or shared mount; "
                                         "allowed: a path (a single sweep's --storage-path takes s3://, gs://, file://)")
    return text


def parse(argv: list[str] | None, names: list[str]) -> argparse.Namespace:
    from analysis.results.arguments import OneLineParser, UsageError, checked, positive_int
    from sweeps.runner.cli import summary

    p = OneLineParser(prog=PROG, description=summary(__doc__))
    p.add_argument("--only", help="comma-separated sweeps to run (default: all)")
    p.add_argument("--skip", help="comma-separated sweeps to leave out")
    p.add_argument("--smoke-test", action="store_true", help="every sweep in its smoke-test size")
    p.add_argument("--max-epochs", type=checked(positive_int), help="epochs per trial for every sweep")
    p.add_argument("--resume", action="store_true", help="continue the curriculum in --storage-path (finished sweeps stay)")
    p.add_argument("--storage-path", type=_local_folder, default="results",
                   help=f"results go to STORAGE_PATH/{FOLDER}, a local folder or shared mount (default: results)")
    p.add_argument("--data-dir", help="dataset folder (default: $SWEEPLAB_DATA_DIR or ~/.cache/sweeplab/data)")
    p.add_argument("--record", metavar="FILE",
                   help="also write the reproduction record (one row per sweep, then the scorecard) to FILE, "
                        "e.g. REPRODUCTION.md")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    for flag in ("only", "skip"):
        for name in filter(None, (getattr(args, flag) or "").split(",")):
            if name not in names:
                raise UsageError(f"--{flag}: unknown sweep {name!r}; allowed: {', '.join(names)}")
    return args


def chosen(args, names: list[str]) -> list[str]:
    only = set(filter(None, (args.only or "").split(","))) or set(names)
    skip = set(filter(None, (args.skip or "").split(",")))
    return [n for n in names if n in only and n not in skip]


def data_problem(sweep, data_dir) -> tuple[str, str]:
    """(ABSENT or UNREADABLE, the loader's first line) when the sweep's data cannot be read here:
    not there at all, or there but corrupt; ("", "") when it can."""
    from analysis.results.curriculum_index import ABSENT, UNREADABLE
    from data_modules import peek_dataset

    values = {k: v for k, v in sweep.settings.items() if k in sweep.data_axes}
    kinds = [dict(zip(sweep.data_axes, combo)) for combo in _data_combos(sweep, values)]
    for combo in kinds:
        loader = {**sweep.data, **{sweep.data_axes[k]: v for k, v in combo.items()}}
        peek = peek_dataset(sweep.dataset, data_dir=data_dir, **loader)
        if not peek.available:
            return UNREADABLE if peek.unreadable else ABSENT, peek.why.splitlines()[0]
    return "", ""


def skipped_entry(sweep, data_dir) -> dict:
    """The state entry of a sweep whose data cannot be read here (empty when it can)."""
    kind, why = data_problem(sweep, data_dir)
    return {"status": SKIPPED, "data": kind, "why": why} if kind else {}


def not_run(only: str | None, state: dict) -> list[str]:
    """The sweeps named in --only that did not run: their data absent or unreadable, or failed;
    each as "name (why)". The curriculum exits non-zero when there is one."""
    from analysis.results.curriculum_index import DATA_PROBLEMS

    out = []
    for name in filter(None, (only or "").split(",")):
        entry = state.get(name, {})
        if entry.get("status") in (SKIPPED, FAILED):
            out.append(f"{name} ({DATA_PROBLEMS.get(entry.get('data', ''), entry['status'])})")
    return out


def _data_combos(sweep, fixed: dict) -> list[tuple]:
    import itertools

    axes = [sweep.grid.get(k, [fixed.get(k)]) for k in sweep.data_axes]
    return list(itertools.product(*axes)) if axes else [()]


def sweep_argv(name: str, args, root: Path, resume: bool) -> list[str]:
    argv = ["--storage-path", str(root), "--name", name]
    argv += ["--smoke-test"] if args.smoke_test else []
    argv += ["--max-epochs", str(args.max_epochs)] if args.max_epochs else []
    argv += ["--data-dir", args.data_dir] if args.data_dir else []
    return argv + (["--resume"] if resume else [])


def run_one(name: str, args, root: Path, state: dict) -> str:
    """One sweep through its own main(), in this process and this Ray; returns its status."""
    from ray.tune import Tuner

    module = importlib.import_module(f"sweeps.{name}")
    resume = name in state and Tuner.can_restore(str(root / name))
    if not resume and (root / name).exists():  # an earlier attempt that never got to a trial
        import shutil

        shutil.rmtree(root / name)
    print(f"\n=== {name}: {module.SWEEP.title}", flush=True)
    t0 = time.monotonic()
    code = module.main(sweep_argv(name, args, root, resume))
    status = {0: DONE, INTERRUPTED: STOPPED}.get(code, FAILED)
    state[name] = {"status": status, "wall_s": round(time.monotonic() - t0, 1), "exit_code": code,
                   "machine": machine()}
    return status


def machine() -> str:
    """The machine a sweep ran on, for the reproduction record: CPUs and GPU."""
    import platform

    import torch

    from trainables.provenance import machine_cpus

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{machine_cpus()} CPUs ({platform.machine()}), {gpu}"


OPTIONS = ("only", "skip", "smoke_test", "max_epochs", "data_dir")  # what --resume keeps


def save_state(root: Path, state: dict, args) -> None:
    write_text_atomically(root / STATE_FILE, json.dumps({"options": {k: getattr(args, k) for k in OPTIONS},
                                                         "sweeps": state}, indent=1))


def load_state(root: Path) -> dict:
    try:
        return json.loads((root / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def main(argv: list[str] | None = None) -> int:
    with interrupt.armed(ignore_after=argv is None):
        code = run(argv)
    if argv is None:  # the whole process: end it now
        end_process(code)
    return code


def run(argv: list[str] | None) -> int:
    from analysis.results.arguments import UsageError
    from analysis.results.curriculum_index import DATA_PROBLEMS
    from sweeps.runner.catalog import all_sweeps

    sweeps = all_sweeps()
    try:
        args = parse(argv, list(sweeps))
    except UsageError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    root = Path(args.storage_path).expanduser().resolve() / FOLDER
    saved = load_state(root)
    if saved and not args.resume:
        print(f"{PROG}: error: {root} holds a curriculum already; allowed: --resume to continue it, or another "
              "--storage-path", file=sys.stderr)
        return 2
    if args.resume:  # the same curriculum as before: its flags, unless given again
        for key, value in saved.get("options", {}).items():
            if not getattr(args, key):
                setattr(args, key, value)
    state = saved.get("sweeps", {}) if args.resume else {}
    ray_started, code = False, 0
    try:
        for name in chosen(args, list(sweeps)):
            interrupt.checkpoint()  # a Ctrl-C between sweeps ends the curriculum here
            if state.get(name, {}).get("status") == DONE:
                print(f"{name}: finished before, kept", flush=True)
                continue
            skipped = skipped_entry(sweeps[name], args.data_dir)
            if skipped:
                print(f"{name}: skipped, {DATA_PROBLEMS[skipped['data']]}: {skipped['why']}", flush=True)
                state[name] = skipped
                continue
            if not ray_started:
                from sweeps.runner.ray_session import start_ray

                with interrupt.shielded():
                    ray_started = start_ray()
            status = run_one(name, args, root, state)
            save_state(root, state, args)
            if status == STOPPED:
                code = INTERRUPTED
                break
            code = code or (1 if status == FAILED else 0)
    except KeyboardInterrupt:
        code = INTERRUPTED
    finally:
        if ray_started:
            from sweeps.runner.ray_session import stop_ray

            with interrupt.shielded(raise_after=False):
                stop_ray()
    save_state(root, state, args)
    from analysis.results.curriculum_index import write_index

    index = write_index(root, state, sweeps)
    print(f"\ncurriculum: {index}\n            {index.with_suffix('.html')}")
    if args.record:
        from analysis.results.reproduction import write_record

        # sweeps this curriculum did not choose: "not run here" when their data is missing, else "not run yet"
        unchosen = {name: skipped_entry(sweep, args.data_dir) for name, sweep in sweeps.items() if name not in state}
        unchosen = {name: entry for name, entry in unchosen.items() if entry}
        record = write_record(Path(args.record), root, {**state, **unchosen},
                              " ".join([PROG, *(sys.argv[1:] if argv is None else argv)]), every=list(sweeps))
        print(f"reproduction record: {record}")
    if code == INTERRUPTED:
        print(f"interrupted: continue with  {PROG} --resume --storage-path {args.storage_path}", flush=True)
        return code
    missed = not_run(args.only, state)
    if missed:
        print(f"{PROG}: error: --only asked for {', '.join(missed)}, which could not run", file=sys.stderr)
        return code or 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
