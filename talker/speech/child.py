"""The process boundary around the GPL voices: Piper and espeak-ng run as ``python -m MODULE``
children of this interpreter, so nothing GPL is imported into the product's process. Both
backends start their children here, with the project on the child's ``PYTHONPATH``."""

from __future__ import annotations

import os
import subprocess
import sys

from ..paths import PROJECT_ROOT


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def start_module(module: str, *args: str, **popen_kwargs) -> subprocess.Popen:
    """A long-lived child (a worker that answers requests on its stdin/stdout)."""
    return subprocess.Popen([sys.executable, "-m", module, *args], env=_env(), cwd=str(PROJECT_ROOT),
                            **popen_kwargs)


def run_module(module: str, request: bytes, timeout: float) -> subprocess.CompletedProcess:
    """One request to a child that exits after answering; TimeoutExpired / OSError pass up."""
    return subprocess.run([sys.executable, "-m", module], input=request, capture_output=True, timeout=timeout,
                          env=_env(), cwd=str(PROJECT_ROOT))
