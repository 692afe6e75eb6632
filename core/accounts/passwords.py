"""Password hashing with argon2id; the cost is configuration, tuned to the hardware."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput

MIN_PASSWORD = 8


class Passwords:
    """Hashes new passwords at the configured cost; verifies any hash at the cost it records."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 64 * 1024, parallelism: int = 4):
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Verified against when the username is unknown, so timing does not reveal who exists.
        self._dummy = self._hasher.hash("ruralx-no-such-user")

    def hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise InvalidInput("password.too_short", f"密码至少 {MIN_PASSWORD} 位")
        return self._hasher.hash(password)

    def check(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False


#: RFC 9106's second recommended option (argon2id, t=3, m=64 MiB).
DEFAULT_PASSWORDS = Passwords()
