"""The composition root: `create_app(config)` wires settings, database, clock and controllers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.static_files import create_static_files_router
from litestar.types import Receive, Scope, Send
from sqlalchemy import text

from app import fast_snapshot, pages, scheduler
from auction.admission import Admission
from auction.api import AuctionController
from auction.book import BidBook
from auction.live import SERVER_SEND, Hub, room
from auction.snapshots import Snapshots
from auction.timers import advance_due
from contracts import api as contracts_api
from contracts.hooks import on_deal
from core import openapi
from core.accounts import Passwords
from core.accounts.throttle import Budget, Throttle
from core.api import AuthController, BidderController, SettingsController, UserController
from core.bodies import checked_body
from core.clock import Clock, ControlledClock, SystemClock
from core.config import Config
from core.db import Database
from core.headers import security_headers
from core.hygiene import InputHygiene
from core.limits import RateLimiter
from core.notices import WebhookAdapter, adapter_from, policy_from
from core.notices.api import NoticeController
from core.problems import EXCEPTION_HANDLERS
from core.sessions import AuthMiddleware
from core.web import PUBLIC, Services, SignInCache, declares_access
from listings.api import ListingController
from listings.registration_api import (
    ListingRegistrationController,
    PaymentController,
    RegistrationController,
)
from oversight import api as oversight_api
from oversight import jobs as oversight_jobs

CONTROLLERS: list[Any] = [
    AuthController,
    BidderController,
    SettingsController,
    UserController,
    NoticeController,
    ListingController,
    ListingRegistrationController,
    RegistrationController,
    PaymentController,
    AuctionController,
    room,
    *contracts_api.CONTROLLERS,
    *oversight_api.CONTROLLERS,
]
APP_DIR = Path(__file__).parent


@get("/healthz", opt=PUBLIC, include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", opt=PUBLIC, include_in_schema=False)
async def readyz(state: State) -> dict[str, str]:
    svc: Services = state.services
    async with svc.db.read() as session:
        await session.execute(text("SELECT 1"))
    answer = {"status": "ready", "database": "ok"}
    hub: Hub = state.hub
    redis = getattr(hub.backend, "_redis", None)
    if redis is not None:
        await redis.ping()
        answer["redis"] = "ok"
    return answer


log = logging.getLogger("ruralx.main")


def budgets(config: Config) -> dict[str, Budget]:
    """How many failures each kind of throttle key allows (core/accounts/throttle.py)."""
    free = config.login_free_failures
    return {
        "login": Budget(free),  # an account, from one address
        "login-ip": Budget(4 * free),  # an address, whatever the account
        "sign": Budget(free),  # the contract-signing password of one signer
        "password": Budget(free),  # the current password when changing it
        "signup": Budget(
            config.signups_per_address,
            first_delay=timedelta(seconds=30),
            longest_delay=timedelta(hours=1),
            forget=timedelta(days=1),
        ),
    }


def server_clock(config: Config) -> Clock:
    """The wall clock, or in tests the clock file they move (`RURALX_TEST_CLOCK_FILE`)."""
    return ControlledClock(config.test_clock_file) if config.test_clock_file else SystemClock()


def build_services(config: Config, clock: Clock | None = None) -> Services:
    if config.test_clock_file and clock is None:
        log.warning("server time is read from the test clock %s", config.test_clock_file)
    db = Database(
        config.database_url,
        pool_size=config.db_pool_size,
        bid_pool_size=config.db_bid_pool_size,
    )
    clock = clock or server_clock(config)
    return Services(
        config=config,
        db=db,
        clock=clock,
        throttle=Throttle(db, clock, budgets(config)),
        passwords=Passwords(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib),
        sign_ins=SignInCache(config.sign_in_cache_seconds),
    )


def wire(app: Litestar, svc: Services) -> None:
    """Give the app a worker's services and what lives beside them: the live hub, the bid
    book, the snapshot feeds, the bid limiter. Everything the handlers use per request is
    here; the app itself holds only routes and settings that do not change while it runs."""
    config = svc.config
    hub = Hub.from_config(config.redis_url, config.redis_prefix)
    app.state.services = svc
    app.state.hub = hub
    app.state.bids = BidBook(svc.db, svc.clock, hub.publish, on_deal=[on_deal])
    app.state.snapshots = Snapshots(hub, svc.db, svc.now)
    app.state.bid_limiter = RateLimiter(config.bids_per_second, 1)
    app.state.admission = Admission(config.ws_connections_per_address)
    # A deactivated user, a reset or changed password: every worker forgets the sessions.
    hub.on("sessions-ended", lambda raw: svc.sign_ins.forget_user(int(raw)))
    svc.sign_ins.broadcast = lambda user_id: hub.announce("sessions-ended", b"%d" % user_id)


#: How often a worker looks for deals whose publicity ended or whose offer lapsed.
DEAL_SWEEP = timedelta(seconds=5)
#: Notices: delivery to the adapter; the 30-minute auction reminders; rent due and overdue
#: (a day's reminders, looked for hourly so a restart skips none).
NOTICE_SWEEP = timedelta(seconds=2)
REMINDER_SWEEP = timedelta(minutes=1)
RENT_SWEEP = timedelta(hours=1)


class Exchange(Litestar):
    """The Litestar app, which also keeps a websocket's own server `send` in its scope: the
    live rooms write their frames there, past the per-message wrappers (exception capture,
    `before_send` hooks) that only act on HTTP messages (auction.live). It answers the
    auction snapshot `GET` itself, before Litestar's stack (app.fast_snapshot)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        kind = scope["type"]
        if kind == "websocket":
            scope[SERVER_SEND] = send  # type: ignore[literal-required]
        elif kind == "http" and await fast_snapshot.answer(self, scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(
    config: Config | None = None,
    *,
    clock: Clock | None = None,
    services: Services | None = None,
    run_scheduler: bool = True,
) -> Litestar:
    """The exchange as an ASGI app. Given `services`, the caller owns (and disposes) them."""
    config = services.config if services else (config or Config.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        svc = services or build_services(config, clock)
        if services is None:
            wire(app, svc)
        hub: Hub = app.state.hub
        await hub.start()
        oversight_period = timedelta(milliseconds=config.oversight_interval_ms)
        oversight = oversight_jobs.JobContext.of(svc.config, svc.db, svc.clock)
        adapter, policy = adapter_from(config), policy_from(config)
        jobs: list[scheduler.Job] = [
            lambda: scheduler.close_due_registrations(svc, [on_deal]),
            lambda: advance_due(svc.db, app.state.bids, svc.clock),
            scheduler.every(DEAL_SWEEP, svc.now, lambda: scheduler.settle_due_deals(svc)),
            *[
                scheduler.every(oversight_period, svc.now, functools.partial(job, oversight))
                for job in oversight_jobs.JOBS
            ],
            scheduler.every(NOTICE_SWEEP, svc.now, scheduler.delivery(svc, adapter, policy)),
            scheduler.every(REMINDER_SWEEP, svc.now, lambda: scheduler.remind_auctions(svc)),
            scheduler.every(RENT_SWEEP, svc.now, lambda: scheduler.remind_rent(svc)),
        ]
        stop = asyncio.Event()
        task = (
            asyncio.create_task(scheduler.run(jobs, config.scheduler_interval_ms, stop))
            if run_scheduler
            else None
        )
        try:
            yield
        finally:
            stop.set()
            if task is not None:
                await task
            await hub.stop()
            if isinstance(adapter, WebhookAdapter):
                await adapter.close()
            if services is None:
                await svc.db.dispose()

    app = Exchange(
        route_handlers=[
            *CONTROLLERS,
            *pages.CONTROLLERS,
            healthz,
            readyz,
            create_static_files_router(
                path="/static",
                directories=[APP_DIR / "static"],
                opt=PUBLIC,
                include_in_schema=False,
            ),
        ],
        lifespan=[lifespan],
        middleware=[InputHygiene(), AuthMiddleware()],
        before_send=[security_headers],
        exception_handlers=EXCEPTION_HANDLERS,
        # No control characters in any text; exact JSON integers for money, on every route.
        before_request=checked_body,
        request_max_body_size=config.max_json_bytes,
        openapi_config=openapi.CONFIG,
        debug=False,
    )
    if services is not None:
        wire(app, services)  # usable without the lifespan (in-process tests)
    undeclared = [
        f"{route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if not declares_access(handler) and not route.path.startswith("/schema")
    ]
    if undeclared:
        raise RuntimeError(f"routes without an access declaration: {undeclared}")
    openapi.document_problems(app.routes)
    return app
