"""Reference-case step 6 through the HTTP API: after the 50-round auction the Chinese lease PDF is
generated, signed by the collective and the winner, verifies with `ruralx contract verify`
(and pyHanko's CLI) against the platform root, tampered copies fail; the loser's deposit is
refunded and the winner's credited to rent."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app import cli
from tests.integration.conftest import Exchange, make_exchange
from tests.integration.test_contracts import reach_deal
from tests.support import PASSWORD
from tests.unit.test_contract_signing import (
    PYHANKO,
    change_content,
    remove_signature,
    tamper_byte,
)


@pytest.fixture
async def exchange(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Exchange]:
    async with make_exchange(sqlite_url, tmp_path) as ex:
        yield ex


def ruralx_verify(pdf: Path, root: Path, at: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "app.cli",
            "contract",
            "verify",
            str(pdf),
            "--trust",
            str(root),
            "--at",
            at,
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


async def test_reference_case_contract_signed_and_verified(
    exchange: Exchange,
    tmp_path: Path,
) -> None:
    sold = await reach_deal(exchange, bids=50)
    deal = await exchange.http.ok("GET", f"/api/v1/listings/{sold.listing_id}/deal")
    assert (deal["final_fen"], deal["rounds"], deal["premium_rate"]) == (2_400_000, 50, "100.00")
    path = f"/api/v1/contracts/{sold.contract_id}"
    contract = await sold.village.ok("GET", path)
    assert contract["contract_value_fen"] == 24_000_000 and contract["state"] == "drafted"

    draft = (await sold.village.call("GET", f"{path}/pdf")).content
    (tmp_path / "draft.pdf").write_bytes(draft)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(tmp_path / "draft.pdf"), "-"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        flat = "".join(text.split())
        for phrase in (
            "农村产权流转交易租赁合同",
            "杏田村集体经济组织",
            "竞买人2",
            "贰万肆仟元整",
            "贰拾肆万元整",
            "2037年1月31日",  # signed after the publicity: the lease runs from 2027-02-01
            "240,000.00",
        ):
            assert phrase in flat, phrase
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "80",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                str(tmp_path / "draft.pdf"),
                str(tmp_path / "page"),
            ],
            check=True,
            timeout=60,
        )
        png = next(tmp_path.glob("page*.png"))
        assert png.stat().st_size > 20_000  # a page full of Chinese text, not a blank

    await sold.village.ok(
        "POST", f"{path}/sign", {"password": PASSWORD, "sha256": contract["pdf_sha256"]}
    )
    signed = await sold.winner.ok("POST", f"{path}/sign", {"password": PASSWORD})
    assert signed["state"] == "signed"
    report = await sold.regulator.ok("GET", f"{path}/verification")
    assert report["valid"] is True
    assert [s["signer"] for s in report["signatures"][:2]] == ["杏田村经办人", "竞买人2"]

    pdf, root = tmp_path / "signed.pdf", tmp_path / "root.pem"
    pdf.write_bytes((await sold.winner.call("GET", f"{path}/pdf")).content)
    root.write_bytes((await exchange.http.call("GET", "/api/v1/ca/root.pem")).content)
    at = exchange.clock.now().isoformat()
    ok = ruralx_verify(pdf, root, at)
    assert ok.returncode == 0, ok.stdout.decode() + ok.stderr.decode()
    broken = tmp_path / "tampered.pdf"
    broken.write_bytes(tamper_byte(pdf.read_bytes()))
    failed = ruralx_verify(broken, root, at)
    assert failed.returncode == 1, failed.stdout.decode()
    for breaker in (remove_signature, change_content):  # the same command, in process
        broken = tmp_path / f"{breaker.__name__}.pdf"
        broken.write_bytes(breaker(pdf.read_bytes()))
        args = ["contract", "verify", str(broken), "--trust", str(root), "--at", at]
        assert await asyncio.to_thread(cli.main, args) == 1, breaker.__name__
    if PYHANKO is not None:
        validated = subprocess.run(
            [
                PYHANKO,
                "sign",
                "validate",
                "--trust-replace",
                "--trust",
                str(root),
                "--validation-time",
                at,
                str(pdf),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert validated.returncode == 0, validated.stdout.decode() + validated.stderr.decode()

    # Step 6, money: the loser is refunded, the winner's deposit is credited to rent.
    await sold.reviewer.ok(
        "POST", f"/api/v1/listings/{sold.listing_id}/refunds", {"bank_batch": "REF-20261214"}
    )
    account = await sold.regulator.ok("GET", f"/api/v1/listings/{sold.listing_id}/settlement")
    assert account["balanced"] and {d["deposit_state"] for d in account["deposits"]} == {
        "refunded",
        "credited_to_rent",
    }
