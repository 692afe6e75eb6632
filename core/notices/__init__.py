"""Notices to people: written with the event that causes them (`notify`), read in the inbox,
delivered at least once through an adapter (log or webhook). docs/architecture.md."""

from core.notices.adapters import Adapter, LogAdapter, Outgoing, WebhookAdapter
from core.notices.delivery import Policy, adapter_from, deliver_due, policy_from
from core.notices.kinds import KIND_NAMES_ZH, OPTIONAL, REQUIRED, Kind
from core.notices.models import Notice, NoticeOptOut
from core.notices.outbox import mark_once, notify, on_day, when

__all__ = [
    "KIND_NAMES_ZH",
    "OPTIONAL",
    "REQUIRED",
    "Adapter",
    "Kind",
    "LogAdapter",
    "Notice",
    "NoticeOptOut",
    "Outgoing",
    "Policy",
    "WebhookAdapter",
    "adapter_from",
    "deliver_due",
    "mark_once",
    "notify",
    "on_day",
    "policy_from",
    "when",
]
