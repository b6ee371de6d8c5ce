"""Start and stop the Ray a sweep runs on, so that a small sweep pays for Ray as little as it can.

A local Ray started here prestarts one worker per CPU and has them import torch and our
trainables (about 2 s on a laptop core) while the driver builds the Tuner. Tune's trial actors
then take those warm workers instead of starting fresh processes. For that, Tune's actor class
must not carry a `runtime_env`: Tune gives it one only to set PL_DISABLE_FORK, and Ray starts a
new worker for any actor whose runtime_env differs from the prestarted workers'. On a local Ray
we set that variable in the environment the workers inherit and register the actor class
without a runtime_env. Joining a cluster (`--address`) changes nothing: its workers are started
by its own `ray start`, and Tune's runtime_env carries the variables Tune propagates (cloud
credentials among them) to the trials.
"""
from __future__ import annotations

import contextlib
import logging
import math
import os

from models.errors import UserError
from sweeps.runner import interrupt
from trainables.provenance import machine_cpus

# What a trial worker imports anyway, imported before it takes a trial.
WARM_MODULES = ("torch", "trainables.families")
LOOPBACK = "127.0.0.1"
_started_locally = False  # whether the Ray of this process was started here, on this machine


def start_ray(address: str | None = None, num_cpus: int | None = None, dashboard: bool = False) -> bool:
    """Start (or join) Ray unless it is already up; True when this call started it. A local Ray
    listens on loopback only (on_loopback_only), with warm workers (local_options); `dashboard`
    adds its dashboard."""
    global _started_locally
    import ray

    if ray.is_initialized():
        return False
    local = address is None and not os.environ.get("RAY_ADDRESS")
    options = {}
    _started_locally = local
    if local:
        for key, value in TUNE_ACTOR_ENV.items():  # inherited by the workers Ray prestarts
            os.environ.setdefault(key, value)
        options = local_options(num_cpus, dashboard)
    before = _child_processes()
    try:
        with on_loopback_only() if local else contextlib.nullcontext(), lean_head(local and not dashboard):
            context = ray.init(address=address, logging_level=logging.ERROR, configure_logging=True,
                               log_to_driver=True, **{"include_dashboard": False, **options})
    except BaseException:  # e.g. Ctrl-C half-way: ray.shutdown() knows nothing of what has started yet
        with interrupt.shielded(raise_after=False):
            _end_processes(_child_processes() - before)
        raise
    # Ray Tune (about 0.8 s of imports) only now: before ray.init it would delay the raylet, and
    # with it the workers' own imports that the first trials wait for.
    _no_callback_census()
    if local:
        _actors_without_runtime_env()
    if dashboard and local:
        print(f"dashboard: http://{context.dashboard_url} (this machine only; token: ray get-auth-token)", flush=True)
    return True


def local_options(num_cpus: int | None, dashboard: bool) -> dict:
    """ray.init options of a laptop sweep: the dashboard (if asked for) on 127.0.0.1, warm workers. Token
    authentication (every RPC and HTTP entry point asks for ~/.ray/auth_token) is Ray's default
    for a new local Ray since 2.59, unless RAY_AUTH_MODE says otherwise; setting the variable
    here would come too late for this process, whose Ray config is read at import."""
    if dashboard:
        check_dashboard()
    # Ray ends workers idle for 1 s by default: keep the warm ones until the first trials come.
    return {"num_cpus": num_cpus, "include_dashboard": dashboard,
            **({"dashboard_host": LOOPBACK} if dashboard else {}),
            "_system_config": {"preload_python_modules": list(WARM_MODULES),
                               "idle_worker_killing_time_threshold_ms": 60_000}}


@contextlib.contextmanager
def on_loopback_only():
    """A local Ray started inside listens on 127.0.0.1 only, every process of it: Ray's own
    default on macOS and Windows, where clusters are off (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0) and
    the node address is loopback. Otherwise Ray 2.60 binds its GCS, raylet, workers and metrics
    ports to all interfaces, and `_node_ip_address="127.0.0.1"` changes nothing (Ray replaces a
    loopback node address by the machine's routable one). The variable is set while Ray starts:
    in the environment its processes inherit, and in this process's constants, read at import.
    Both are restored after, so that a later `ray start` or `--address` here still joins clusters."""
    from ray._private import ray_constants

    name, before = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR, os.environ.get(ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR)
    enabled = ray_constants.ENABLE_RAY_CLUSTER
    os.environ[name], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = enabled
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


@contextlib.contextmanager
def lean_head(lean: bool):
    """While a local Ray starts without its dashboard: no API-server process, and no autoscaler
    monitor. Ray starts both on every head node (include_dashboard=False only trims the API
    server's modules) and waits up to seconds for the API server before it starts the raylet,
    whose workers then start importing torch; a laptop's single node has nothing to autoscale,
    and sweeplab talks to Ray only through its driver (no job submission, no state API). Both
    cost 1.2 s of a core and about 0.7 s of a first run's wall time here. Where this Ray version's
    Node is shaped differently, Ray starts as it would."""
    node_class = _node_class() if lean else None
    if node_class is None:
        yield
        return
    saved = {name: node_class.__dict__[name] for name in ("start_api_server", "start_monitor")}

    def no_api_server(self, *, include_dashboard, raise_on_failure):
        self._webui_url = None

    node_class.start_api_server, node_class.start_monitor = no_api_server, lambda self: None
    try:
        yield
    finally:
        for name, method in saved.items():
            setattr(node_class, name, method)


