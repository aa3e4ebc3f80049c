"""The GeoReport v2 endpoints: parse the call, check the key, call one workflow or read, answer.

Each call that changes something (POST requests) runs in one unit of work committed once, at
its end; a refused one leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.open311 import shapes
from bot.open311.access import RateLimit
from bot.open311.formats import ApiError, answer, answer_one, errors
from bot.turns import ChatFirst
from handlers.texts import Texts
from storage.open311 import (
    ApiKey,
    FiledRequest,
    RequestQuery,
    RequestView,
    communities_of,
    filed_before,
    jurisdiction,
    key_for,
    order_of_token,
    record_filed,
    request_views,
)
from storage.uow import SqlUnitOfWork
from workflows.errors import InvalidInput
from workflows.external import (
    Caller,
    ExternalRequest,
    Filed,
    OutOfScope,
    Partner,
    UnknownPlace,
    UnknownService,
    file_request,
    service,
)
from workflows.model import Category, OrderStatus, Urgency
from workflows.orders import MAX_DESCRIPTION
from workflows.ports import Clock
from workflows.timers import TimerPolicy

log = logging.getLogger(__name__)
MAX_PAGE = 1000  # GeoReport's default limit of one answer
DEFAULT_DAYS = 90  # without dates or ids, the last 90 days (as the standard says)
PUBLIC = (OrderStatus.RESOLVED, OrderStatus.CLOSED)  # what 公示 may show, to callers without a key
STATUSES = {
    "open": [s for s in OrderStatus if s not in shapes.CLOSED],
    "closed": list(shapes.CLOSED),
}
MAX_IDEMPOTENCY_KEY = 200
Params = Mapping[str, str]


@dataclass
class Api:
    """What the endpoints need: units of work, the clock, texts, the timer policy, the limit."""

    units: Callable[[], SqlUnitOfWork]
    clock: Clock
    texts: Texts
    policy: TimerPolicy
    limit: RateLimit
    default_lang: str = "zh"
    # One partner's order is filed at a time in this process on SQLite. Orders share the
    # database's one writer with the chat: ten filed at once would wait on its lock in turn,
    # and each chat update would wait behind all of them at every step; one at a time, behind
    # one. PostgreSQL has no one writer, and a POST there mostly waits for its round trips:
    # a few go at once (`mount`).
    filing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    # And each waits until no chat update is in hand (bot/turns.py): people go first.
    chat_first: ChatFirst = field(default_factory=ChatFirst)

    def lang(self, request: web.Request, params: Params) -> str:
        """Return the language asked for: `locale`, else Accept-Language, else the default."""
        wanted = (params.get("locale") or request.headers.get("Accept-Language") or "").lower()
        wanted = wanted.strip()
        if wanted.startswith("en"):
            return "en"
        if wanted.startswith("zh"):
            return "zh"
        return self.default_lang

    # --- who is calling -------------------------------------------------------------------
    async def key(self, request: web.Request, params: Params) -> ApiKey | None:
        """Return the caller's key (header X-Api-Key or api_key), None without one; limit it."""
        raw = request.headers.get("X-Api-Key") or params.get("api_key") or ""
        key: ApiKey | None = None
        if raw:
            async with self.units() as uow:
                key = await key_for(uow.session, raw.strip()[:200])
        # A wrong key counts against its address: keys cannot be guessed at full speed.
        wait = self.limit.wait(f"key:{key.id}" if key else f"ip:{request.remote}")
        if wait:
            raise ApiError(429, "api.err_rate", retry_after=wait, seconds=wait)
        if raw and key is None:
            raise ApiError(401, "api.err_bad_key")
        return key


def _fmt(request: web.Request) -> str:
    return request.match_info.get("fmt", "json")


