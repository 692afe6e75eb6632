"""Entrustment → review → announcement → registration → deposit → qualification."""

from listings import closing, payments, qualification, registration, rules, service
from listings.models import Document, Listing, Payment, Registration
from listings.rules import ListingState

__all__ = [
    "Document",
    "Listing",
    "ListingState",
    "Payment",
    "Registration",
    "closing",
    "payments",
    "qualification",
    "registration",
    "rules",
    "service",
]
