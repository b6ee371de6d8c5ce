"""What each trial asks Ray for, and whether a node of the Ray the sweep runs on can ever grant it.

Ray queues a request no node can meet for ever (its autoscaler repeats "No available node types
can fulfill resource request" every 35 s), so the runner refuses such a request before any trial
starts. A local Ray is judged before it starts, by the CPUs and GPUs Ray will detect on this
machine; a running Ray (joined with --address) by its live nodes plus, for an autoscaling
cluster, the node types its autoscaler may add, when Ray publishes them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Mapping

from analysis.results.arguments import UsageError
from sweeps.runner.plan import point_label
from trainables.cost import CUDA_CONTEXT_BYTES
from trainables.metrics import MEMBERS


@dataclass(frozen=True)
class Node:
    """A node (or node type) and the most it can ever grant one trial."""

    label: str
    cpus: float
    gpus: float


def trial_bundle(config: Mapping[str, Any], cpus: float, gpus: float) -> dict[str, float]:
    """The resources of one trial: GPUs only for trials that may use one (device auto or cuda)."""
    device = (config[MEMBERS][0] if MEMBERS in config else config).get("device", "auto")
    return {"CPU": cpus, "GPU": 0 if device == "cpu" else (gpus or (1 if device == "cuda" else 0))}


def trial_bundles(points: list[Mapping[str, Any]], cpus: float, gpus: float) -> list[dict[str, float]]:
    """The distinct bundles the plan's trials will ask for."""
    distinct = {tuple(trial_bundle(p, cpus, gpus).items()) for p in points}
    return [dict(b) for b in sorted(distinct)]


def local_gpus() -> int:
    """GPUs a local Ray started here will detect (Ray's own detection, CUDA_VISIBLE_DEVICES included)."""
    try:
        from ray._private.accelerators import get_accelerator_manager_for_resource

        manager = get_accelerator_manager_for_resource("GPU")
        count = manager.get_current_node_num_accelerators()
        visible = manager.get_current_process_visible_accelerator_ids()
        return min(count, len(visible)) if visible is not None else count
    except Exception:  # a Ray without that module: torch sees the same GPUs
        import torch

        return torch.cuda.device_count()


def running_ray_nodes() -> tuple[list[Node], str]:
    """(live nodes + the autoscaler's node types, which of them were available)."""
    import ray

    live = [Node("live node", n["Resources"].get("CPU", 0), n["Resources"].get("GPU", 0)) for n in ray.nodes() if n.get("Alive")]
    types = autoscaler_node_types()
    if not types:
        return live, "its live nodes; it publishes no node types an autoscaler may add"
    return live + types, "its live nodes and the node types its autoscaler may add"


def autoscaler_node_types() -> list[Node]:
    """Node types an autoscaling cluster may add (from the cluster config Ray keeps in its GCS,
    as Ray Train reads it); empty for a fixed cluster or a Ray that does not publish them."""
    try:
        from ray._private.state import state

        config = state.get_cluster_config()
    except Exception:
        return []
    return nodes_of_cluster_config(config)


def nodes_of_cluster_config(config) -> list[Node]:
    """The node types of an autoscaler ClusterConfig that it may start (max_count 0: never)."""
    if config is None:
        return []
    return [Node(f"node type {g.name}", g.resources.get("CPU", 0), g.resources.get("GPU", 0))
            for g in config.node_group_configs if g.max_count != 0]


def _amount(value: float, unit: str) -> str:
    return f"{value:g} {unit}{'' if value == 1 else 's'}"


def _describe(nodes: list[Node]) -> str:
    """"2 x live node: 16 CPUs, 0 GPUs; node type gpu: 8 CPUs, 1 GPU" (identical nodes grouped)."""
    groups: dict[tuple, int] = {}
    for n in nodes:
        groups[(n.label, n.cpus, n.gpus)] = groups.get((n.label, n.cpus, n.gpus), 0) + 1
    return "; ".join(f"{f'{count} x ' if count > 1 else ''}{label}: {_amount(c, 'CPU')}, {_amount(g, 'GPU')}"
                     for (label, c, g), count in groups.items()) or "no live node"


