"""An order's photos and voice on its page: fetched from Telegram by file id, for viewers in scope.

Telegram keeps the files; the bot fetches one (getFile, then the file's URL under the bot's
token) only when a viewer who may see the order asks for it, and passes it on. The token never
reaches the browser.
"""

from __future__ import annotations

import logging

import aiohttp
from aiohttp import web

from bot.console.site import console_of, problem, signed_in
from workflows.errors import OrderNotFound
from workflows.supervision import look_up

log = logging.getLogger(__name__)
MAX_BYTES = 20 * 1024 * 1024  # the Bot API's own limit on files a bot may download
TYPES = {
    "photo": "image/jpeg",
    "voice": "audio/ogg",
    "audio": "audio/mpeg",
    "video_note": "video/mp4",
}


async def order_file(request: web.Request) -> web.StreamResponse:
    """Pass on one photo or voice clip of an order the viewer may see."""
    console = console_of(request)
    async with console.units() as uow:
        viewer, _ = await signed_in(request, uow)
        raw, index = request.match_info["order_id"], request.match_info["index"]
        kind = request.match_info["kind"]
        if not (raw.isdigit() and len(raw) <= 9 and index.isdigit() and len(index) <= 3):
            return problem(request, viewer.lang, 404, "error.order_not_found")
        try:
            octx, _powers = await look_up(uow, viewer.person, int(raw))
        except OrderNotFound:
            return problem(request, viewer.lang, 404, "error.order_not_found")
    order = octx.order
    n = int(index)
    if kind == "photo" and n < len(order.photos):
        file_id, mime = order.photos[n], TYPES["photo"]
    elif kind == "voice" and n < len(order.voices):
        clip = order.voices[n]
        file_id, mime = clip.file_id, TYPES.get(str(clip.kind), "application/octet-stream")
    else:
        return problem(request, viewer.lang, 404, "web.no_file")
    data = await _download(console.config.api_base, console.config.bot_token, file_id)
    if data is None:
        return problem(request, viewer.lang, 502, "web.no_file")
    return web.Response(body=data, content_type=mime, headers={"Cache-Control": "private"})


async def _download(api_base: str, token: str | None, file_id: str) -> bytes | None:
    """Return a file's bytes from the Bot API, or None when it cannot be had."""
    if token is None:
        return None
    base = api_base.rstrip("/")
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(f"{base}/bot{token}/getFile", params={"file_id": file_id}) as r:
                answer = await r.json(content_type=None)
            path = (answer.get("result") or {}).get("file_path") if answer.get("ok") else None
            if not path:
                return None
            async with http.get(f"{base}/file/bot{token}/{path}") as r:
                if r.status != 200:
                    return None
                data = await r.content.read(MAX_BYTES + 1)
                return data if len(data) <= MAX_BYTES else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        log.warning("could not fetch a file of an order: %s", type(error).__name__)
        return None
