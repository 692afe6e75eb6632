"""The contract's files: signed PDFs kept on disk, the draft rendered from its data.

Signed versions are written once under `RURALX_DATA_DIR/contracts/<id>/<sha256>.pdf`;
`contracts.pdf_sha256` names the current one. Before the first signature nothing is stored:
the draft is rendered from the data snapshot, deterministically, whenever it is asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from contracts import document
from contracts.models import Contract
from core.errors import NotFound


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class PdfStore:
    """Signed PDFs under RURALX_DATA_DIR/contracts/<id>/<sha256>.pdf (written once)."""

    def __init__(self, data_dir: str) -> None:
        self.root = Path(data_dir) / "contracts"

    def put(self, contract_id: int, data: bytes) -> str:
        digest = sha256(data)
        path = self.root / str(contract_id) / f"{digest}.pdf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    def get(self, contract_id: int, digest: str) -> bytes:
        data = (self.root / str(contract_id) / f"{digest}.pdf").read_bytes()
        if sha256(data) != digest:
            raise RuntimeError(f"stored contract file {contract_id}/{digest} is damaged")
        return data

    async def aput(self, contract_id: int, data: bytes) -> str:
        """`put` off the event loop."""
        return await asyncio.to_thread(self.put, contract_id, data)

    async def aget(self, contract_id: int, digest: str) -> bytes:
        """`get` off the event loop."""
        return await asyncio.to_thread(self.get, contract_id, digest)


async def contract_pdf(
    store: PdfStore,
    contract: Contract,
) -> tuple[bytes, document.Rendered | None]:
    """The current contract file: the last signed version, or the draft rendered from data."""
    if contract.pdf_sha256 is not None:
        return await store.aget(contract.id, contract.pdf_sha256), None
    rendered = await asyncio.to_thread(
        document.render, "contract", contract.data, at=contract.render_at
    )
    return rendered.pdf, rendered


async def confirmation_pdf(contract: Contract) -> bytes:
    """The deal confirmation (成交确认书), rendered from the contract's data."""
    rendered = await asyncio.to_thread(
        document.render, "confirmation", contract.data, at=contract.render_at
    )
    return rendered.pdf


async def certificate_pdf(store: PdfStore, contract: Contract) -> bytes:
    """The transaction certificate (交易鉴证书); 404 before the contract is certified."""
    if contract.certificate_sha256 is None:
        raise NotFound("contract.not_certified", "交易鉴证书尚未出具")
    return await store.aget(contract.id, contract.certificate_sha256)
