"""The `ruralx` command: serve, migrate, manage users, verify exports."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import os
import sys
from collections.abc import Sequence

from sqlalchemy import select

from app import migrate
from contracts import cli as contracts_cli
from core.clock import SystemClock
from core.config import Config
from core.db import Database
from core.errors import DomainError, NotFound
from oversight import cli as oversight_cli


def _cmd_migrate(config: Config, _: argparse.Namespace) -> int:
    migrate.upgrade(config.database_url)
    print("数据库已迁移到最新版本")
    return 0


def _cmd_run(config: Config, args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app

    if not args.no_migrate:
        migrate.upgrade(config.database_url)
    if args.demo:
        from app import demo
        from app.main import server_clock

        seeded = asyncio.run(demo.seed(config, server_clock(config)))
        print("\n" + demo.guide(seeded, _base_url(args.host, args.port)) + "\n", flush=True)
    # Behind nginx the client address comes from X-Forwarded-For, trusted from the configured
    # proxies only (deploy/local-up: loopback); the embedded profile trusts nobody's header.
    trusted = [p.strip() for p in config.trusted_proxies.split(",") if p.strip()]
    app = create_app(config)
    # The program is loaded (tens of thousands of long-lived objects: modules, the PDF
    # signer, the app): leave them out of the cyclic collector's walks, which otherwise go
    # through all of them on every full collection while requests allocate.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        ws="websockets-sansio",
        # Room frames are a few hundred bytes: deflating each costs both ends more CPU than
        # the bytes it saves.
        ws_per_message_deflate=False,
        # The largest legitimate client frame is a bid: a 15 MB frame is refused unread.
        ws_max_size=config.ws_max_frame_bytes,
        # A peer that stops answering protocol pings is dropped (idle timeout).
        ws_ping_interval=20,
        ws_ping_timeout=20,
        # One log line per request costs the worker more than many requests do; nginx keeps
        # the access log in the production profile (RURALX_ACCESS_LOG=1 turns this one on).
        access_log=config.access_log,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
    return 0


def _base_url(host: str, port: int) -> str:
    """The address to open in a browser: a server listening everywhere is reached locally."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _cmd_user_add(config: Config, args: argparse.Namespace) -> int:
    from core.accounts import NewUser, Passwords, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码: ")

    async def go() -> None:
        db = Database(config.database_url)
        try:
            async with db.write() as session:
                user = await add_user(
                    session,
                    NewUser(
                        username=args.name,
                        role=args.role,
                        password=password,
                        display_name=args.display_name or args.name,
                        region_path=args.region,
                    ),
                    actor="cli",
                    now=SystemClock().now(),
                    passwords=Passwords(
                        time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib
                    ),
                )
                print(f"已创建用户 {user.username}（{user.role}），id={user.id}")
        finally:
            await db.dispose()

    asyncio.run(go())
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("新密码: ")


def _cmd_user_care(config: Config, args: argparse.Namespace) -> int:
    """`ruralx user passwd|deactivate|activate NAME`: an administrator's care of an account
    at the command line; the workers are told through Redis (else within their sign-in
    cache's few seconds) that the account's sessions have ended."""
    from auction.live import Hub
    from core import accounts
    from core.accounts import Passwords, User

    password = _read_password(args) if args.user_cmd == "passwd" else ""
    if args.user_cmd == "passwd" and len(password) < 8:
        print("错误（user.password）：密码至少 8 位", file=sys.stderr)
        return 2

    async def go() -> None:
        db = Database(config.database_url)
        try:
            async with db.write() as session:
                user = await session.scalar(select(User).where(User.username == args.name))
                if user is None:
                    raise NotFound("user.not_found", f"用户 {args.name} 不存在")
                now = SystemClock().now()
                if args.user_cmd == "passwd":
                    passwords = Passwords(
                        time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib
                    )
                    await accounts.reset_password(
                        session, None, user.id, password, now=now, passwords=passwords
                    )
                else:
                    active = args.user_cmd == "activate"
                    await accounts.set_active(session, None, user.id, active, args.reason, now=now)
            if config.redis_url:
                hub = Hub.from_config(config.redis_url, config.redis_prefix)
                await hub.start()
                try:
                    await hub.announce("sessions-ended", b"%d" % user.id)
                finally:
                    await hub.stop()
            done = {"passwd": "密码已重置", "deactivate": "已停用", "activate": "已启用"}
            print(f"用户 {user.username}：{done[args.user_cmd]}")
        finally:
            await db.dispose()

    asyncio.run(go())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ruralx", description="农村产权流转交易平台")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="migrate if needed and serve")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument(
        "--demo",
        action="store_true",
        help="seed the demo (first start) and a listing auctioned within 5 minutes (every start)",
    )
    run.add_argument(
        "--no-migrate",
        action="store_true",
        help="skip migrations (a rollout runs `ruralx migrate` once beforehand)",
    )
    run.set_defaults(func=_cmd_run)
    sub.add_parser("migrate", help="upgrade the schema").set_defaults(func=_cmd_migrate)
    user = sub.add_parser("user", help="manage users").add_subparsers(
        dest="user_cmd", required=True
    )
    add = user.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument(
        "--role", required=True, choices=["bidder", "village", "reviewer", "regulator", "admin"]
    )
    add.add_argument("--region", help="省/市/县(区)/乡镇/村, created when missing")
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true")
    add.set_defaults(func=_cmd_user_add)
    passwd = user.add_parser("passwd", help="set a new password; the user's sessions end")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    passwd.set_defaults(func=_cmd_user_care)
    for command, text in (("deactivate", "deactivate a user"), ("activate", "reactivate")):
        care = user.add_parser(command, help=text)
        care.add_argument("name")
        care.add_argument("--reason", required=True)
        care.set_defaults(func=_cmd_user_care)
    contracts_cli.register(sub)
    oversight_cli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Whatever the exchange writes (the SQLite database, documents, keys, contracts) holds ID
    # numbers, phones and password hashes: readable by its own user only.
    os.umask(0o077)
    config = Config.from_env()
    try:
        return int(args.func(config, args))
    except DomainError as exc:
        print(f"错误（{exc.code}）：{exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUTF8", "1")
    raise SystemExit(main())
