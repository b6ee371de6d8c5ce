"""Resources no node can ever grant are refused before any trial starts (Ray would queue the
trial for ever): the rule on node lists, the node types of an autoscaler's cluster config, and a
sweep that joins a running Ray (the session one) with --address."""
from __future__ import annotations

import pytest

from analysis.results.arguments import UsageError
from sweeps.runner.resources import Node, check_fits, nodes_of_cluster_config, running_ray_nodes, trial_bundles


def cluster_config(*groups: tuple[str, dict, int]):
    """An autoscaler ClusterConfig, as Ray keeps it in its GCS: (name, resources, max_count) per node type."""
    from ray.core.generated import autoscaler_pb2

    config = autoscaler_pb2.ClusterConfig()
    for name, resources, max_count in groups:
        group = config.node_group_configs.add(name=name, max_count=max_count)
        group.resources.update(resources)
    return config


def test_a_request_must_fit_on_one_node():
    nodes = [Node("live node", 16, 0), Node("node type gpu", 4, 1)]
    check_fits([{"CPU": 4, "GPU": 1}, {"CPU": 16, "GPU": 0}], nodes, "a cluster")  # each fits somewhere
    with pytest.raises(UsageError) as refused:  # 8 CPUs and a GPU exist, but never on one node
        check_fits([{"CPU": 8, "GPU": 1}], nodes, "a cluster")
    message = str(refused.value)
    assert message.startswith("--cpus-per-trial 8 --gpus-per-trial 1: each trial needs 8 CPUs and 1 GPU on one node")
    assert "live node: 16 CPUs, 0 GPUs; node type gpu: 4 CPUs, 1 GPU" in message
    assert message.endswith("allowed: --gpus-per-trial 0 or --cpus-per-trial up to 4")


def test_no_gpu_anywhere_allows_only_gpus_0():
    with pytest.raises(UsageError, match=r"this machine: 2 CPUs, 0 GPUs\); allowed: --gpus-per-trial 0$"):
        check_fits([{"CPU": 1, "GPU": 0.5}], [Node("this machine", 2, 0)], "the local Ray")


def test_cpu_trials_of_a_cpu_gpu_sweep_ask_for_no_gpu():
    points = [{"device": "cpu"}, {"device": "cuda"}, {"device": "auto"}]
    assert trial_bundles(points, 2, 0) == [{"CPU": 2, "GPU": 0}, {"CPU": 2, "GPU": 1}]
    assert trial_bundles(points, 1, 0.25) == [{"CPU": 1, "GPU": 0}, {"CPU": 1, "GPU": 0.25}]


def test_node_types_the_autoscaler_may_add():
    config = cluster_config(("cpu_head", {"CPU": 4}, 1), ("gpu_worker", {"CPU": 8, "GPU": 1}, 4),
                            ("disabled", {"CPU": 64, "GPU": 8}, 0))
    assert nodes_of_cluster_config(config) == [Node("node type cpu_head", 4, 0), Node("node type gpu_worker", 8, 1)]
    assert nodes_of_cluster_config(None) == []


@pytest.mark.ray
def test_a_joined_ray_is_judged_by_its_nodes_and_node_types(ray_session):
    import ray
    from ray._raylet import GCS_AUTOSCALER_CLUSTER_CONFIG_KEY, GCS_AUTOSCALER_STATE_NAMESPACE
    from ray.experimental import internal_kv

    nodes, which = running_ray_nodes()
    assert nodes == [Node("live node", 2, 0)] and "publishes no node types" in which
    key, namespace = GCS_AUTOSCALER_CLUSTER_CONFIG_KEY.encode(), GCS_AUTOSCALER_STATE_NAMESPACE.encode()
    internal_kv._internal_kv_put(key, cluster_config(("gpu_worker", {"CPU": 8, "GPU": 1}, 2)).SerializeToString(),
                                 namespace=namespace)
    try:
        nodes, which = running_ray_nodes()
    finally:
        internal_kv._internal_kv_del(key, namespace=namespace)
    assert Node("node type gpu_worker", 8, 1) in nodes and "node types its autoscaler may add" in which
    assert ray.is_initialized()


@pytest.mark.ray
def test_gpu_request_on_a_joined_ray_without_gpus_is_refused_before_any_trial(ray_session, tmp_path, capsys):
    from sweeps import mnist_width

    code = mnist_width.main(["--address", "auto", "--gpus-per-trial", "1", "--storage-path", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert "each trial needs 1 CPU and 1 GPU on one node, and no node of the running Ray" in err[0]
    assert "(live node: 2 CPUs, 0 GPUs); allowed: --gpus-per-trial 0" in err[0]
    assert not any(tmp_path.iterdir())  # no results folder: nothing ran
