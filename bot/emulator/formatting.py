"""Text formatting as Telegram reads it: parse modes, entities in UTF-16 units, length limits."""

from __future__ import annotations

import html
import re
from typing import Final

from bot.emulator.errors import bad, entity_error
from bot.emulator.parameters import Params
from bot.emulator.records import JSON

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024

_HTML_TAGS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTRS_RE: Final = re.compile(
    r"""((?:\s+[A-Za-z_:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>"""
)
_ATTR_RE: Final = re.compile(r"""([A-Za-z_:-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?""")
_ENTITY_RE: Final = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")


def utf16_len(text: str) -> int:
    """The length of a text in UTF-16 code units, as Telegram counts offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into plain text and entities; ValueError has Telegram's wording."""
    out: list[str] = []
    entities: list[JSON] = []
    stack: list[tuple[str, int, JSON]] = []
    pos = 0  # in UTF-16 code units of the output
    i = 0
    n = len(source)

    def byte_offset(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    while i < n:
        ch = source[i]
        if ch == "<":
            begin = byte_offset(i)
            if i + 1 < n and source[i + 1] == "/":
                end = source.find(">", i)
                if end < 0:
                    raise ValueError(f"Unclosed end tag at byte offset {begin}")
                name = source[i + 2 : end].strip().lower()
                if not stack:
                    raise ValueError(f"Unexpected end tag at byte offset {begin}")
                open_name, start, extra = stack.pop()
                if name != open_name:
                    raise ValueError(
                        f'Unmatched end tag at byte offset {begin}, expected "</{open_name}>", '
                        f'found "</{name}>"'
                    )
                if pos > start and not (open_name == "a" and "url" not in extra):
                    entities.append(
                        {"type": _HTML_TAGS[open_name], "offset": start, "length": pos - start}
                        | extra
                    )
                i = end + 1
                continue
            j = i + 1
            while j < n and source[j] not in " \t\r\n>":
                j += 1
            if j >= n:
                raise ValueError(f"Unclosed start tag at byte offset {begin}")
            name = source[i + 1 : j].lower()
            if name not in _HTML_TAGS:
                raise ValueError(f'Unsupported start tag "{name}" at byte offset {begin}')
            m = _ATTRS_RE.match(source, j)
            if m is None:
                raise ValueError(f"Unclosed start tag at byte offset {begin}")
            attrs = {
                a.group(1).lower(): (a.group(2) or "").strip("\"'")
                for a in _ATTR_RE.finditer(m.group(1))
            }
            extra = {}
            if name == "a" and attrs.get("href"):
                extra["url"] = html.unescape(attrs["href"])
            elif name == "span" and attrs.get("class") != "tg-spoiler":
                raise ValueError('Tag "span" must have class "tg-spoiler"')
            elif name == "tg-emoji" and attrs.get("emoji-id"):
                extra["custom_emoji_id"] = attrs["emoji-id"]
            stack.append((name, pos, extra))
            i = m.end()
            continue
        if ch == "&":
            m = _ENTITY_RE.match(source, i)
            if m is not None:
                decoded = html.unescape(m.group(0))
                if decoded != m.group(0):
                    out.append(decoded)
                    pos += utf16_len(decoded)
                    i = m.end()
                    continue
        out.append(ch)
        pos += 2 if ord(ch) > 0xFFFF else 1
        i += 1
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


_MDV2_ALWAYS_RESERVED: Final = frozenset("#+-={}.!")


def parse_markdown_v2(source: str) -> str:
    """Strip MarkdownV2 markup (roughly), raising ValueError for unescaped reserved characters."""
    out: list[str] = []
    i = 0
    n = len(source)
    in_code = False
    in_link_text = False
    line_start = True
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            out.append(source[i + 1])
            i += 2
            line_start = False
            continue
        if ch == "`":
            fence = 3 if source.startswith("```", i) else 1
            in_code = not in_code
            i += fence
            continue
        if in_code:
            out.append(ch)
            i += 1
            continue
        if ch in "*_~":
            i += 1
            continue
        if ch == "|" and source.startswith("||", i):
            i += 2
            continue
        if ch == "[":
            in_link_text = True
            i += 1
            continue
        if ch == "]" and in_link_text and source.startswith("](", i):
            close = source.find(")", i)
            if close < 0:
                raise ValueError("Can't find end of a URL")
            in_link_text = False
            i = close + 1
            continue
        if ch == ">" and line_start:
            i += 1
            continue
        if ch in _MDV2_ALWAYS_RESERVED or ch in "()[]|>":
            raise ValueError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        out.append(ch)
        line_start = ch == "\n"
        i += 1
    return "".join(out)


def parse_markdown_legacy(source: str) -> str:
    """Strip legacy Markdown markup."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", source)
    return re.sub(r"[*_`]", "", text)


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace like Telegram does, shifting entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[JSON] = []
    for entity in entities:
        start = max(0, int(entity["offset"]) - lead)
        end = min(total, int(entity["offset"]) + int(entity["length"]) - lead)
        if end > start:
            result.append(entity | {"offset": start, "length": end - start})
    return stripped, result


def format_field(
    p: Params,
    field_name: str,
    mode_field: str,
    entities_field: str,
    *,
    limit: int,
    required: bool,
    empty: str,
    too_long: str,
) -> tuple[str, list[JSON], str] | None:
    """Plain text, entities and the raw source of a formatted field, checked like Telegram."""
    raw = p.text(field_name)
    if raw is None or raw == "":
        if required:
            raise bad(empty)
        return None
    mode = (p.text(mode_field) or "").lower()
    entities: list[JSON] = []
    try:
        if mode == "html":
            plain, entities = parse_html(raw)
        elif mode == "markdownv2":
            plain = parse_markdown_v2(raw)
        elif mode == "markdown":
            plain = parse_markdown_legacy(raw)
        elif mode == "":
            plain = raw
            given = p.obj(entities_field)
            if isinstance(given, list):
                entities = [e for e in given if isinstance(e, dict)]
        else:
            raise bad("unsupported parse_mode")
    except ValueError as exc:
        raise entity_error(str(exc)) from None
    plain, entities = trim(plain, entities)
    if not plain:
        if required:
            raise bad(empty)
        return None
    if len(plain) > limit:
        raise bad(too_long)
    return plain, entities, raw


def read_text(p: Params) -> tuple[str, list[JSON], str]:
    """The required ``text`` of a message, parsed by its parse_mode."""
    result = format_field(
        p,
        "text",
        "parse_mode",
        "entities",
        limit=TEXT_LIMIT,
        required=True,
        empty="message text is empty",
        too_long="message is too long",
    )
    assert result is not None
    return result


def read_caption(p: Params) -> tuple[str, list[JSON], str] | None:
    """The optional ``caption`` of a media message, parsed by its parse_mode."""
    return format_field(
        p,
        "caption",
        "parse_mode",
        "caption_entities",
        limit=CAPTION_LIMIT,
        required=False,
        empty="",
        too_long="message caption is too long",
    )
