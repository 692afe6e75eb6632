"""The signature report of a contract's current file (and of its 交易鉴证书, once issued),
validated against the platform root. The checks themselves are `contracts.verify`."""

from __future__ import annotations

import asyncio

import msgspec

from contracts import signing
from contracts.access import load
from contracts.deps import Deps
from contracts.files import certificate_pdf, contract_pdf, sha256
from contracts.schemas import Verification
from contracts.verify import verify_pdf
from core.accounts import Actor


async def verification(deps: Deps, who: Actor, contract_id: int) -> Verification:
    """The signature report of the current contract file, against the platform root."""
    now = deps.clock.now()
    async with deps.db.read() as session:
        contract = (await load(session, who, contract_id)).contract
    pdf, _ = await contract_pdf(deps.files, contract)
    auth = await deps.keys.open(now)
    roots = [signing.asn1_cert(auth.root)]
    report = await asyncio.to_thread(verify_pdf, pdf, roots, at=now)
    answer = {
        "contract_id": contract_id,
        "state": contract.state,
        "document_sha256": sha256(pdf),
        **report,
    }
    if contract.certificate_sha256 is not None:
        certificate = await certificate_pdf(deps.files, contract)
        answer["certificate"] = {
            "sha256": contract.certificate_sha256,
            **await asyncio.to_thread(verify_pdf, certificate, roots, at=now),
        }
    # The report is a dict (the CLI prints it as it is); typed here for the API.
    return msgspec.convert(answer, Verification)
