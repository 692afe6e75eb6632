"""Entrustment → review → announcement → registration → deposit → qualification."""

from listings import registration, rules, service
from listings.models import Document, Listing, Payment, Registration
from listings.rules import ListingState

__all__ = [
    "Document",
    "Listing",
    "ListingState",
    "Payment",
    "Registration",
    "registration",
    "rules",
    "service",
]
