"""The GPU suite: every GPU claim of sweeplab measured in one call on a lent GPU machine (about
4 minutes on one H100/H200), or rehearsed on the CPU at toy sizes so that the script never rots.

    python benchmarks/gpu_suite.py                  # on a CUDA machine: the whole suite
    python benchmarks/gpu_suite.py --device cpu     # the rehearsal (tests/test_gpu_suite.py)
    python benchmarks/gpu_suite.py --only epoch,fused

Writes gpu_suite.json, gpu_suite.md (the table) and gpu_suite.log (every part's output) to --out
(default: $OUT where the device tool sets it, else ./gpu_suite). Each part runs in processes of
its own with a time limit; a part that fails or runs out of time is recorded with its error and
the suite goes on. Parts run in order of importance, and one that no longer fits the --budget-s
is recorded as not run. On the GPU machine (no network, no Ray there) follow
../shared/device/README.md: Ray and Optuna travel as wheels.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, TextIO

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
PY = sys.executable


class PartFailed(Exception):
    """A part's command failed; the message is its last line of output."""


@dataclass
class Suite:
    """Where a run of the suite stands: device, scratch folder, log and deadline."""

    device: str
    work: Path
    log: TextIO
    deadline: float

    @property
    def gpu(self) -> bool:
        return self.device == "cuda"

    def pick(self, gpu, cpu):
        """A part's GPU size, or its toy size for the CPU rehearsal."""
        return gpu if self.gpu else cpu

    def command(self, name: str, argv: list[str], timeout: float) -> None:
        """Run argv from the project root, its output logged line by line with the seconds since
        its start (a free profile of where a command's time goes). Raises
        PartFailed on a non-zero exit; past `timeout`, ends its whole process group (a sweep's
        Ray with it) and raises subprocess.TimeoutExpired."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "SWEEPLAB_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0"}
        self.log.write(f"\n### {name}: {' '.join(argv)}\n")
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        lines: list[str] = []

        def pump():
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                self.log.write(f"{time.perf_counter() - t0:7.2f} {lines[-1]}\n")

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            end_group(proc)
            self.log.write(f"[ended after {timeout:.0f} s, its limit]\n")
            raise
        finally:
            reader.join(5)
            self.log.flush()
        self.log.write(f"[exit {proc.returncode} after {time.perf_counter() - t0:.1f} s]\n")
        if proc.returncode != 0:
            said = [line for line in lines if line.strip()]
            raise PartFailed(f"exit {proc.returncode}: {said[-1] if said else 'no output'}")


def end_group(proc: subprocess.Popen) -> None:
    """Ctrl-C to the command's process group (a sweep then stops its Ray), then SIGKILL."""
    for sig, wait in ((signal.SIGINT, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(wait)
            return
        except (ProcessLookupError, subprocess.TimeoutExpired):
            continue


@dataclass
class Part:
    name: str
    what: str
    measure: Callable[[Suite, float], dict]  # (suite, seconds allowed) -> figures
    limit_s: float  # the most it may take on the GPU machine
    show: Callable[[dict], str]  # figures -> one table cell
    target: str = ""
    met: Callable[[dict], bool] | None = None  # judged on the GPU only


# In the order they run, as defined below: what matters most first, so a spent budget leaves out the least.
PARTS: list[Part] = []


def part(name: str, what: str, limit_s: float, show: Callable[[dict], str], target: str = "",
         met: Callable[[dict], bool] | None = None):
    def register(measure):
        PARTS.append(Part(name, what, measure, limit_s, show, target, met))
        return measure

    return register


def json_figures(suite: Suite, name: str, argv: list[str], timeout: float):
    """Run a benchmark script that writes its figures to --json FILE (after each case, so a part
    stopped at its limit still returns what it measured)."""
    path = suite.work / f"{name}.json"
    path.unlink(missing_ok=True)
    error = None
    try:
        suite.command(name, [*argv, "--json", str(path)], timeout)
    except (PartFailed, subprocess.TimeoutExpired) as e:
        error = e
    figures = json.loads(path.read_text()) if path.exists() else None
    if figures is None and error is not None:
        raise error
    return figures, error


def results_of(folder: Path):
    from analysis.results.tables import RESULTS_FILE, read_parquet

    return read_parquet(folder / RESULTS_FILE)[0]


# ------------------------------------------------------------------------------------------ parts

def _show_tests(f: dict) -> str:
    failures = "; ".join(f["failures"])
    return f"{f['passed']} passed, {f['failed']} failed, {f['skipped']} skipped" + (f": {failures}" if failures else "")


@part("gpu_tests", "the GPU-marked tests (`pytest -m gpu`)", 75, _show_tests, "0 failures",
      lambda f: f["failed"] == 0 and f["passed"] > 0)
def gpu_tests(suite: Suite, timeout: float) -> dict:
    xml = suite.work / "gpu_tests.xml"
    try:
        suite.command("gpu_tests", [PY, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
                      timeout)
    except PartFailed:
        if not xml.exists():
            raise
    cases = list(ET.parse(xml).getroot().iter("testcase"))
    failures = [f"{c.get('name')}: {(bad.get('message') or '').splitlines()[0][:160] if bad.get('message') else bad.tag}"
                for c in cases for bad in c if bad.tag in ("failure", "error")]
    skipped = sum(1 for c in cases if any(x.tag == "skipped" for x in c))
    return {"passed": len(cases) - len(failures) - skipped, "failed": len(failures), "skipped": skipped,
            "failures": failures}


def _show_epoch(f: dict) -> str:
    text = f"eager {f['eager_s']:.3f} s"
    if "graph_s" in f:
        text += (f", CUDA graph {f['graph_s']:.3f} s ({f['eager_s'] / f['graph_s']:.0f}x), graph + bf16 "
                 f"{f['graph_bf16_s']:.3f} s; graph vs eager loss {f['graph_vs_eager_loss_rel_diff']:.0e}; a step "
                 f"{f['graph_step_us']:.0f} us, {f['gpu_ops_per_step']} GPU operations")
    return text


@part("epoch", "one epoch of 60,000 rows, 2 x 400 MLP, batch 64: eager vs CUDA graph", 45, _show_epoch,
      "<= 0.05 s per epoch", lambda f: f.get("graph_s", 1e9) <= 0.05)
def epoch(suite: Suite, timeout: float) -> dict:
    rows = suite.pick(60_000, 2_000)
    figures, error = json_figures(suite, "epoch", [PY, str(BENCH / "single_trial_epoch.py"), "--device", suite.device,
                                                   "--rows", str(rows)], timeout)
    if error is not None:  # eager was measured, the CUDA graph or bf16 run was not
        raise PartFailed(f"after eager {figures['eager_s']:.3f} s: {error}")
    return figures


def _show_fused(cases: list) -> str:
    return "; ".join(f"{c['members']} x {c['model']}: " + (f"error {c['error']}" if "error" in c else
                     f"{c['fused_ms_per_model_epoch']:.1f} ms ({c['fused_speedup']:.1f}x alone)") for c in cases)


@part("fused", "fused populations, ms per model-epoch: 16 and 64 MLPs (60,000 rows), 8 CNNs, 8 GRUs (10,000 rows)",
      75, _show_fused, "<= 5 ms per MLP model-epoch",
      lambda cases: all(c.get("fused_ms_per_model_epoch", 1e9) <= 5 for c in cases if c["model"] == "mlp"))
def fused(suite: Suite, timeout: float) -> list:
    cases = suite.pick("mlp:16:60000,mlp:64:60000,cnn:8:10000,gru:8:10000", "mlp:4:1000,mlp:8:1000,cnn:2:100,gru:2:100")
    figures, error = json_figures(suite, "fused", [PY, str(BENCH / "fused_population.py"), "--device", suite.device,
                                                   "--cases", cases, "--sequential", suite.pick("2", "1"),
                                                   "--epochs", suite.pick("3", "2")], timeout)
    if error is not None:
        figures.append({"model": "rest", "members": 0, "error": str(error)})
    return figures


def cpu_vs_gpu(results, by: list[str]) -> dict:
    """Final total training time per device (and per `by` value), and CPU / GPU."""
    from trainables import metrics as M

    last = results.sort_values(M.STEP).groupby(M.TRIAL_ID).tail(1)
    times = {}
    for key, rows in last.groupby(by + [M.DEVICE]) if by else last.groupby(M.DEVICE):
        key = key if isinstance(key, tuple) else (key,)
        times[" ".join(map(str, key))] = round(float(rows[M.TIME_TOTAL_S].mean()), 3)
    ratios = {}
    for label, t in times.items():
        if label.endswith("cuda") and (cpu := times.get(label[: -len("cuda")] + "cpu")):
            ratios[label[: -len("cuda")].strip() or "all"] = round(cpu / t, 2)
    return {"time_total_s": times, "cpu_over_gpu": ratios}


def _show_cpu_gpu(f: dict) -> str:
    parts = []
    for run, g in f.items():
        times = ", ".join(f"{k} {v:.2f} s" for k, v in g["time_total_s"].items())
        ratio = ", ".join(f"{k} {v:.1f}x" for k, v in g["cpu_over_gpu"].items()) or "no GPU half"
        parts.append(f"{run}: {times} (CPU/GPU {ratio})")
    return "; ".join(parts)


CPUS = "8"  # of the machine's 16 cores: each half of a CPU-vs-GPU sweep gets as many as the other may use
CPU_GPU_RUNS = {  # run -> (sweep, group rows by, arguments on the GPU machine, in the CPU rehearsal)
    "char_rnn_smoke": ("char_rnn_cpu_gpu", [], ["--smoke-test"], ["--smoke-test"]),
    "mnist_smoke": ("mnist_cpu_gpu", ["model_size"], ["--smoke-test"], ["--smoke-test"]),
    "char_rnn_batch100": ("char_rnn_cpu_gpu", [], ["--set", "batch_size=100", "--cpus-per-trial", CPUS],
                          ["--set", "batch_size=100", "--smoke-test"]),
    "mnist": ("mnist_cpu_gpu", ["model_size"], ["--cpus-per-trial", CPUS], ["--max-epochs", "2"]),
}


@part("cpu_gpu", "`char_rnn_cpu_gpu` and `mnist_cpu_gpu`: --smoke-test, then char_rnn at batch 100 (1,000 batches) and "
      "mnist_cpu_gpu at its defaults, CPU halves on 8 threads; one process, one Ray", 110, _show_cpu_gpu,
      "GPU >= 5x the CPU (char_rnn, batch 100)", lambda f: f["char_rnn_batch100"]["cpu_over_gpu"].get("all", 0) >= 5)
def cpu_gpu(suite: Suite, timeout: float) -> dict:
    storage = suite.work / "cpu_gpu"
    suite.command("cpu_gpu", [PY, str(Path(__file__).resolve()), "--cpu-gpu-runs", str(storage), "--device", suite.device],
                  timeout)
    return {run: cpu_vs_gpu(results_of(storage / run), by) for run, (_, by, _, _) in CPU_GPU_RUNS.items()}


def cpu_gpu_runs(storage: str, gpu: bool) -> int:
    """The CPU-vs-GPU sweeps in this process on one Ray, as the curriculum runs sweeps: each
    pays for its own Ray start otherwise."""
    import importlib

    from sweeps.runner.ray_session import start_ray

    start_ray()
    codes = []
    for run, (sweep, _, on_gpu, on_cpu) in CPU_GPU_RUNS.items():
        module = importlib.import_module(f"sweeps.{sweep}")
        codes.append(module.main([*(on_gpu if gpu else on_cpu), "--storage-path", storage, "--name", run]))
    return max(codes)


def timeline(results) -> dict:
    """Trials' spans from their rows (started_at to the last reported_at) and the most that ran
    at one moment; the peak GPU memory of each."""
    from trainables import metrics as M

    spans = results.groupby(M.TRIAL_ID).agg(start=(M.STARTED_AT, "min"), end=(M.REPORTED_AT, "max"))
    events = sorted([(t, 1) for t in spans["start"]] + [(t, -1) for t in spans["end"]], key=lambda e: (e[0], e[1]))
    running = most = 0
    for _, change in events:
        running += change
        most = max(most, running)
    figures = {"trials": len(spans), "most_at_once": most,
               "span_s": round(float(spans["end"].max() - spans["start"].min()), 2)}
    if M.GPU_PEAK_MIB in results:
        peaks = results.groupby(M.TRIAL_ID)[M.GPU_PEAK_MIB].max()
        figures.update(peak_mib_min=round(float(peaks.min()), 1), peak_mib_max=round(float(peaks.max()), 1))
    figures["devices"] = sorted(results[M.DEVICE].unique().tolist())
    return figures


def _show_packed(f: dict) -> str:
    text = f"{f['trials']} trials, {f['most_at_once']} at once over {f['span_s']} s"
    if "peak_mib_max" in f:
        text += f", peak {f['peak_mib_min']:.0f}-{f['peak_mib_max']:.0f} MiB per trial"
    return text + f"; command {f['wall_s']:.1f} s"


WIDTHS = "50,100,200,300,400,500,600,800"


def mnist_60k(suite: Suite) -> Path:
    """A full-size MNIST folder (IDX files, as torchvision keeps them): the machine has no
    network, so its 60,000 / 10,000 images are the 5,000-image sample tiled."""
    from data_modules import load_dataset
    from data_modules.base import Split
    from data_modules.mnist import write_mnist_dir

    folder = suite.work / "mnist60k"
    if not folder.exists():
        sample = load_dataset("mnist")
        tile = lambda split, n: Split(split.x.repeat(-(-n // len(split.y)), 1, 1, 1)[:n],  # noqa: E731
                                      split.y.repeat(-(-n // len(split.y)))[:n])
        write_mnist_dir(folder, tile(sample.train, 60_000), tile(sample.test, 10_000))
    return folder


@part("packed", "8 mnist_width trials (60,000 rows, 10 epochs) at --gpus-per-trial 0.125: did Ray run them at "
      "once, peak memory per trial", 50, _show_packed, "8 at once", lambda f: f["most_at_once"] == 8)
def packed(suite: Suite, timeout: float) -> dict:
    argv = [PY, "-m", "sweeps.mnist_width", "--storage-path", str(suite.work), "--name", "packed",
            # 10 epochs: Ray starts the 8 trials a few tenths of a second apart, and 5 epochs of a
            # 60,000-row set took the first trial about 2 s (7 of 8 at once on the H200)
            *suite.pick(["--gpus-per-trial", "0.125", "--set", f"width={WIDTHS}", "--max-epochs", "10",
                         "--data-dir", str(mnist_60k(suite))],
                        ["--gpus-per-trial", "0", "--smoke-test"])]
    t0 = time.perf_counter()
    suite.command("packed", argv, timeout)
    return {**timeline(results_of(suite.work / "packed")), "wall_s": time.perf_counter() - t0}


def _show_idiom(f: dict) -> str:
    ours = ", ".join(f"{s:.1f}" for s in f["sweeplab_s"])
    theirs = "; ".join(f"idiom at {k} per trial {v:.1f} s ({f['ratio'][k]:.1f}x)" for k, v in f["idiom_s"].items())
    if "idiom_over_s" in f:
        cut = (f"idiom at {f['running']} per trial: over {f['idiom_over_s']:.0f} s when the suite's time ran out "
               f"(>= {f['ratio_at_least']:.1f}x)")
        theirs = f"{theirs}; {cut}" if theirs else cut
    return f"sweeplab {ours} s; {theirs}"


@part("vs_idiom", "`python -m sweeps.mnist_width` (default GPU share) vs the docs-idiom Tune process at 1 GPU per "
      "trial, 8 widths x 5 epochs on the 5k sample", 150, _show_idiom, ">= 10x the 1-GPU idiom (goal 30x)",
      lambda f: max(f.get("ratio", {}).get("1 GPU", 0), f.get("ratio_at_least", 0)) >= 10)
def vs_idiom(suite: Suite, timeout: float) -> dict:
    argv = [PY, str(BENCH / "sweep_vs_docs_idiom.py"),
            *suite.pick(["--shares", "1"], ["--widths", "50,100", "--epochs", "1"])]
    figures, error = json_figures(suite, "vs_idiom", argv, timeout)
    if error is not None and "running_since" in figures and figures["sweeplab_s"]:
        # cut short while the idiom ran: it took at least this long, a lower bound of the ratio
        figures["idiom_over_s"] = time.time() - figures.pop("running_since")
        figures["ratio_at_least"] = figures["idiom_over_s"] / min(figures["sweeplab_s"])
    elif error is not None:
        raise error
    return figures


# ----------------------------------------------------------------------------------------- running

def run_part(suite: Suite, p: Part, scale: float) -> dict:
    left = suite.deadline - time.monotonic()
    entry = {"name": p.name, "what": p.what, "target": p.target}
    limit = p.limit_s * scale
    if left < min(limit, 20):
        return {**entry, "status": "not run", "error": "the suite's time budget was spent", "seconds": 0}
    t0 = time.monotonic()
    try:
        figures = p.measure(suite, min(limit, left))
        entry.update(status="ok", figures=figures, result=p.show(figures))
        if suite.gpu and p.met is not None:
            entry["met"] = bool(p.met(figures))
    except subprocess.TimeoutExpired as e:
        entry.update(status="timeout", error=f"stopped after {e.timeout:.0f} s (its limit)")
    except Exception as e:  # noqa: BLE001 - the suite records any part's failure and goes on
        entry.update(status="failed", error=f"{type(e).__name__}: {e}".splitlines()[0])
    entry["seconds"] = round(time.monotonic() - t0, 1)
    print(f"{p.name}: {entry['status']} in {entry['seconds']} s: {entry.get('result') or entry.get('error')}", flush=True)
    return entry


def machine() -> dict:
    import torch

    facts = {"host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
             "torch": torch.__version__, "cuda": torch.version.cuda}
    for package in ("ray", "optuna"):
        try:
            facts[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            facts[package] = "missing"
    if torch.cuda.is_available():
        facts["gpu"] = torch.cuda.get_device_name(0)
        facts["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return facts


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [f"GPU suite on {m.get('gpu', 'the CPU (rehearsal)')}, torch {m['torch']} (CUDA {m['cuda']}), Ray {m['ray']}, "
             f"{m['cpus']} CPUs, {report['date']}; {report['seconds']:.0f} s in all", "",
             "| part | result | target | met | s |", "|---|---|---|---|---|"]
    for p in report["parts"]:
        result = p.get("result") or f"**{p['status']}**: {p.get('error', '')}"
        met = {True: "yes", False: "**no**"}.get(p.get("met"), "")
        lines.append(f"| {p['name']}: {p['what']} | {result.replace('|', '/')} | {p['target']} | {met} | {p['seconds']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--out", default=os.environ.get("OUT") or "gpu_suite", help="folder for the json, table and log")
    p.add_argument("--budget-s", type=float,
                   help="stop starting parts after this long (default: 250 on a GPU, none on the CPU)")
    p.add_argument("--only", help="comma-separated parts: " + ", ".join(x.name for x in PARTS))
    p.add_argument("--cpu-gpu-runs", metavar="STORAGE", help=argparse.SUPPRESS)  # the cpu_gpu part's own process
    args = p.parse_args(argv)
    if args.cpu_gpu_runs:
        return cpu_gpu_runs(args.cpu_gpu_runs, args.device == "cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is visible here; allowed: --device cpu")
    names = [x.name for x in PARTS]
    only = args.only.split(",") if args.only else names
    if unknown := [n for n in only if n not in names]:
        p.error(f"--only {','.join(unknown)}: unknown part; allowed: {', '.join(names)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budget = args.budget_s or (250 if args.device == "cuda" else 3600)
    start = time.monotonic()
    report = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "device": args.device, "budget_s": budget,
              "machine": machine(), "parts": []}
    # the CPU rehearsal runs toy sizes, but on a busy 2-core machine each still needs its minutes
    scale = 1.0 if args.device == "cuda" else 8.0
    with open(out / "gpu_suite.log", "w") as log, tempfile.TemporaryDirectory(prefix="gpu-suite-") as work:
        suite = Suite(args.device, Path(work), log, start + budget)
        for x in PARTS:
            if x.name in only:
                report["parts"].append(run_part(suite, x, scale))
                report["seconds"] = time.monotonic() - start
                (out / "gpu_suite.json").write_text(json.dumps(report, indent=1))
    report["seconds"] = time.monotonic() - start
    (out / "gpu_suite.json").write_text(json.dumps(report, indent=1))
    (out / "gpu_suite.md").write_text(table := markdown(report))
    print(table)
    return 0 if all(x["status"] == "ok" for x in report["parts"]) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # analysis and trainables, when run as a script from anywhere
    raise SystemExit(main())