def endpoint(
    api: Api, call: Callable[[Api, web.Request, Params, str], Awaitable[web.Response]]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap an endpoint: read its parameters, turn ApiError into GeoReport's error list."""

    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        fmt = _fmt(request)
        params: dict[str, str] = dict(request.query)
        lang = api.lang(request, params)
        try:
            if request.method == "POST":
                params.update(await _body(request))
                lang = api.lang(request, params)
            response = await call(api, request, params, lang)
        except ApiError as error:
            headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
            text = api.texts(lang, error.key, **error.params)
            response = errors(fmt, error.status, text, headers)
        # The server's own time (W3C Server-Timing), for a partner's logs and bench/open311.py.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    return handle


async def _body(request: web.Request) -> dict[str, str]:
    """Return a POST's fields: form-encoded (as the standard says), multipart, or JSON."""
    if request.content_type == "application/json":
        try:
            data: Any = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ApiError(400, "api.err_bad_value", field="body") from error
        if not isinstance(data, dict):
            raise ApiError(400, "api.err_bad_value", field="body")
        flat = {str(k): str(v) for k, v in data.items() if not isinstance(v, dict)}
        for name, value in data.items():  # {"attribute": {"urgency": "normal"}}
            if isinstance(value, dict):
                flat.update({f"{name}[{k}]": str(v) for k, v in value.items()})
        return flat
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- services --------------------------------------------------------------------------------
async def services(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """GET services: every category as a service."""
    await api.key(request, params)
    async with api.units() as uow:
        await _jurisdiction(uow, params)
        categories = await uow.categories.list()
    items = [shapes.service(api.texts, lang, c) for c in categories]
    return answer(_fmt(request), "services", "service", items)


async def definition(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """GET services/{code}: the service's attributes."""
    await api.key(request, params)
    async with api.units() as uow:
        await _jurisdiction(uow, params)
        try:
            category = await service(uow, request.match_info["code"])
        except UnknownService as error:
            raise ApiError(404, "api.err_unknown_service", **error.params) from error
    item = shapes.definition(api.texts, lang, category)
    return answer_one(_fmt(request), "service_definition", item)


async def _jurisdiction(uow: SqlUnitOfWork, params: Params) -> list[int] | None:
    """Return the communities the jurisdiction_id names, None without one; 404 if unknown."""
    code = params.get("jurisdiction_id")
    if not code:
        return None
    found = await jurisdiction(uow.session, code)
    if found is None:
        raise ApiError(404, "api.err_jurisdiction", code=code[:64])
    return await communities_of(uow.session, found.id)


# --- requests --------------------------------------------------------------------------------
def _date(params: Params, name: str, api: Api) -> datetime | None:
    text = params.get(name)
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError as error:
        raise ApiError(400, "api.err_bad_date", field=name) from error
    return at if at.tzinfo is not None else at.replace(tzinfo=api.policy.zone)


def _ids(text: str) -> list[int]:
    ids = []
    for part in text.split(","):
        digits = part.strip()
        if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
            raise ApiError(400, "api.err_bad_value", field="service_request_id")
        ids.append(int(digits))
    return ids


def _number(params: Params, name: str, default: int, top: int) -> int:
    text = params.get(name)
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= top:
        raise ApiError(400, "api.err_bad_value", field=name)
    return int(text)


async def _views(
    api: Api, uow: SqlUnitOfWork, key: ApiKey | None, params: Params, ids: list[int]
) -> list[RequestView]:
    """Return the orders the caller may see that the parameters ask for."""
    communities = await communities_of(uow.session, key.scope_id if key else None)
    named = await _jurisdiction(uow, params)
    if named is not None:
        communities = [c for c in communities if c in named]
    statuses: list[OrderStatus] = []
    for word in filter(None, (w.strip() for w in params.get("status", "").split(","))):
        if word not in STATUSES:
            raise ApiError(400, "api.err_bad_value", field="status")
        statuses.extend(STATUSES[word])
    if key is None:
        statuses = [s for s in statuses or PUBLIC if s in PUBLIC]
        if not statuses:
            return []
    since, until = _date(params, "start_date", api), _date(params, "end_date", api)
    if since is None and until is None and not ids:
        since = api.clock.now() - timedelta(days=DEFAULT_DAYS)
    size = _number(params, "page_size", MAX_PAGE, MAX_PAGE)
    page = _number(params, "page", 1, 1_000_000)
    codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
    query = RequestQuery(
        community_ids=communities,
        ids=ids,
        service_codes=codes,
        statuses=statuses,
        since=since,
        until=until,
        limit=size,
        offset=(page - 1) * size,
    )
    return await request_views(uow.session, query)


async def _notices(api: Api, uow: SqlUnitOfWork, lang: str) -> dict[str, str]:
    return {c.code: shapes.service_notice(api.texts, lang, c) for c in await uow.categories.list()}


async def requests(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """GET requests: the orders the caller may see, newest first, one page."""
    key = await api.key(request, params)
    ids = _ids(params["service_request_id"]) if params.get("service_request_id") else []
    async with api.units() as uow:
        views = await _views(api, uow, key, params, ids)
        notices = await _notices(api, uow, lang)
    notes = shapes.stage_notes(api.texts, lang)
    items = [shapes.request(notes, lang, v, api.policy, notices.get(v.service_code)) for v in views]
    return answer(_fmt(request), "service_requests", "request", items)


async def one_request(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """GET requests/{id}: one order, if the caller may see it."""
    key = await api.key(request, params)
    ids = _ids(request.match_info["id"])
    async with api.units() as uow:
        views = await _views(api, uow, key, {**params, "status": ""}, ids)
        notices = await _notices(api, uow, lang)
    if not views:
        raise ApiError(404, "api.err_not_found")
    items = [
        shapes.request(
            shapes.stage_notes(api.texts, lang),
            lang,
            views[0],
            api.policy,
            notices.get(views[0].service_code),
        )
    ]
    return answer(_fmt(request), "service_requests", "request", items)


async def token(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """GET tokens/{token}: the order a POST's token became."""
    await api.key(request, params)
    found = request.match_info["token"]
    async with api.units() as uow:
        order_id = await order_of_token(uow.session, found)
    if order_id is None:
        raise ApiError(404, "api.err_no_token")
    items = [{"service_request_id": f"{order_id:05d}", "token": found}]
    return answer(_fmt(request), "service_requests", "request", items)


def _external(params: Params) -> ExternalRequest:
    """Return what a POST asks for; 400 for a missing or wrong field or attribute."""
    code = params.get("service_code", "").strip()
    if not code:
        raise ApiError(400, "api.err_missing", field="service_code")
    urgency = params.get(f"attribute[{shapes.URGENCY}]", "").strip()
    if not urgency:
        raise ApiError(400, "api.err_missing", field=f"attribute[{shapes.URGENCY}]")
    if urgency not in {u.value for u in Urgency}:
        raise ApiError(400, "api.err_bad_value", field=f"attribute[{shapes.URGENCY}]")
    place, address = params.get("address_id", "").strip(), params.get("address_string", "").strip()
    where: dict[str, float | None] = {}
    for name in ("lat", "long"):
        text = params.get(name, "").strip()
        try:
            where[name] = float(text) if text else None
        except ValueError as error:
            raise ApiError(400, "api.err_bad_value", field=name) from error
    lat, long = where["lat"], where["long"]
    if (lat is not None and not -90 <= lat <= 90) or (long is not None and not -180 <= long <= 180):
        raise ApiError(400, "api.err_bad_value", field="lat/long")
    if not place and not address and not params.get("phone") and lat is None:
        raise ApiError(400, "api.err_missing", field="address_string / address_id / lat, long")
    phone = params.get("phone", "").strip()
    if phone and not re.fullmatch(r"[0-9+()\- ]{5,32}", phone):
        raise ApiError(400, "api.err_bad_value", field="phone")
    return ExternalRequest(
        service_code=code[:64],
        description=params.get("description", ""),
        urgency=Urgency(urgency),
        place_code=place[:200] or None,
        address=address[:200] or None,
        latitude=lat,
        longitude=long,
        media_url=params.get("media_url", "").strip()[:500] or None,
        caller=Caller(params.get("first_name", "")[:50], params.get("last_name", "")[:50], phone),
    )


async def _file(
    api: Api, key: ApiKey, asked: ExternalRequest, params: Params, idempotency: str | None
) -> tuple[FiledRequest | None, Filed | None]:
    """File the order in one unit of work; return its record (None: a retry with the same
    Idempotency-Key committed first) and what was placed (None: it had been filed before)."""
    async with api.units() as uow:
        if idempotency is not None:
            filed = await filed_before(uow.session, key.id, idempotency)
            if filed is not None:
                return filed, None
        if params.get("jurisdiction_id"):
            await _jurisdiction(uow, params)
        try:
            placed = await file_request(uow, api.clock, Partner(key.name, key.scope_id), asked)
        except UnknownService as error:
            raise ApiError(404, "api.err_unknown_service", **error.params) from error
        except UnknownPlace as error:
            raise ApiError(400, "api.err_unknown_place") from error
        except OutOfScope as error:
            raise ApiError(403, "api.err_out_of_scope") from error
        except InvalidInput as error:
            raise ApiError(400, "api.err_description", limit=MAX_DESCRIPTION) from error
        filed = await record_filed(
            uow.session, key.id, idempotency, placed.order.id, api.clock.now()
        )
        if filed is not None:
            await uow.commit()
        return filed, placed


async def post_request(api: Api, request: web.Request, params: Params, lang: str) -> web.Response:
    """POST requests: file an order for a partner; the same Idempotency-Key files it once."""
    key = await api.key(request, params)
    if key is None:
        raise ApiError(401, "api.err_no_key")
    asked = _external(params)
    idempotency = request.headers.get("Idempotency-Key", "").strip()[:MAX_IDEMPOTENCY_KEY] or None
    async with api.filing:
        await api.chat_first.turn()
        filed, placed = await _file(api, key, asked, params, idempotency)
    if filed is None:  # a retry with the same key committed first: answer with its order
        assert idempotency is not None
        async with api.units() as uow:
            filed = await filed_before(uow.session, key.id, idempotency)
        if filed is None:
            raise ApiError(409, "api.err_not_found")
    category: Category | None = None
    if placed is not None and placed.order.id == filed.order_id:
        category = placed.category
    else:  # filed before, by the same Idempotency-Key
        async with api.units() as uow:
            order = await uow.orders.get(filed.order_id)
            category = None if order is None else await uow.categories.get(order.category_id)
    notice = None if category is None else shapes.service_notice(api.texts, lang, category)
    items = [
        {
            "service_request_id": f"{filed.order_id:05d}",
            "token": filed.token,
            "service_notice": notice,
            "account_id": None,
        }
    ]
    return answer(_fmt(request), "service_requests", "request", items)
