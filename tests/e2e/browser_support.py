"""Driving the pages in Debian's Chromium with Playwright: launch, screenshots on failure,
page helpers, and a TCP proxy that can cut a page's connection like a dropped network."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable
from tests.support import PASSWORD, RESOLUTION_PDF

CHROMIUM = os.environ.get("RURALX_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: Set RURALX_SCREENSHOTS=1 to keep screenshots of passing runs too (to look at the pages).
ALWAYS_SHOOT = os.environ.get("RURALX_SCREENSHOTS") == "1"


@dataclass
class Browser:
    """A test's view of Chromium: the contexts it opened, each page of which is screenshotted
    if the test fails, and closed when the test ends."""

    browser: Any
    name: str
    pages: list[tuple[str, Any]] = field(default_factory=list)
    contexts: list[Any] = field(default_factory=list)

    async def page(
        self, label: str, *, width: int = 1280, height: int = 900, bypass_csp: bool = False
    ) -> Any:
        """A page in a context of its own. `bypass_csp` lets a test inject its own script
        (tests/e2e/axe.py), which the pages' Content-Security-Policy would block."""
        context = await self.browser.new_context(
            viewport={"width": width, "height": height},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            bypass_csp=bypass_csp,
        )
        self.contexts.append(context)
        context.set_default_timeout(15_000)
        page = await context.new_page()
        page.on("pageerror", lambda exc: print(f"[{label}] page error: {exc}"))
        self.pages.append((label, page))
        return page

    async def close(self) -> None:
        for context in self.contexts:
            with contextlib.suppress(Exception):
                await context.close()

    async def shoot(self, suffix: str) -> None:
        """Screenshots of every page at a step the test names, taken only with
        RURALX_SCREENSHOTS=1: each full-page shot costs Chromium a second or so on a busy
        machine, and a failing test gets its own of every page anyway (`chromium`)."""
        if ALWAYS_SHOOT:
            await self.save(suffix)

    async def save(self, suffix: str) -> None:
        """Screenshots of every page as it stands, in tests/artifacts/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for label, page in self.pages:
            with contextlib.suppress(Exception):
                await page.screenshot(
                    path=str(ARTIFACTS / f"{self.name}-{label}-{suffix}.png"),
                    full_page=True,
                    timeout=5_000,
                )


#: The marks of a module of browser tests. Its tests run on the session's event loop, the one
#: the worker's Chromium (`worker_chromium`, tests/e2e/conftest.py) was launched on.
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures("worker_chromium"),
]


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, under Playwright; closed on exit."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        unavailable("Chromium", f"{CHROMIUM} not found (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:  # pragma: no cover - dev dependency
        unavailable("Playwright", exc)
        raise
    async with async_playwright() as p:
        raw = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield raw
        finally:
            await raw.close()


@contextlib.asynccontextmanager
async def chromium(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """Chromium for one test; screenshots of every page go to tests/artifacts/ on failure.

    A test marked with BROWSER_TESTS borrows its worker's Chromium: starting Playwright and
    Chromium costs seconds, a context milliseconds, and contexts share no cookies, storage or
    cache. Its contexts close when it ends. Any other test launches a Chromium of its own."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    async with contextlib.AsyncExitStack() as stack:
        shared = None
        if "worker_chromium" in request.fixturenames:
            shared = request.getfixturevalue("worker_chromium")
        if shared is None or not shared.is_connected():
            shared = await stack.enter_async_context(launched())
        browser = Browser(shared, name)
        try:
            yield browser
        except BaseException:
            await browser.save("failure")
            raise
        else:
            await browser.shoot("end")
        finally:
            await browser.close()


# ----- page helpers --------------------------------------------------------------------


async def login(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.get_by_label("用户名或手机号").fill(username)
    await page.get_by_label(re.compile(r"^密码")).fill(password)
    await page.get_by_role("button", name="登录", exact=True).click()
    await page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


async def sign_up(page: Any, base: str, name: str, id_number: str, mobile: str) -> None:
    await page.goto(f"{base}/signup")
    await page.get_by_label("姓名或单位名称").fill(name)
    await page.get_by_label("证件号码").fill(id_number)
    await page.get_by_label("手机号码").fill(mobile)
    await page.get_by_label(re.compile(r"^密码")).fill(PASSWORD)
    await page.get_by_label("再次输入密码").fill(PASSWORD)
    await page.get_by_role("button", name="注册并登录").click()
    await page.wait_for_url(re.compile(r"/me/registrations"))


# ----- a cuttable connection ---------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:port → the server; `cut()` drops every connection (and refuses new
    ones) as a lost network would, `restore()` lets connections through again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.down = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for task in (
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    def cut(self) -> None:
        self.down = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.down = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def fill_resolution(page: Any) -> None:
    """On the entrustment form: the reference case's village resolution (四议两公开) and its
    document, as the village official types and attaches them."""
    await page.get_by_label("会议类型").select_option("representatives_meeting")
    await page.get_by_label("会议日期", exact=True).fill("2026-11-10")
    await page.get_by_label("应到人数（户数）").fill("30")
    await page.get_by_label("实到人数（户数）").fill("27")
    await page.get_by_label("同意票数").fill("25")
    await page.get_by_label("反对票数").fill("1")
    await page.get_by_label("弃权票数").fill("1")
    await page.get_by_label("决议公示开始日期").fill("2026-11-11")
    await page.get_by_label("决议公示结束日期").fill("2026-11-17")
    await page.get_by_label("村民（代表）会议决议（四议两公开）").set_input_files(
        files=[
            {
                "name": "村民代表会议决议.pdf",
                "mimeType": "application/pdf",
                "buffer": RESOLUTION_PDF,
            }
        ]
    )


def port_of(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1])
