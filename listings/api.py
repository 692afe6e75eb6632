"""Controllers of entrustment, review, announcement, registration and deposits."""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery, JSONBody, MultipartBody, QueryParameter

from core import settings as exchange_settings
from core.accounts import Actor
from core.errors import InvalidInput, NotFound
from core.ids import mask_id_number, mask_name
from core.web import PUBLIC, actor, actor_or_none, allow, services
from listings import policy, reading, registration, service
from listings.documents import (
    UPLOAD_BODY,
    CheckedFile,
    DocumentStore,
    checked_file,
    document_kind,
)
from listings.models import Document, StoredFile
from listings.policy import Facet
from listings.schemas import (
    CATEGORY_NAMES_ZH,
    AnnounceBody,
    DocumentOut,
    Empty,
    ListingCreate,
    ListingOut,
    ListingPage,
    ListingUpdate,
    PriorityHolder,
    ReviewBody,
)

log = logging.getLogger("ruralx.listings")


def listing_view(
    visible: reading.Visible, viewer: Actor | None, documents: list[Document] | None = None
) -> ListingOut:
    listing = visible.listing
    terms = listing.terms
    if not policy.may_see(viewer, Facet.HIDDEN_TERMS, listing.state, visible.village):
        terms = msgspec.structs.replace(
            terms,
            # The hidden reserve is left out (UNSET is never encoded), not shown as none.
            reserve_fen=cast(Any, msgspec.UNSET),
            priority_holders=[
                PriorityHolder(
                    name=mask_name(h.name),
                    id_type=h.id_type,
                    id_number=mask_id_number(h.id_number),
                )
                for h in terms.priority_holders
            ],
        )
    return ListingOut(
        id=listing.id,
        state=listing.state,
        title=listing.title,
        category=listing.category,
        category_name=CATEGORY_NAMES_ZH.get(listing.category, listing.category),
        location=listing.location,
        area=listing.area,
        area_unit=listing.area_unit,
        description=listing.description,
        terms=terms,
        village=visible.village.path,
        created_at=listing.created_at,
        # Whoever may see the listing sees its resolution: it is published (决议公开).
        resolution=listing.resolution,
        announced_at=listing.announced_at,
        registration_closes_at=listing.registration_closes_at,
        auction_starts_at=listing.auction_starts_at,
        return_reason=listing.return_reason,
        outcome=listing.outcome,
        relist_of=listing.relist_of,
        rules=listing.rules,
        # Which documents exist is public (四议两公开); their content is a facet of the policy.
        documents=[document_view(d) for d in documents or []],
        site_visit=listing.site_visit,
    )


def document_view(d: StoredFile) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        kind=d.kind,
        filename=d.filename,
        content_type=d.content_type,
        size=d.size,
        sha256=d.sha256,
        uploaded_at=d.uploaded_at,
    )


