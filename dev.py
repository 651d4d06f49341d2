#!/usr/bin/env python3
"""Set-up in one command, with nothing but Python >= 3.11 and git.

    python3 dev.py run     install everything, start the registry with demo data
                           on an embedded PostgreSQL: http://127.0.0.1:8000
    python3 dev.py test    install everything, run the whole test suite

Extra arguments go to `registry serve` or to pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def sh(*cmd: str | Path, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def install(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed")
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    marker = f"{extras}:{(ROOT / 'pyproject.toml').stat().st_mtime_ns}"
    if STAMP.exists() and STAMP.read_text() == marker:
        return
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    sh(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target, cwd=ROOT)
    STAMP.write_text(marker)


def browser() -> None:
    """Debian's chromium and chromium-driver for the browser tests (root only)."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.name != "nt" and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        sh("apt-get", "update", "-qq", env=env)
        sh("apt-get", "install", "-y", "-qq", "chromium", "chromium-driver", env=env)
    else:
        print("note: chromium and chromium-driver are missing; browser tests will be skipped", flush=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        install("")
        os.execv(BIN / "registry", [str(BIN / "registry"), "serve", "--demo", *rest])
    install("test")
    browser()
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
