"""GeoReport v2's two formats: the same answer as JSON or as XML, errors included."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

FORMATS = ("json", "xml")
# A list inside an item is written in XML as one element per entry, named in the singular.
SINGULAR = {"attributes": "attribute", "values": "value"}
JSON_TYPE = "application/json"
XML_TYPE = "text/xml"

Item = Mapping[str, Any]
# Characters XML 1.0 does not allow at all (not even escaped): left out of the text.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class ApiError(Exception):
    """An answer GeoReport gives as an error list: an HTTP status and a description."""

    def __init__(self, status: int, key: str, *, retry_after: int | None = None, **params: Any):
        super().__init__(key, params)
        self.status = status
        self.key = key
        self.params = params
        self.retry_after = retry_after


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parts: list[str], item: Item) -> None:
    """Append an item's fields as elements (the names are ours; the values are escaped)."""
    for name, value in item.items():
        if isinstance(value, list):
            singular = SINGULAR.get(name, "item")
            parts.append(f"<{name}>")
            for entry in value:
                parts.append(f"<{singular}>")
                _fill(parts, entry)
                parts.append(f"</{singular}>")
            parts.append(f"</{name}>")
        else:
            text = NOT_XML.sub("", _text(value))
            parts.append(f"<{name}>{escape(text)}</{name}>" if text else f"<{name} />")


def _document(root: str, fill: Callable[[list[str]], None]) -> bytes:
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n", f"<{root}>"]
    fill(parts)
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def to_xml(root: str, item: str, items: Sequence[Item]) -> bytes:
    """Return the items as GeoReport's XML: <root><item>…</item>…</root>.

    Written as text, not through ElementTree: a page of 1,000 requests made 15,000 elements,
    most of the answer's time."""

    def fill(parts: list[str]) -> None:
        for entry in items:
            parts.append(f"<{item}>")
            _fill(parts, entry)
            parts.append(f"</{item}>")

    return _document(root, fill)


def answer_one(fmt: str, root: str, item: Item) -> web.Response:
    """Return one item: in XML as the root element itself, in JSON as an object."""
    if fmt == "xml":
        body = _document(root, lambda parts: _fill(parts, item))
        return web.Response(body=body, content_type=XML_TYPE, charset="utf-8")
    return web.Response(
        text=json.dumps(item, ensure_ascii=False), content_type=JSON_TYPE, charset="utf-8"
    )


def answer(
    fmt: str,
    root: str,
    item: str,
    items: Sequence[Item],
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """Return the items in the format asked for: a JSON list, or <root><item>…</item></root>."""
    if fmt == "xml":
        return web.Response(
            body=to_xml(root, item, items),
            status=status,
            content_type=XML_TYPE,
            charset="utf-8",
            headers=headers,
        )
    return web.Response(
        text=json.dumps(list(items), ensure_ascii=False),
        status=status,
        content_type=JSON_TYPE,
        charset="utf-8",
        headers=headers,
    )


def errors(
    fmt: str, status: int, description: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Return GeoReport's error list: [{code, description}] with the HTTP status."""
    return answer(
        fmt,
        "errors",
        "error",
        [{"code": status, "description": description}],
        status=status,
        headers=headers,
    )
