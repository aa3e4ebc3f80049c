"""GeoReport v2's two formats: the same answer as JSON or as XML, errors included."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

FORMATS = ("json", "xml")
# A list inside an item is written in XML as one element per entry, named in the singular.
SINGULAR = {"attributes": "attribute", "values": "value"}
JSON_TYPE = "application/json"
XML_TYPE = "text/xml"

Item = Mapping[str, Any]


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


def _fill(parent: ElementTree.Element, item: Item) -> None:
    for name, value in item.items():
        child = ElementTree.SubElement(parent, name)
        if isinstance(value, list):
            for entry in value:
                _fill(ElementTree.SubElement(child, SINGULAR.get(name, "item")), entry)
        else:
            child.text = _text(value)


def to_xml(root: str, item: str, items: Sequence[Item]) -> bytes:
    """Return the items as GeoReport's XML: <root><item>…</item>…</root>."""
    top = ElementTree.Element(root)
    for entry in items:
        _fill(ElementTree.SubElement(top, item), entry)
    body: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
    return body


def answer_one(fmt: str, root: str, item: Item) -> web.Response:
    """Return one item: in XML as the root element itself, in JSON as an object."""
    if fmt == "xml":
        top = ElementTree.Element(root)
        _fill(top, item)
        body: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
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
