"""Who is acting: the authenticated user with the region they answer for."""

from __future__ import annotations

from dataclasses import dataclass

from core.accounts.models import STAFF_ROLES, Region, User
from core.errors import PermissionDenied


@dataclass(frozen=True, slots=True)
class Actor:
    user: User
    #: A village official's village; a staff member's jurisdiction (None: the whole exchange).
    region: Region | None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def name(self) -> str:
        """How the actor appears in the ledger."""
        return f"user:{self.user.id}"

    @property
    def is_staff(self) -> bool:
        return self.user.role in STAFF_ROLES

    def require(self, *roles: str) -> None:
        if self.user.role not in roles:
            raise PermissionDenied("auth.forbidden", "当前角色无权执行此操作")
