"""The LETS directory: members' offers and wants, with categories and full-text search."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from letsnode.core.errors import Forbidden, InvalidInput, NotFound
from letsnode.core.names import check_text
from letsnode.store.web_store import Listing
from letsnode.views.shapes import iso_time
from letsnode.web.common import json_body, limits_of, member, node_of, ok, text_field

KINDS = ("offer", "want")
CATEGORIES = (
    "food",
    "home",
    "care",
    "learning",
    "transport",
    "crafts",
    "tech",
    "health",
    "other",
)
TITLE_MAX = 80
DESCRIPTION_MAX = 1000
CONTACT_MAX = 100


def listing_json(x: Listing) -> dict[str, Any]:
    return {
        "id": x.id,
        "handle": x.handle,
        "kind": x.kind,
        "category": x.category,
        "title": x.title,
        "description": x.description,
        "contact": x.contact,
        "status": x.status,
        "created": iso_time(x.created_ms),
        "updated": iso_time(x.updated_ms),
    }


def checked_fields(body: dict[str, Any], partial: bool) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name in ("kind", "category", "title", "description", "contact"):
        if partial and name not in body:
            continue
        fields[name] = text_field(body, name, required=name in ("kind", "category", "title"))
    if "kind" in fields and fields["kind"] not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if "category" in fields and fields["category"] not in CATEGORIES:
        raise InvalidInput(f"category must be one of {', '.join(CATEGORIES)}")
    if "title" in fields:
        check_text(fields["title"].strip(), "title", TITLE_MAX)
        fields["title"] = fields["title"].strip()
    if "description" in fields:
        check_text(
            fields["description"].replace("\n", " "),
            "description",
            DESCRIPTION_MAX,
            allow_empty=True,
        )
    if "contact" in fields:
        check_text(fields["contact"], "contact", CONTACT_MAX, allow_empty=True)
    return fields


async def search(request: Request) -> Response:
    member(request)
    params = request.query_params
    q = params.get("q", "")
    if len(q) > 200:
        raise InvalidInput("a search is at most 200 characters")
    found = node_of(request).web.search_listings(
        q,
        kind=params.get("kind") or None,
        category=params.get("category") or None,
        handle=params.get("handle") or None,
    )
    return ok({"listings": [listing_json(x) for x in found], "categories": list(CATEGORIES)})


async def create(request: Request) -> Response:
    p = member(request)
    limits_of(request).check("writes_per_member", p.handle)
    fields = checked_fields(await json_body(request), partial=False)
    node = node_of(request)
    listing = node.web.add_listing(
        p.handle,
        fields["kind"],
        fields["category"],
        fields["title"],
        fields.get("description", ""),
        fields.get("contact", ""),
        node.clock(),
    )
    return ok(listing_json(listing), 201)


def own_listing(request: Request) -> tuple[str, Listing]:
    p = member(request)
    try:
        listing_id = int(request.path_params["listing_id"])
    except ValueError:
        raise NotFound("there is no such listing") from None
    listing = node_of(request).web.listing(listing_id)
    if listing is None or listing.status != "open":
        raise NotFound(f"there is no open listing {listing_id}")
    if listing.handle != p.handle:
        raise Forbidden(f"listing {listing_id} belongs to {listing.handle}")
    return p.handle, listing


async def update(request: Request) -> Response:
    handle, listing = own_listing(request)
    limits_of(request).check("writes_per_member", handle)
    fields = checked_fields(await json_body(request), partial=True)
    node = node_of(request)
    node.web.update_listing(listing.id, dict(fields), node.clock())
    updated = node.web.listing(listing.id)
    assert updated is not None
    return ok(listing_json(updated))


async def withdraw(request: Request) -> Response:
    _, listing = own_listing(request)
    node = node_of(request)
    node.web.update_listing(listing.id, {"status": "withdrawn"}, node.clock())
    return Response(status_code=204)


routes = [
    Route("/api/listings", search, methods=["GET"]),
    Route("/api/listings", create, methods=["POST"]),
    Route("/api/listings/{listing_id}", update, methods=["PUT"]),
    Route("/api/listings/{listing_id}", withdraw, methods=["DELETE"]),
]