def check_fits(bundles: list[dict[str, float]], nodes: list[Node], where: str) -> None:
    """Raise a one-line UsageError for the first bundle that no node can ever grant."""
    for b in bundles:
        cpus, gpus = b["CPU"], b["GPU"]
        if any(n.cpus >= cpus and n.gpus >= gpus for n in nodes):
            continue
        most_gpus = max((n.gpus for n in nodes if n.cpus >= cpus), default=None)
        most_cpus = max((n.cpus for n in nodes if n.gpus >= gpus), default=None)
        allowed = []
        if most_gpus is not None:
            allowed.append(f"--gpus-per-trial {most_gpus:g}" if most_gpus == 0 else f"--gpus-per-trial up to {most_gpus:g}")
        if most_cpus is not None:
            allowed.append(f"--cpus-per-trial up to {most_cpus:g}")
        asked = f"--cpus-per-trial {cpus:g}" + (f" --gpus-per-trial {gpus:g}" if gpus else "")
        raise UsageError(
            f"{asked}: each trial needs {_amount(cpus, 'CPU')} and {_amount(gpus, 'GPU')} on one node, and no node "
            f"of {where} can ever offer that ({_describe(nodes)}); allowed: {' or '.join(allowed) or 'fewer resources'}"
        )


def check_resources(points: list[Mapping[str, Any]], cpus: float, gpus: float | None, local_cpus: int) -> None:
    """Refuse resources the Ray of this run can never grant: the running Ray's, if one is up
    (joined with --address), else those of the local Ray about to start with `local_cpus` CPUs."""
    import ray

    if ray.is_initialized():
        nodes, which = running_ray_nodes()
        where = f"the running Ray (judged by {which})"
    else:
        nodes, where = [Node("this machine", local_cpus, local_gpus())], "the local Ray this sweep starts"
    check_fits(trial_bundles(points, cpus, gpus or 0), nodes, where)


def largest_trial(plan, data, activations: bool = True) -> tuple[int, dict[str, Any]]:
    """(estimated peak bytes, its first point) of the plan's most memory-hungry trial or fused
    population (trainables.cost: errs high; without `activations`, a quick lower bound)."""
    most, which, seen = 0, {}, set()
    for group in plan.trials(data):
        shape = (group[0].shape, len(group))  # seeds and learning rates change no byte
        if shape in seen:
            continue
        seen.add(shape)
        need = group[0].memory_bytes(len(group), activations)
        if need > most:
            most, which = need, group[0].point
    return most, which


def check_memory(plan, data, gpus_per_trial: float | None) -> None:
    """Refuse, before Ray starts, a trial whose estimated memory exceeds what it will have: its
    share of this machine's GPU (--gpus-per-trial), or this machine's memory. Trials that fit
    only by the estimate's margin still run; the GPU share's cap catches the rest in the trial
    (trainables.cost.within_gpu_share)."""
    import torch

    on_gpu = plan.gpu_available and torch.cuda.is_available() and gpus_per_trial != 0
    # a GPU share is small enough for activations to matter; the machine's memory is not
    need, point = largest_trial(plan, data, activations=on_gpu)
    label = point_label(plan, point)
    GiB = 2**30
    if on_gpu and trial_bundle(point, 1, gpus_per_trial or 1)["GPU"] > 0:
        total = torch.cuda.get_device_properties(0).total_memory
        share = min(gpus_per_trial or 1.0, 1.0)
        held = need - CUDA_CONTEXT_BYTES  # the share caps what the allocator holds; the context is apart
        if held > share * total:
            smallest = math.ceil(100 * held / total) / 100
            fix = (f"--gpus-per-trial {smallest:g} or more, or a smaller model or batch_size" if smallest <= 1
                   else "a smaller model or batch_size")
            raise UsageError(f"{label}: a trial needs about {held / GiB:.1f} GiB of GPU memory (weights, gradients, "
                             f"optimizer state, activations, data), more than its share holds ({share:g} of "
                             f"{total / GiB:.0f} GiB = {share * total / GiB:.1f} GiB); allowed: {fix}")
        return
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows knows neither: leave it to the trial
        return
    if need - CUDA_CONTEXT_BYTES > ram:
        raise UsageError(f"{label}: a trial needs at least {(need - CUDA_CONTEXT_BYTES) / GiB:.0f} GiB of memory "
                         f"(weights, gradients, optimizer state, data), more than this machine's {ram / GiB:.0f} GiB; "
                         "allowed: a smaller model or batch_size")
