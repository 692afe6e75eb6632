"""The lock file is what gets installed: uv.lock agrees with pyproject.toml, and the hashed
requirement files that `make run`/`make test` install are exactly its export (`make lock`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# uv is installed by the Makefile with the locked requirements, so it is always there.
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")

#: The export commands of the Makefile's `lock` target, file by file.
EXPORTS = {
    "requirements/dev.txt": ["--extra", "dev", "--group", "build"],
    "requirements/prod.txt": ["--group", "build"],
    "requirements/uv.txt": ["--only-group", "uv"],
}


def uv(*args: str) -> subprocess.CompletedProcess[str]:
    assert UV is not None, "uv is missing: run `make install`"
    return subprocess.run(
        [UV, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_lock_agrees_with_pyproject() -> None:
    checked = uv("lock", "--check", "--offline")
    assert checked.returncode == 0, checked.stderr + "\n(run `make lock`)"


@pytest.mark.parametrize("path", sorted(EXPORTS))
def test_the_installed_requirements_are_the_lock_exported(path: str) -> None:
    exported = uv(
        "export", "--frozen", "--no-emit-project", "--no-header", *EXPORTS[path], "--quiet"
    )
    assert exported.returncode == 0, exported.stderr
    committed = (ROOT / path).read_text()
    body = "".join(line for line in committed.splitlines(keepends=True) if not line.startswith("#"))
    assert body == exported.stdout, f"{path} is not uv.lock's export (run `make lock`)"
    assert "--hash=sha256:" in committed
