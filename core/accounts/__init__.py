"""People of the exchange: regions, users with roles, logins and sessions."""

from core.accounts.actor import Actor
from core.accounts.models import REGION_LEVELS, ROLES, STAFF_ROLES, Region, Session, User
from core.accounts.passwords import Passwords
from core.accounts.service import (
    BidderSignUp,
    NewUser,
    Password,
    add_user,
    change_password,
    ensure_region,
    get_user,
    login,
    logout,
    region_of,
    reset_password,
    set_active,
    sign_up_bidder,
    signed_in,
    token_hash,
    user_subject,
    users_by_id,
    within,
)

__all__ = [
    "REGION_LEVELS",
    "ROLES",
    "STAFF_ROLES",
    "Actor",
    "BidderSignUp",
    "NewUser",
    "Password",
    "Passwords",
    "Region",
    "Session",
    "User",
    "add_user",
    "change_password",
    "ensure_region",
    "get_user",
    "login",
    "logout",
    "region_of",
    "reset_password",
    "set_active",
    "sign_up_bidder",
    "signed_in",
    "token_hash",
    "user_subject",
    "users_by_id",
    "within",
]
