"""Which paid applications of a listing one click may qualify, and which are held back for
the reviewer to decide one by one: those that share a phone, an address, a device or a
paying account with another applicant (the regulators' warnings, found now) and those that
claim a priority right (`listings.qualification.paid_applications`)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from listings import qualification
from listings.models import Registration
from oversight.warnings.bidders import registrations_sharing
from oversight.warnings.findings import KIND_NAMES_ZH


async def warnings_of(session: AsyncSession, paid: list[Registration]) -> Mapping[int, list[str]]:
    """The warnings about each paid application as the reviewer reads them: the kind of thing
    shared, never the shared value."""
    if not paid:
        return {}
    found = await registrations_sharing(session, paid[0].listing_id)
    return {key: [KIND_NAMES_ZH[kind] for kind in kinds] for key, kinds in found.items()}


async def paid_applications(
    session: AsyncSession, listing_id: int
) -> qualification.PaidApplications:
    return await qualification.paid_applications(session, listing_id, warnings_of)
