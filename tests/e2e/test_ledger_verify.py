"""Real servers run the sequencer themselves; a regulator's export verifies offline with the
`ruralx ledger verify` command, and `ruralx ledger audit` accepts the whole log — on SQLite
with one worker, and on PostgreSQL with two workers sequencing concurrently."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveExchange, live_exchange
from tests.servers import RURALX, add_users, server_env
from tests.support import PASSWORD, SEED_TERMS

pytestmark = pytest.mark.slow


async def test_export_verifies_offline_sqlite(tmp_path: Path) -> None:
    async with live_exchange(tmp_path, redis=None, workers=1) as ex:
        await export_and_verify(ex, tmp_path)


@pytest.mark.postgres
@pytest.mark.redis
async def test_export_verifies_offline_postgres_two_workers(tmp_path: Path, redis_url: str) -> None:
    async with live_exchange(tmp_path, redis=redis_url, workers=2) as ex:
        await export_and_verify(ex, tmp_path)


def ruralx(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RURALX, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


async def export_and_verify(ex: LiveExchange, tmp_path: Path) -> None:
    env = server_env(ex.database_url, tmp_path / "data")
    await add_users(ex.database_url, [("regulator", "regulator", None)], PASSWORD)
    listing_id, bidders, _ = await ex.running_auction(bidders=2)
    price = SEED_TERMS["listing_price_fen"]
    for n in range(4):
        price += SEED_TERMS["increment_fen"]
        await bidders[n % 2].ok(
            "POST", f"/api/v1/auctions/{listing_id}/bids", {"amount_fen": price, "ref": f"e{n}"}
        )
    await ex.end_countdown(listing_id)  # the countdown runs out on the servers' own clock
    snap = await ex.anon.ok("GET", f"/api/v1/auctions/{listing_id}")
    assert snap["status"] == "ended"

    regulator = await ex.anon.login("regulator")
    key = (await ex.anon.call("GET", "/api/v1/ledger/key")).text.strip()
    bundle = await regulator.ok("GET", f"/api/v1/ledger/bundle?listing_id={listing_id}")
    types = [e["entry"]["type"] for e in bundle["entries"]]
    assert types.count("auction.bid") == 4 and "auction.ended" in types
    path = tmp_path / f"listing-{listing_id}.json"
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")

    offline = {k: v for k, v in os.environ.items() if not k.startswith("RURALX_")}
    offline["RURALX_DATABASE_URL"] = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    done = ruralx("ledger", "verify", str(path), "--key", key, env=offline)
    assert done.returncode == 0, done.stderr
    assert "通过" in done.stdout

    last = bundle["entries"][-1]["entry"]
    last["at"] = last["at"].replace("T", "t", 1)
    path.write_text(json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    done = ruralx("ledger", "verify", str(path), "--key", key, env=offline)
    assert done.returncode == 1 and f"第 {len(types)} 条记录" in done.stderr

    audit = ruralx("ledger", "audit", "--key", key, env=env)
    assert audit.returncode == 0, audit.stdout + audit.stderr
