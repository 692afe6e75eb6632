"""Start real `ruralx` server processes for end-to-end tests, and stop what was started."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from core import accounts
from core.accounts.passwords import Passwords
from core.clock import ControlledClock, SystemClock
from core.db import Database

ROOT = Path(__file__).resolve().parents[1]
RURALX = str(Path(sys.executable).with_name("ruralx"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerClock:
    """The servers' time, which the test may move: the file of `core.clock.ControlledClock`.

    Until moved it is the wall clock. `jump` moves every server at once (they re-read the file
    on their next look at the time), so no test waits out a registration window or a countdown.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader = ControlledClock(path)

    def now(self) -> datetime:
        return self._reader.now()

    def jump(self, delta: timedelta) -> datetime:
        """Move server time forward by `delta`; returns the new time."""
        if delta < timedelta(0):
            raise ValueError("server time only moves forward")
        wall_ns = time.time_ns()  # the instant the new setting counts from: no time is lost
        target = self._reader.now_at(wall_ns) + delta
        ControlledClock.write(self.path, target, wall_ns=wall_ns)
        return target

    def jump_to(self, at: datetime) -> datetime:
        """Move server time forward to `at`; if it is already later, leave it alone."""
        now = self.now()
        return self.jump(at - now) if at > now else now


def server_env(
    database_url: str, data_dir: Path, clock: ServerClock | None = None, **extra: str
) -> dict[str, str]:
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
            # Many sign-ups and sign-ins from 127.0.0.1 a minute; the limits have their own tests.
            "RURALX_LOGIN_FREE_FAILURES": "1000",
            "RURALX_SIGNUPS_PER_ADDRESS": "100000",
            "RURALX_ARGON2_TIME_COST": "1",
            "RURALX_ARGON2_MEMORY_KIB": "1024",
        }
    )
    if clock is not None:
        env["RURALX_TEST_CLOCK_FILE"] = str(clock.path)
    env.update(extra)
    return env


async def add_users(
    database_url: str, users: list[tuple[str, str, str | None]], password: str
) -> None:
    """Staff accounts (name, role, region) written straight to the database, as `ruralx user
    add` would (that command has its own test); a CLI process per user costs a second each."""
    db = Database(database_url)
    passwords = Passwords(time_cost=1, memory_kib=1024)
    try:
        async with db.write() as session:
            for name, role, region in users:
                await accounts.add_user(
                    session,
                    accounts.NewUser(name, role, password, name, region),
                    actor="test",
                    now=SystemClock().now(),
                    passwords=passwords,
                )
    finally:
        await db.dispose()


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
def running_servers(
    envs: list[dict[str, str]], workdir: Path, args: Sequence[str] = ()
) -> Iterator[list[Server]]:
    """`ruralx run [args]` once per environment, started together; stopped (SIGTERM) on exit."""
    started: list[Server] = []
    try:
        for env in envs:
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
            started.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in started:
            wait_ready(server.base_url, server.process, server.log)
        yield started
    finally:
        for server in started:
            server.process.terminate()
        for server in started:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


@contextmanager
def running_server(
    env: dict[str, str], workdir: Path, args: Sequence[str] = ()
) -> Iterator[Server]:
    with running_servers([env], workdir, args) as (server,):
        yield server
