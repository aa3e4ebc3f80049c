"""Reading a request's parameters the way Telegram does: JSON, form or multipart, coerced."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Final

import aiohttp
from aiohttp import web

from bot.emulator.errors import bad
from bot.emulator.records import JSON, UploadedFile, dumps

_INT_KEYS: Final = frozenset(
    {
        "chat_id",
        "message_id",
        "from_chat_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "user_id",
        "duration",
        "width",
        "height",
        "max_connections",
    }
)
_BOOL_KEYS: Final = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
# Parameters that are always plain strings, never JSON-decoded even if they look like JSON.
_STRING_KEYS: Final = frozenset(
    {
        "text",
        "caption",
        "title",
        "description",
        "short_description",
        "name",
        "url",
        "secret_token",
        "callback_query_id",
        "data",
        "parse_mode",
        "action",
        "language_code",
        "file_id",
        "emoji",
        "phone_number",
        "first_name",
        "last_name",
        "address",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "photo",
        "document",
    }
)
_INT_RE: Final = re.compile(r"^-?[0-9]+$")


class Params:
    """Request parameters with Telegram-like coercion of form strings."""

    def __init__(self, values: JSON, files: dict[str, UploadedFile]) -> None:
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, (dict, list)):
            return dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            return int(value.strip())
        raise bad(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        raise bad(f"invalid {name} specified")

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def obj(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad(f"can't parse {name} JSON object") from None
        return value

    def file_ref(self, name: str) -> UploadedFile | str | None:
        value = self.values.get(name)
        if value is None and name in self.files:
            return self.files[name]
        if not isinstance(value, str) or not value:
            return None
        if value.startswith("attach://"):
            upload = self.files.get(value.removeprefix("attach://"))
            if upload is None:
                raise bad("wrong file identifier/HTTP URL specified")
            return upload
        return value


def normalize(values: JSON, files: dict[str, UploadedFile]) -> JSON:
    """Decode JSON object strings and numeric/boolean strings in form parameters."""
    result: JSON = {}
    for key, value in values.items():
        if isinstance(value, str):
            stripped = value.strip()
            if key in _INT_KEYS and _INT_RE.match(stripped):
                value = int(stripped)
            elif key in _BOOL_KEYS and stripped.lower() in ("true", "false"):
                value = stripped.lower() == "true"
            elif key not in _STRING_KEYS and stripped[:1] in ("{", "["):
                with contextlib.suppress(ValueError):
                    value = json.loads(stripped)
        result[key] = value
    referenced = dumps(result)
    for name in files:
        if name not in result and f"attach://{name}" not in referenced:
            result[name] = f"attach://{name}"
    return result


async def read_multipart(
    reader: aiohttp.MultipartReader, values: JSON, files: dict[str, UploadedFile]
) -> None:
    """Read form fields into ``values`` and file parts into ``files``."""
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.filename is not None:
            data = bytes(await part.read(decode=True))
            content_type = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
            files[part.name] = UploadedFile(part.name, part.filename, content_type, data)
        else:
            values[part.name] = await part.text()


async def read_request(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
    """The parameters and uploaded files of a Bot API request, normalized."""
    values: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    ctype = request.content_type
    if ctype == "application/json":
        raw = await request.read()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError:
                raise bad("can't parse JSON encoded request body") from None
            if not isinstance(data, dict):
                raise bad("JSON encoded request body must be an object")
            values.update(data)
    elif ctype == "application/x-www-form-urlencoded":
        form = await request.post()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    elif ctype.startswith("multipart/"):
        await read_multipart(await request.multipart(), values, files)
    return normalize(values, files), files
