"""The notices table (each row is one message in one person's inbox, and its outbox state
toward the external adapter) and the kinds a person turned off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, UTCDateTime

#: Delivery states toward the adapter: waiting (or claimed, until `next_attempt_at`), done,
#: or given up after the bounded attempts.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class Notice(Base):
    __tablename__ = "notices"
    __table_args__ = (
        # One notice per person, kind and subject ("listing:7", "rent_item:12"): sweeps run on
        # every worker and events may be retried, and the key makes a repeat a no-op.
        UniqueConstraint("user_id", "kind", "subject", name="uq_notices_user_kind_subject"),
        # The inbox (newest first) and the unread count of every page.
        Index("ix_notices_inbox", "user_id", "id"),
        Index("ix_notices_unread", "user_id", "read_at"),
        # The delivery worker's claim: pending rows by when they are next due.
        Index("ix_notices_delivery", "delivery_state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    #: A page of the exchange the notice is about (a path, never an outside address).
    link: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivery_state: Mapped[str] = mapped_column(String(12), default=PENDING)
    #: Claims so far (a claim counts before the adapter is called, so a crash counts too).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: When a pending notice may next be claimed: its retry time, or the end of a claim.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class NoticeOptOut(Base):
    """An optional kind a person does not want (no row: they receive it)."""

    __tablename__ = "notice_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)


class NoticeMark(Base):
    """A sweep's "sent" mark: the reminders about a subject ("listing:7" for the auction in
    30 minutes, "rent_item:12" for rent due or overdue) were written, by whichever worker
    inserted the mark first, in the same transaction."""

    __tablename__ = "notice_marks"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
