"""Start real `ruralx` server processes for end-to-end tests, and stop what was started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RURALX = str(Path(sys.executable).with_name("ruralx"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RURALX_DATABASE_URL": database_url,
            "RURALX_DATA_DIR": str(data_dir),
            "RURALX_SECRET_KEY": "e2e-secret",
            "RURALX_PAYMENT_SECRET": "test-bank-secret",
            "RURALX_SCHEDULER_INTERVAL_MS": "200",
            "PYTHONUNBUFFERED": "1",
            "RURALX_BIDS_PER_SECOND": "100",
            "RURALX_ARGON2_TIME_COST": "1",
            "RURALX_ARGON2_MEMORY_KIB": "1024",
        }
    )
    env.update(extra)
    return env


def add_user(
    env: dict[str, str], name: str, role: str, password: str, region: str | None = None
) -> None:
    args = [RURALX, "user", "add", name, "--role", role, "--password-stdin"]
    if region:
        args += ["--region", region]
    subprocess.run(
        args, input=password + "\n", env=env, check=True, capture_output=True, text=True, timeout=60
    )


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    """Poll /readyz until the server answers; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"server at {url} not ready:\n{log.read_text()[-4000:]}")


@contextmanager
def running_server(env: dict[str, str], workdir: Path, *args: str) -> Iterator[Server]:
    port = free_port()
    log = workdir / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [RURALX, "run", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, log)
        yield Server(url, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
