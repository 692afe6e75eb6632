"""The per-worker sign-in cache: short-lived, bounded, never longer than the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.accounts import Actor, User
from core.web import SignInCache

NOW = datetime(2026, 5, 1, 9, tzinfo=UTC)


def someone(user_id: int) -> Actor:
    return Actor(User(id=user_id, username=f"u{user_id}", role="bidder"), None)


def test_a_cached_sign_in_lasts_the_ttl_then_is_looked_up_again() -> None:
    cache = SignInCache(5)
    actor = someone(1)
    cache.put("tok", actor, NOW, NOW + timedelta(hours=12))
    assert cache.get("tok", NOW + timedelta(seconds=4)) is actor
    assert cache.get("tok", NOW + timedelta(seconds=5)) is None
    assert cache.get("other", NOW) is None


def test_an_entry_never_outlives_its_session() -> None:
    cache = SignInCache(5)
    cache.put("tok", someone(1), NOW, NOW + timedelta(seconds=2))
    assert cache.get("tok", NOW + timedelta(seconds=1)) is not None
    assert cache.get("tok", NOW + timedelta(seconds=2)) is None


def test_sign_out_is_forgotten_at_once_and_zero_seconds_caches_nothing() -> None:
    cache = SignInCache(5)
    cache.put("tok", someone(1), NOW, NOW + timedelta(hours=1))
    cache.forget("tok")
    assert cache.get("tok", NOW) is None
    off = SignInCache(0)
    off.put("tok", someone(1), NOW, NOW + timedelta(hours=1))
    assert off.get("tok", NOW) is None


def test_the_cache_is_bounded_dropping_the_oldest() -> None:
    cache = SignInCache(60, size=2)
    for n in range(3):
        cache.put(f"tok{n}", someone(n), NOW, NOW + timedelta(hours=1))
    assert cache.get("tok0", NOW) is None
    assert cache.get("tok1", NOW) is not None and cache.get("tok2", NOW) is not None
