"""`ruralx ledger verify|audit`, `ruralx demo` (the county-sized generator) and
`ruralx stats rebuild` (the statistics' rollups summed afresh)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from core.config import Config
from core.ledger.verify import verify_bundle


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this package's subcommands to the `ruralx` parser."""
    ledger = sub.add_parser("ledger", help="the verifiable transaction log").add_subparsers(
        dest="ledger_cmd", required=True
    )
    verify = ledger.add_parser(
        "verify", help="verify an exported bundle offline (no database, no network)"
    )
    verify.add_argument("bundle", metavar="BUNDLE", help="the JSON file from /ledger/bundle")
    _key_option(
        verify, "the exchange's verifier key, or a file holding it (default: $RURALX_LEDGER_KEY)"
    )
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a signed checkpoint you already trust (must be consistent)",
    )
    verify.set_defaults(func=_cmd_verify)
    audit = ledger.add_parser("audit", help="re-verify the whole log and all checkpoints")
    _key_option(audit, "trusted verifier key (default: the exchange's own key file)")
    audit.set_defaults(func=_cmd_audit)
    demo = sub.add_parser("demo", help="fill the database with a realistic county (synthetic)")
    demo.add_argument("--listings", type=int, default=100_000)
    demo.add_argument("--seed", type=int, default=20261201)
    demo.set_defaults(func=_cmd_demo)
    stats = sub.add_parser("stats", help="regulator statistics").add_subparsers(
        dest="stats_cmd", required=True
    )
    stats.add_parser(
        "rebuild", help="sum the statistics' rollups afresh from the listing facts"
    ).set_defaults(func=_cmd_rebuild)


def _key_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--key PUBKEY`: a verifier key's text, or a file holding it (read by `_read_key`)."""
    parser.add_argument("--key", metavar="PUBKEY", help=help)


def _read_key(value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    if "+" not in value or path.is_file():
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SystemExit(f"无法读取公钥文件 {value}：{exc}") from None
    return value.strip()


def _cmd_verify(_: Config, args: argparse.Namespace) -> int:
    try:
        bundle = json.loads(Path(args.bundle).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"不通过：无法读取导出包 {args.bundle}：{exc}", file=sys.stderr)
        return 2
    key = _read_key(args.key) or os.environ.get("RURALX_LEDGER_KEY")
    untrusted = key is None
    if key is None:
        key = bundle.get("key") if isinstance(bundle, dict) else None
        if not isinstance(key, str):
            print("不通过：未提供公钥（--key）", file=sys.stderr)
            return 2
    trusted = None
    if args.checkpoint:
        try:
            trusted = Path(args.checkpoint).read_text(encoding="utf-8")
        except OSError as exc:
            print(f"不通过：无法读取检查点文件：{exc}", file=sys.stderr)
            return 2
    report = verify_bundle(bundle, key, trusted_checkpoint=trusted)
    if report.checkpoint is not None:
        cp = report.checkpoint
        print(
            f"检查点：{cp.origin}，日志大小 {cp.size}，根哈希 {cp.root_hash.hex()}"
            + (f"（{'; '.join(cp.extensions)}）" if cp.extensions else "")
        )
    if untrusted:
        print(
            "警告：未指定可信公钥，使用了导出包自带的公钥——只能证明文件自洽，不能证明出自交易所",
            file=sys.stderr,
        )
    if not report.ok:
        assert report.failure is not None
        print(f"不通过：{report.failure.describe()}", file=sys.stderr)
        return 1
    subjects = "，".join(f"{s} 共 {n} 条" for s, n in report.subjects.items()) or "无记录"
    print(f"通过：{report.entries} 条记录均包含在已签名的日志中，哈希链完整（{subjects}）")
    for note in report.notes:
        print(f"注意：{note}")
    return 0


def _cmd_audit(config: Config, args: argparse.Namespace) -> int:
    from core.db import Database
    from core.ledger import keys
    from core.ledger.audit import audit

    key = _read_key(args.key)
    if key is None:
        try:
            key = keys.load_signer(config.data_dir, config.secret_key).verifier_key
        except keys.CheckpointKeyError as exc:
            print(f"无法读取交易所公钥：{exc}；请用 --key 指定", file=sys.stderr)
            return 2

    async def go() -> int:
        db = Database(config.database_url)
        try:
            report = await audit(db, key)
        finally:
            await db.dispose()
        print(
            f"记录 {report.entries} 条（{report.subjects} 条链），"
            f"已入日志 {report.sequenced} 条，"
            f"待入日志 {report.unsequenced} 条；检查点 {report.checkpoints} 个"
        )
        if report.ok:
            print("通过：日志、全部检查点及其一致性、每条哈希链均验证无误")
            return 0
        for problem in report.problems:
            print(f"不通过：{problem}", file=sys.stderr)
        return 1

    return asyncio.run(go())


def _cmd_demo(config: Config, args: argparse.Namespace) -> int:
    from oversight.demo.generator import generate

    summary: dict[str, Any] = asyncio.run(generate(config, args.listings, seed=args.seed))
    for name, value in summary.items():
        print(f"{name}: {value}")
    return 0


def _cmd_rebuild(config: Config, _: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from core.db import Database
    from oversight.models import listing_rollups
    from oversight.stats import rollups

    async def go() -> int:
        db = Database(config.database_url)
        try:
            async with db.write() as session:
                await rollups.rebuild(session)
                cells = await session.scalar(select(func.count()).select_from(listing_rollups))
        finally:
            await db.dispose()
        print(f"统计汇总表已按挂牌事实重新汇总：{cells} 个汇总单元")
        return 0

    return asyncio.run(go())
