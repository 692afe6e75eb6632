"""Runtime configuration read from RURALX_* environment variables or a TOML file.

Exchange rules (notice periods, countdowns, …) are not here: they live in the database and
are edited by an administrator (see `core.settings`).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

DEFAULT_DATA_DIR = "var/data"


@dataclass(frozen=True, slots=True)
class Config:
    """Process configuration; every field maps to RURALX_<FIELD> in upper case."""

    #: SQLAlchemy URL: sqlite+aiosqlite:///path.db (embedded) or postgresql+asyncpg://…
    database_url: str = "sqlite+aiosqlite:///var/ruralx.db"
    #: Connections per worker to PostgreSQL (and as many again in bursts).
    db_pool_size: int = 10
    #: Connections per worker of the bid book's own asyncpg pool (the lone bid's statement):
    #: as many lots can commit at once, and PostgreSQL flushes their commits together.
    db_bid_pool_size: int = 20
    #: Redis URL for live fan-out between workers; empty → in-process channels.
    redis_url: str = ""
    #: Prefix of every Redis key and channel, so two exchanges can share one Redis.
    redis_prefix: str = "ruralx"
    #: Signs CSRF tokens and protects stored keys; from the environment, else DATA_DIR/secret-key.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    #: Shared secret of the bank's payment callbacks (HMAC-SHA256 of the raw body).
    #: Empty never verifies; unset in the environment → a random one kept in DATA_DIR.
    payment_secret: str = ""
    #: Documents, PDFs and key material.
    data_dir: str = DEFAULT_DATA_DIR
    #: Session lifetime.
    token_ttl_seconds: int = 12 * 3600
    #: How long a worker trusts a token it has resolved before looking it up again (0: never
    #: cache). A sign-out reaches the other workers within this time.
    sign_in_cache_seconds: int = 5
    #: Largest JSON body accepted; uploads have their own limit.
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    #: Failed sign-ins allowed per account and client address before each further attempt
    #: waits, doubling from 2 s up to 5 minutes (four times as many per address, for any
    #: account); the contract-signing password the same per signer. core/accounts/throttle.py.
    login_free_failures: int = 5
    #: Sign-ups per client address before each further one waits (30 s doubling, up to 1 h).
    signups_per_address: int = 10
    #: argon2id cost of new password hashes (RFC 9106: t=3, m=64 MiB); lower only for tests.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 64 * 1024
    #: Bids one bidder may send to one auction per second before `rate_limited`.
    bids_per_second: int = 5
    #: Largest websocket frame a client may send (a bid is about 150 bytes); larger ones end
    #: the connection (1009) before their payload is read.
    ws_max_frame_bytes: int = 4096
    #: Frames one websocket may send per second (bursts of twice as many) before it is
    #: closed with 4029; a bidder sends a bid or a clock ping now and then.
    ws_messages_per_second: int = 20
    #: Open websockets per client address and worker (nginx limits them across workers).
    #: Villages share addresses behind carrier NAT, so this is generous.
    ws_connections_per_address: int = 200
    #: Proxies whose X-Forwarded-For names the client (comma-separated addresses); empty:
    #: the connection's own address, whoever claims otherwise (the embedded profile).
    trusted_proxies: str = ""
    #: How often the in-process scheduler looks for due work (registration close, timers).
    scheduler_interval_ms: int = 500
    #: How often the oversight jobs (log sequencing, facts, warnings) run: they work in
    #: batches, so a hot auction's entries are taken in a few large runs, not many small ones.
    oversight_interval_ms: int = 2000
    #: Log every HTTP request from the worker itself (nginx logs them in production).
    access_log: bool = False
    #: Secure flag on cookies (on behind TLS in production).
    secure_cookies: bool = False
    #: A production deployment (deploy/local-up sets it): refuses the test-only settings below.
    production: bool = False
    #: Notices beyond the inbox: each is POSTed as JSON to this URL (an SMS gateway or a
    #: messaging bridge), signed with HMAC-SHA256 of the body under the secret; empty → the
    #: log adapter. docs/deploy.md "Notices".
    notice_webhook_url: str = ""
    notice_webhook_secret: str = ""
    #: Per request (connect, send, answer); a slower gateway counts as a failed attempt.
    notice_webhook_timeout_ms: int = 5000
    #: Test-only: server time read through `core.clock.ControlledClock` from this file, so
    #: end-to-end tests can jump over registration windows and countdowns.
    test_clock_file: str = ""

    def __post_init__(self) -> None:
        if self.production and self.test_clock_file:
            raise ValueError("RURALX_TEST_CLOCK_FILE is for tests; a production server refuses it")
        if self.notice_webhook_url and not self.notice_webhook_secret:
            raise ValueError("RURALX_NOTICE_WEBHOOK_URL needs RURALX_NOTICE_WEBHOOK_SECRET")
        if self.notice_webhook_url and not self.notice_webhook_url.startswith(
            ("https://", "http://")
        ):
            raise ValueError("RURALX_NOTICE_WEBHOOK_URL must be an http(s) URL")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """Build from RURALX_CONFIG (a TOML file) overlaid by RURALX_* variables."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        if path := env.get("RURALX_CONFIG"):
            values.update(tomllib.loads(Path(path).read_text(encoding="utf-8")))
        for f in fields(cls):
            raw = env.get(f"RURALX_{f.name.upper()}")
            if raw is None:
                continue
            if f.type in ("int", int):
                values[f.name] = int(raw)
            elif f.type in ("bool", bool):
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        data_dir = Path(str(values.get("data_dir", DEFAULT_DATA_DIR)))
        if "secret_key" not in values:
            values["secret_key"] = _persistent_secret(data_dir, "secret-key")
        if not values.get("payment_secret"):
            # No guessable default: until the bank is given a secret, nobody can forge one.
            values["payment_secret"] = _persistent_secret(data_dir, "payment-secret")
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _persistent_secret(data_dir: Path, name: str) -> str:
    """The secret every worker and every restart shares when none is configured.

    It signs CSRF tokens and protects stored key material (the CA, the checkpoint key), so
    a per-process random value would lock a restarted worker out of its own keys.
    """
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker created it first
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()