def _node_class():
    try:
        from ray._private.node import Node
    except ImportError:
        return None
    return Node if all(name in Node.__dict__ for name in ("start_api_server", "start_monitor")) else None


class DashboardMissing(UserError):
    """--dashboard without Ray's dashboard packages installed."""


def check_dashboard() -> None:
    from ray._private.utils import get_dashboard_dependency_error

    if get_dashboard_dependency_error() is not None:
        raise DashboardMissing("--dashboard needs Ray's dashboard packages; install them with "
                               "pip install -e '.[dashboard]' (or pip install 'ray[default]')")


def _child_processes() -> set:
    """This process's descendants; empty where they cannot be listed."""
    import psutil

    try:
        return set(psutil.Process().children(recursive=True))
    except psutil.Error:
        return set()


def _end_processes(processes: set) -> None:
    """Terminate, then kill, what a half-started Ray left: its agents would otherwise linger for
    a minute after the driver has gone (its GCS and raylet die with the driver)."""
    if not processes:
        return
    import psutil

    for p in processes:
        with contextlib.suppress(psutil.Error):
            p.terminate()
    _, alive = psutil.wait_procs(processes, timeout=3)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()


def cpus_for(trials: int, cpus_per_trial: float) -> int | None:
    """CPUs to give a local Ray: as many as the machine has (None: Ray detects them, container
    limits included), unless the trials could not use them all. Ray keeps one warm worker per
    CPU, each holding torch (about 0.3 GB), so 5 trials on a 16-core machine should not start 16."""
    if cpus_per_trial <= 0:
        return None
    needed = max(1, math.ceil(trials * cpus_per_trial))
    return needed if needed < machine_cpus() else None


def stop_ray() -> None:
    """ray.shutdown(), with the processes of a Ray started here ended in waves (_end_in_waves)
    instead of one after the other: 0.3 s in all (0.05 s of it the waves) where Ray's own way
    takes 1.1-1.7 s here."""
    import ray

    node = getattr(ray._private.worker, "_global_node", None)
    if _started_locally and node is not None and hasattr(node, "all_processes"):
        kill_all = node.kill_all_processes

        def kill_all_processes(*args, **kwargs):
            _end_in_waves(node.all_processes)
            kill_all(*args, **{**kwargs, "check_alive": False})  # reaps them; kills what is left

        node.kill_all_processes = kill_all_processes
    ray.shutdown()


# The order Ray itself ends them in (raylet first: it ends its workers; then GCS), but each wave at
# once. The autoscaler's monitor ignores SIGTERM until its second of grace runs out; a local Ray
# has nothing for it to scale or save, so it is killed.
WAVES = (("raylet", "dashboard", "log_monitor", "ray_client_server"), ("gcs_server",))
KILLED = ("monitor",)
WAVE_TIMEOUT_S = 1.0


def _end_in_waves(processes: dict) -> None:
    import time

    def of(types):
        return [info.process for kind in types for info in processes.get(kind, ()) if info.process.poll() is None]

    for process in of(KILLED):
        process.kill()
    for wave in WAVES:
        running = of(wave)
        for process in running:
            process.terminate()
        deadline = time.monotonic() + WAVE_TIMEOUT_S
        while any(p.poll() is None for p in running) and time.monotonic() < deadline:
            time.sleep(0.005)


# What Tune's trial actors would carry in their runtime_env (ray.tune.execution.class_cache's
# DEFAULT_ENV_VARS in Ray 2.60), set before ray.init, without importing Tune, for the workers to inherit.
TUNE_ACTOR_ENV = {"PL_DISABLE_FORK": "1"}


def _actors_without_runtime_env() -> None:
    """Register Tune's trial actor classes with no runtime_env, so that they may run in the
    prestarted (warm) workers. Tune's default variables are set in the environment instead
    (TUNE_ACTOR_ENV, before ray.init; any this Ray version adds reach the workers started later);
    if this Ray version's Tune is shaped differently, trials simply start their own workers as before."""
    try:
        from ray.tune.execution import class_cache
    except ImportError:
        return
    cache = getattr(class_cache, "_ActorClassCache", None)
    if cache is None or getattr(cache.get, "_sweeplab", False):
        return
    for key, value in getattr(class_cache, "DEFAULT_ENV_VARS", {}).items():
        os.environ.setdefault(key, value)
    import ray

    tune_get = cache.get
    plain: dict = {}

    def get(self, trainable_cls):
        if not _started_locally:  # joined a cluster later in this process: Tune's own way
            return tune_get(self, trainable_cls)
        if trainable_cls not in plain:
            plain[trainable_cls] = ray.remote(trainable_cls)
        return plain[trainable_cls]

    get._sweeplab = True
    cache.get = get


def _no_callback_census() -> None:
    """With usage stats off (as the runner sets them), Tune still counts our callbacks for them
    and, to name the built-in ones, imports its MLflow, W&B and Comet integrations: 1.6 s of
    every run's start where mlflow and wandb are installed, for a count that is never sent."""
    try:  # private modules: where this Ray version lacks them, Tune counts as it would
        from ray._common.usage.usage_lib import usage_stats_enabled
        from ray.air._internal import usage
    except ImportError:
        return
    if not usage_stats_enabled() and hasattr(usage, "tag_callbacks"):
        usage.tag_callbacks = lambda callbacks: False
