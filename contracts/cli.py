"""`ruralx contract …` subcommands."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

from core.config import Config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this package's subcommands to the `ruralx` parser."""
    contract = sub.add_parser("contract", help="contracts and their signatures")
    commands = contract.add_subparsers(dest="contract_cmd", required=True)
    verify = commands.add_parser(
        "verify",
        help="validate the signatures of a contract PDF against a trusted root",
        description="Prints the signature report as JSON (the same as GET "
        "/api/v1/contracts/{id}/verification); exits 1 when it is not valid.",
    )
    verify.add_argument("pdf", type=Path, help="the signed contract PDF")
    verify.add_argument(
        "--trust",
        type=Path,
        required=True,
        help="the platform root certificate (PEM), from GET /api/v1/ca/root.pem",
    )
    verify.add_argument("--at", help="validate at this ISO 8601 time instead of now")
    verify.set_defaults(func=_cmd_verify)


def _cmd_verify(_: Config, args: argparse.Namespace) -> int:
    from contracts.verify import load_trust_roots, verify_pdf

    # pyHanko explains every failed check at length on the log; the report says it all.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    logging.getLogger("pyhanko_certvalidator").setLevel(logging.CRITICAL)
    try:
        data = args.pdf.read_bytes()
        roots = load_trust_roots(args.trust.read_bytes())
    except (OSError, ValueError) as exc:
        print(f"错误：无法读取输入文件：{exc}", file=sys.stderr)
        return 2
    at = None
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            print(f"错误：--at 不是 ISO 8601 时间：{args.at}", file=sys.stderr)
            return 2
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    report = verify_pdf(data, roots, at=at)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    for s in report["signatures"]:
        mark = "✓" if s["valid"] else "✗"
        print(
            f"{mark} {s['field']}: {s.get('signer', '?')} {s.get('signed_at') or ''} "
            f"{s.get('modification_level') or ''} {s.get('error') or ''}".rstrip(),
            file=sys.stderr,
        )
    for name in report["unsigned_fields"]:
        print(f"✗ {name}: 未签署", file=sys.stderr)
    print("签名有效" if report["valid"] else "签名无效", file=sys.stderr)
    return 0 if report["valid"] else 1
