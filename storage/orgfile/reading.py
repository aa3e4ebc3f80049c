"""Reading the organisation file: YAML with line numbers, then located error messages.

Each problem is named by its place in the file (`line 3, column 5: …` for YAML,
`people[3].roles[0].scope: unknown place 'g-heping-9'` for the schema and the cross-references),
and every one found is reported at once, in `OrgFileError.messages`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from storage.orgfile.checks import check_org
from storage.orgfile.schema import OrgFile

try:
    from yaml import CSafeLoader as FastSafeLoader
except ImportError:  # PyYAML built without libyaml: same behaviour, slower
    from yaml import SafeLoader as FastSafeLoader  # type: ignore[assignment]

NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
MERGE = re.compile(r"^(?:<<)$")
MERGE_TAG = "tag:yaml.org,2002:merge"
TOP_LEVEL_KEYS = "street, departments, communities, people, teams, categories, key_households"


class OrgFileError(Exception):
    """The organisation file cannot be used; `messages` names each problem and where it is."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class _OrgLoader(FastSafeLoader):
    """A safe YAML loader that keeps plain scalars as text and refuses duplicate keys.

    Pydantic turns text into numbers and booleans where the schema says so; keeping text
    avoids YAML 1.1 surprises such as room 0101 read as octal 65 or code `no` read as false.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.yaml_implicit_resolvers = {
            **{key: [("tag:yaml.org,2002:null", NULL)] for key in ("", "~", "n", "N")},
            "<": [(MERGE_TAG, MERGE)],
        }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"the key {key!r} is given twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = exc.problem or exc.context or "invalid YAML"
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    return f"invalid YAML: {exc}"


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the file"


def _pydantic_problem(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        message = "is required"
    elif kind == "extra_forbidden":
        message = "unknown field (check its spelling and indentation)"
    elif kind in {"model_type", "model_attributes_type", "dict_type"}:
        message = "should be a mapping of key: value"
    elif kind == "list_type":
        message = "should be a list"
    elif kind == "value_error":
        message = str(error["ctx"]["error"])
    else:
        message = str(error["msg"])
    return f"{_where(tuple(error['loc']))}: {message}"


def parse_org(text: str) -> OrgFile:
    """Parse and validate the text of an organisation file, or raise OrgFileError."""
    try:
        data = yaml.load(text, Loader=_OrgLoader)  # a SafeLoader: builds no Python objects
    except yaml.YAMLError as exc:
        raise OrgFileError([_yaml_problem(exc)]) from exc
    if not isinstance(data, dict):
        raise OrgFileError([f"the file must be a mapping with the keys {TOP_LEVEL_KEYS}"])
    try:
        org = OrgFile.model_validate(data)
    except ValidationError as exc:
        raise OrgFileError([_pydantic_problem(e) for e in exc.errors()]) from exc
    problems = check_org(org)
    if problems:
        raise OrgFileError(problems)
    return org


def load_org_file(path: Path) -> OrgFile:
    """Read, parse and validate an organisation file, or raise OrgFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise OrgFileError([f"{path}: the file is not UTF-8 text"]) from exc
    except OSError as exc:
        raise OrgFileError([f"{path}: cannot read the file ({exc.strerror})"]) from exc
    return parse_org(text)
