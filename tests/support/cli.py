"""Run callflow's command-line entry points as a user does: a subprocess, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_module(
    module: str, *args: str, cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def callflow(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return run_module("controller.cli", *args, cwd=cwd)
