"""cluster.yaml is a valid Ray cluster config (Ray's own schema) and exposes nothing: dashboard on
loopback, token authentication on every node, SSH only from a CIDR the user sets, no Ray port
open to the world."""
from pathlib import Path

import pytest
import yaml

CLUSTER = Path(__file__).resolve().parent.parent / "cluster.yaml"
RAY_PORTS = (6379, 8265, 10001)


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load(CLUSTER.read_text())


def test_valid_under_rays_cluster_schema(config):
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(dict(config)))  # raises jsonschema.ValidationError on any unknown or bad field


def test_rays_schema_check_is_real(config):
    import jsonschema
    from ray.autoscaler._private.util import prepare_config, validate_config

    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config({**config, "head_start_ray_command": ["typo"]}))


def test_dashboard_on_loopback_and_token_auth_on_every_node(config):
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    ray_starts = [c for c in starts if "ray start" in c]
    assert len(ray_starts) == 2 and all(c.startswith("RAY_AUTH_MODE=token ") for c in ray_starts)
    head = next(c for c in config["head_start_ray_commands"] if "--head" in c)
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"


def test_only_ssh_is_reachable_and_only_from_a_set_cidr(config):
    rules = config["provider"]["security_group"]["IpPermissions"]
    for rule in rules:
        cidrs = [r["CidrIp"] for r in rule.get("IpRanges", [])]
        ports = range(rule["FromPort"], rule["ToPort"] + 1)
        assert not any(p in ports for p in RAY_PORTS), rule
        assert "0.0.0.0/0" not in cidrs and not rule.get("Ipv6Ranges"), rule
    assert [(r["FromPort"], r["ToPort"]) for r in rules] == [(22, 22)]
