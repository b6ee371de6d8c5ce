"""What a laptop sweep exposes: the listening sockets of every process of a running sweep, with
and without --dashboard, and Ray's token authentication. Asserted: every socket of every process
(GCS, raylet, workers, agents, metrics, the driver) is on loopback; the dashboard's page only with
--dashboard, and it refuses a request without the token; the GCS refuses a client without the
token (and answers one with it); nothing but Ray's own processes listens. Printed (pytest -s):
every socket seen. Without sweeps.runner.ray_session.on_loopback_only, Ray 2.60 binds the GCS, raylet,
workers and metrics ports to all interfaces."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.fault_helpers import descendants, toy_sweep, wait
from tests.test_interrupt import starts_a_sweep

LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}  # the last: IPv4 loopback on an IPv6 socket
DASHBOARD_PORT = 8265  # Ray's default, the one --dashboard gets on a machine without another Ray
# Every kind of process a local Ray runs; anything else listening would be ours or a stranger.
RAY_PROCESSES = ("sweep driver", "gcs_server", "raylet", "ray ", "ray::")
GCS_PROBE = """
import sys
from ray._raylet import GcsClient
try:
    GcsClient(address=sys.argv[1]).internal_kv_get(b"probe", None, timeout=10)
    print("ANSWERED")
except Exception as e:
    print("REFUSED", type(e).__name__, str(e).splitlines()[0])
"""


def label(process) -> str:
    """"sweep driver", a Ray binary (gcs_server, raylet), "ray <script>" for Ray's Python
    processes (dashboard.py, ...), or the process title Ray gives its workers and agents."""
    cmd = process.cmdline()
    joined = " ".join(cmd)
    if "sweeps.toy2d" in joined:
        return "sweep driver"
    ray_script = next((os.path.basename(a) for a in cmd[1:4] if f"{os.sep}ray{os.sep}" in a and a.endswith(".py")), None)
    if ray_script:
        return f"ray {ray_script}"
    return os.path.basename(cmd[0]) if cmd else process.name()


def listening_sockets(sweep) -> list[tuple[str, str, int]]:
    """(process, address, port) of every listening TCP socket of the sweep's processes."""
    import psutil
    import ray  # noqa: F401  (puts the psutil that Ray ships on sys.path)

    found = []
    for p in [psutil.Process(sweep.proc.pid), *descendants(sweep.proc.pid)]:
        try:
            found += [(label(p), c.laddr.ip, c.laddr.port) for c in p.net_connections(kind="inet")
                      if c.status == psutil.CONN_LISTEN]
        except psutil.Error:
            continue
    return sorted(found)


def gcs_probe(address: str, **env: str) -> str:
    done = subprocess.run([sys.executable, "-c", GCS_PROBE, address], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})
    return done.stdout.strip()


def http_status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.ray
@starts_a_sweep
@pytest.mark.parametrize("dashboard", [False, True])  # the test extra installs the dashboard's packages
def test_a_laptop_sweep_listens_where_we_say_and_asks_for_the_token(tmp_path, dashboard):
    # 40 epochs, every row shown: still training while the probes run; Ctrl-C ends it
    flags = ["--smoke-test", "--max-epochs", "40", "--progress-every", "0", *(["--dashboard"] if dashboard else [])]
    sweep = toy_sweep(tmp_path / "results", *flags)
    wait(lambda: re.search(r"epoch +2/", sweep.output), "a trial's second epoch", sweep)
    sockets = listening_sockets(sweep)
    print(f"\nlistening during a sweep{' with --dashboard' if dashboard else ''}:\n" +
          "\n".join(f"  {name:<28} {ip}:{port}" for name, ip, port in sockets))
    url = re.search(r"^dashboard: (http://\S+)", sweep.output, re.M)
    statuses = {}
    if dashboard:
        secret = open(os.path.expanduser("~/.ray/auth_token")).read().strip()
        statuses = {"no token": http_status(f"{url.group(1)}/api/version"),
                    "token": http_status(f"{url.group(1)}/api/version", secret)}
    gcs_port = next(port for name, _, port in sockets if name == "gcs_server")
    refused = gcs_probe(f"127.0.0.1:{gcs_port}", RAY_AUTH_MODE="disabled")
    wrong = gcs_probe(f"127.0.0.1:{gcs_port}", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="not-the-token")
    right = gcs_probe(f"127.0.0.1:{gcs_port}", RAY_AUTH_MODE="token")  # reads ~/.ray/auth_token, as the sweep did
    assert sweep.proc.poll() is None, sweep.output  # every probe met a running sweep
    sweep.ctrl_c()
    sweep.finish()
    print(f"GCS without token: {refused}\nGCS with a wrong token: {wrong}\nGCS with the token: {right}\n"
          f"dashboard: {url.group(1) if url else '-'} {statuses}")

    assert refused.startswith("REFUSED") and "InvalidAuthToken" in refused
    assert wrong.startswith("REFUSED") and right == "ANSWERED"
    assert all(name.startswith(RAY_PROCESSES) for name, _, _ in sockets), sockets
    assert [s for s in sockets if s[1] not in LOOPBACK] == []
    if dashboard:
        port = int(url.group(1).rsplit(":", 1)[1])
        assert url.group(1).startswith("http://127.0.0.1:")
        assert [(name, ip) for name, ip, p in sockets if p == port] == [("ray dashboard.py", "127.0.0.1")], sockets
        assert statuses == {"no token": 401, "token": 200}
    else:  # no API server at all without --dashboard (ray_session.lean_head): no page, no port
        assert url is None and DASHBOARD_PORT not in {port for _, _, port in sockets}, sockets


# The sweep with Ray's dashboard packages hidden (aiohttp, the first of them, made unimportable),
# as on an install without the dashboard extra: the test extra installs it for the case above.
WITHOUT_DASHBOARD_PACKAGES = ("import runpy, sys; sys.modules['aiohttp'] = None; "
                              "runpy.run_module('sweeps.toy2d', run_name='__main__', alter_sys=True)")


def test_dashboard_without_the_extra_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-c", WITHOUT_DASHBOARD_PACKAGES, "--smoke-test", "--dashboard",
                           "--storage-path", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "pip install -e '.[dashboard]'" in errors[0] and "Traceback" not in done.stderr
    assert not list(tmp_path.iterdir())  # before Ray, before any results folder