class ListingController(Controller):
    path = "/api/v1/listings"

    @post("/", guards=[allow("village")], status_code=201)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[ListingCreate]
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            listing = await service.create(session, who, data, settings, svc.now())
            return listing_view(reading.Visible(listing, who.region), who)  # type: ignore[arg-type]

    @get("/", opt=PUBLIC)
    async def search(
        self,
        request: Request[Any, Any, Any],
        state_: Annotated[str | None, QueryParameter(name="state")] = None,
        category: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> ListingPage:
        viewer = actor_or_none(request)
        async with services(request).db.read() as session:
            rows = await reading.search(
                session,
                viewer,
                reading.ListingFilter(
                    state=state_, category=category, region=region, limit=limit, offset=offset
                ),
            )
        return ListingPage(items=[listing_view(v, viewer) for v in rows])

    @get("/{listing_id:int}", opt=PUBLIC)
    async def show(self, request: Request[Any, Any, Any], listing_id: FromPath[int]) -> ListingOut:
        viewer = actor_or_none(request)
        async with services(request).db.read() as session:
            visible = await reading.load(session, viewer, listing_id)
            documents = await reading.documents_of(session, listing_id)
        return listing_view(visible, viewer, documents)

    @patch("/{listing_id:int}", guards=[allow("village")])
    async def update(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[ListingUpdate],
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            await service.update(session, who, listing_id, data, settings, svc.now())
            visible = await reading.load(session, who, listing_id)
            return listing_view(visible, who, await reading.documents_of(session, listing_id))

    @post("/{listing_id:int}/submit", guards=[allow("village")], status_code=200)
    async def submit(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.submit)

    @post("/{listing_id:int}/withdraw", guards=[allow("village")], status_code=200)
    async def withdraw(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.withdraw)

    @post("/{listing_id:int}/relist", guards=[allow("village")], status_code=201)
    async def relist(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[Empty]
    ) -> ListingOut:
        return await self._act(request, listing_id, service.relist)

    async def _act(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], use_case: Any
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            listing = await use_case(session, who, listing_id, svc.now())
            visible = await reading.load(session, who, listing.id)
            return listing_view(visible, who)

    @post("/{listing_id:int}/review", guards=[allow("reviewer")], status_code=200)
    async def review(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], data: JSONBody[ReviewBody]
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            await service.review(session, who, listing_id, data, svc.now())
            return listing_view(await reading.load(session, who, listing_id), who)

    @post("/{listing_id:int}/announce", guards=[allow("reviewer")], status_code=200)
    async def announce(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: JSONBody[AnnounceBody],
    ) -> ListingOut:
        svc, who = services(request), actor(request)
        async with svc.db.write() as session:
            settings = await exchange_settings.load(session)
            await service.announce(session, who, listing_id, data, settings, svc.now())
            return listing_view(await reading.load(session, who, listing_id), who)

    @post(
        "/{listing_id:int}/documents",
        guards=[allow("village")],
        status_code=201,
        request_max_body_size=UPLOAD_BODY,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        listing_id: FromPath[int],
        data: MultipartBody[dict[str, Any]],
    ) -> DocumentOut:
        svc, who = services(request), actor(request)
        kind = document_kind(data.get("kind"))
        file = await checked_upload(svc, data.get("file"))
        async with svc.db.write() as session:
            document = await service.add_document(
                session, who, listing_id, kind=kind, file=file, store=store(svc), now=svc.now()
            )
            return document_view(document)

    @get(
        "/{listing_id:int}/documents/{document_id:int}",
        guards=[allow()],
        media_type="application/octet-stream",
    )
    async def download(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], document_id: FromPath[int]
    ) -> Response[bytes]:
        svc, who = services(request), actor(request)
        async with svc.db.read() as session:
            visible = await reading.load(session, who, listing_id)
            document = await session.get(Document, document_id)
            mine = await registration.own_registration(session, who, listing_id)
        if document is None or document.listing_id != listing_id:
            raise NotFound("document.not_found", "材料不存在")
        policy.require(
            who,
            Facet.DOCUMENTS,
            visible.listing.state,
            visible.village,
            registration=mine.state if mine else None,
        )
        return _attachment(svc, document)

    @get("/{listing_id:int}/photos/{document_id:int}", opt=PUBLIC, media_type="image/jpeg")
    async def photo(
        self, request: Request[Any, Any, Any], listing_id: FromPath[int], document_id: FromPath[int]
    ) -> Response[bytes]:
        """A photo of the asset, shown inline on the announcement to whoever may see it."""
        svc, viewer = services(request), actor_or_none(request)
        async with svc.db.read() as session:
            await reading.load(session, viewer, listing_id)
            document = await session.get(Document, document_id)
        # Only photos (checked JPEG/PNG at upload): never another document under this route.
        if document is None or document.listing_id != listing_id or document.kind != "photo":
            raise NotFound("photo.not_found", "照片不存在")
        return _file(svc, document, "inline")


async def checked_upload(svc: Any, upload: Any) -> CheckedFile:
    """A form's file, checked by size and content (`listings.documents.checked_file`)."""
    if not isinstance(upload, UploadFile):
        raise InvalidInput("document.file_required", "请选择要上传的文件")
    content = await upload.read()
    limit = svc.config.max_upload_bytes
    return checked_file(content, upload.filename or "", upload.content_type, limit=limit)


def store(svc: Any) -> DocumentStore:
    """Where this worker keeps uploaded files (content-addressed, under the data directory)."""
    return DocumentStore(svc.config.data_dir)


def _attachment(svc: Any, document: StoredFile) -> Response[bytes]:
    return _file(svc, document, "attachment")


def _file(svc: Any, document: StoredFile, disposition: str) -> Response[bytes]:
    """A stored file with the type found in its content at upload (never one guessed now)."""
    return Response(
        store(svc).get(document.sha256),
        media_type=document.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(document.filename)}",
            "X-Content-Type-Options": "nosniff",
        },
    )
