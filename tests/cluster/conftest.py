"""The local cluster (deploy/local-cluster) for the end-to-end tests marked ``cluster``.

The session brings the cluster up and takes it down at the end. ``CLUSTER_KEEP=1``
leaves it running afterwards (and reuses one already running).
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.cluster.client import Cluster

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "local-cluster"


def run_script(*args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"deploy/local-cluster {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return result


@pytest.fixture(scope="session")
def cluster():
    up = run_script("up", timeout=900)
    print(up.stdout)
    secrets = dict(
        line.split("=", 1)
        for line in (ROOT / "var" / "cluster" / "secrets.env").read_text().splitlines()
        if "=" in line
    )
    yield Cluster(root=ROOT, secrets=secrets, run=run_script)
    if os.environ.get("CLUSTER_KEEP") != "1":
        run_script("down", timeout=300)
