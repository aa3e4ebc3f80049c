"""The codebase's own rules, checked with the real tools: ruff, mypy, and the dependency rule."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "workflows": ("aiogram", "telegram", "sqlalchemy", "handlers", "storage", "bot"),
    "handlers": ("aiogram", "telegram", "sqlalchemy", "storage", "bot"),
    "storage": ("aiogram", "telegram", "handlers", "bot"),
    # An entry point like handlers/ (open311, issue 19): SQL only through storage's functions.
    "bot/open311": ("aiogram", "telegram", "sqlalchemy"),
}
# A room holds one concern: past this many lines a module is split by its jobs (STYLE, 11).
MAX_LINES = 600
FITTED = ("bot", "storage")  # the packages held to MAX_LINES


def imported_roots(path: Path) -> set[str]:
    """Return the top-level packages a module imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_inward(package: str) -> None:
    """workflows/ knows no framework or database; handlers/ no Telegram library or SQL."""
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & set(FORBIDDEN[package]))
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def module_name(path: Path, root: Path = ROOT) -> str:
    """Return the dotted name of a module file (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(test: ast.expr) -> bool:
    """Return whether an `if` tests TYPE_CHECKING (bare or as typing.TYPE_CHECKING)."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield the imports a module runs, skipping those under `if TYPE_CHECKING:`."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    elif isinstance(node, ast.If) and _type_checking(node.test):
        for branch in node.orelse:
            yield from _imports(branch)
        return
    for child in ast.iter_child_nodes(node):
        yield from _imports(child)


def import_graph(package: str, root: Path = ROOT) -> dict[str, set[str]]:
    """Return, for each module of a package, the modules of that package it imports."""
    paths = {module_name(path, root): path for path in (root / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        imported: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the module's own package upwards
                    here = name.split(".")[: len(name.split(".")) - node.level + is_package]
                    base = ".".join([*here, *([base] if base else [])])
                # `from a import b` imports the module a.b when there is one, else names of a.
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in paths:  # `import a.b.c` of a name: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    imported.add(target)
        graph[name] = imported
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """Return one import cycle of the graph (its first module repeated at the end), or []."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return []


@pytest.mark.parametrize("package", FITTED)
def test_modules_fit_in_a_room(package: str) -> None:
    """No module passes MAX_LINES lines: a bigger one is split into modules named by their jobs."""
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: n for path, n in sizes.items() if n > MAX_LINES} == {}


@pytest.mark.parametrize("package", ["bot", "bot/emulator", "handlers", "storage", "workflows"])
def test_no_import_cycle(package: str) -> None:
    """The modules of a package import each other without a cycle."""
    assert find_cycle(import_graph(package)) == []


def test_the_cycle_check_sees_cycles(tmp_path: Path) -> None:
    """A cycle through absolute, relative and package imports is found; TYPE_CHECKING is not one."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import thing\n")
    (package / "a.py").write_text("from pkg import sub\n\ndef thing() -> None: ...\n")
    (package / "sub" / "__init__.py").write_text("from .b import other\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import pkg.a\n"
        "\ndef other() -> None:\n    from ..a import thing\n"
    )
    graph = import_graph("pkg", tmp_path)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub"},
        "pkg.sub": {"pkg.sub.b"},
        "pkg.sub.b": {"pkg.a"},
    }
    assert find_cycle(graph) == ["pkg.a", "pkg.sub", "pkg.sub.b", "pkg.a"]
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    assert find_cycle(import_graph("pkg", tmp_path)) == []


def commit_calls(source: str) -> list[int]:
    """Return the lines of a module that call `.commit(` on anything."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def test_workflows_never_commit() -> None:
    """Workflows stage changes; the entry point that opened the unit of work commits (STYLE 1)."""
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "workflows").rglob("*.py")
        if (lines := commit_calls(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_commit_check_sees_commits() -> None:
    """A commit is found however it is reached: on the unit of work, its session, a helper."""
    source = (
        "async def f(uow):\n"
        "    await uow.commit()\n"
        "    await uow.session.commit()\n"
        "    await helper(uow).commit()\n"
        "    uow.committed = 1\n"
    )
    assert commit_calls(source) == [2, 3, 4]


def test_no_unit_of_work_defers_its_commit() -> None:
    """No flag turns a commit into a flush: `commit()` always commits; entry points call it."""
    mentions = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("bot", "handlers", "storage", "workflows")
        for path in (ROOT / package).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bdeferred\b", line, re.IGNORECASE)
    ]
    assert mentions == []


# Where a verb or an order's move is named: (call, position of that argument, its keyword).
VOCABULARY_ARGS = {
    "Action": (1, "verb"),
    "of": (0, "verb"),  # Action.of
    "move": (3, "action"),
    "can": (0, "action"),
    "target": (0, "action"),
    "_own": (2, "action"),
    "_event": (3, "action"),
    "verb_button": (0, "verb"),
    "button": (1, "data"),  # ctx.button(label, data): the data is built from a Verb
}
# Tables keyed by the vocabulary (their keys must be enum members, not strings).
VOCABULARY_TABLES = ("CALLBACKS", "ASKS_TEXT", "STATES", "MOVES", "LABELS", "TARGETS")


def _is_str(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def vocabulary_literals(source: str) -> list[int]:
    """Return the lines that write a button verb or an order's move as a string literal.

    Found: such an argument of Action(...), Action.of(...), move(...), can(...) and the like
    (VOCABULARY_ARGS), an `action=`/`verb=` keyword, a string key of a table keyed by the
    vocabulary, a comparison of `.verb`/`.action` with a string, and callback data written out
    ('acc:…', f"acc:{id}") whose prefix is a Verb's code.
    """
    from workflows.vocabulary import Move, Verb

    codes = {str(v) for v in Verb}
    moves = {str(m) for m in Move}
    data = re.compile("^(" + "|".join(sorted(map(re.escape, codes))) + ")(:|$)")
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in VOCABULARY_ARGS:
                index, keyword = VOCABULARY_ARGS[name]
                arg = node.args[index] if len(node.args) > index else None
                given = [k.value for k in node.keywords if k.arg == keyword]
                if any(_is_str(a) for a in [arg, *given]) or (
                    name == "button" and isinstance(arg, ast.JoinedStr)
                ):
                    lines.add(node.lineno)
            for k in node.keywords:
                if k.arg in ("action", "verb") and _is_str(k.value):
                    value = k.value.value  # type: ignore[attr-defined]
                    if value in moves or value in codes:
                        lines.add(node.lineno)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            named = {t.id for t in targets if isinstance(t, ast.Name)}
            if (
                named & set(VOCABULARY_TABLES)
                and isinstance(node.value, ast.Dict)
                and any(_is_str(key) for key in node.value.keys)
            ):
                lines.add(node.lineno)
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            about = any(
                isinstance(side, ast.Attribute) and side.attr in ("verb", "action")
                for side in sides
            )
            if about and any(_is_str(side) for side in sides):
                lines.add(node.lineno)
        elif isinstance(node, ast.JoinedStr) and node.values and _is_str(node.values[0]):
            if data.match(node.values[0].value):  # type: ignore[attr-defined]
                lines.add(node.lineno)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ":" in node.value
            and data.match(node.value)
        ):
            lines.add(node.lineno)
    return sorted(lines)


def test_verbs_and_moves_are_named_by_their_enums() -> None:
    """No string literal stands for a button verb or an order's move outside the vocabulary."""
    offenders = {
        str(path.relative_to(ROOT)): lines
        for package in ("workflows", "handlers")
        for path in (ROOT / package).rglob("*.py")
        if path.name != "vocabulary.py"
        if (lines := vocabulary_literals(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_the_vocabulary_check_sees_literals() -> None:
    """A verb or a move written as a string is found, however it is written."""
    source = (
        'Action("btn.x", "acc", 1)\n'  # 1
        'Action(label="btn.x", verb="acc", target_id=1)\n'  # 2
        'Action.of("acc", 1)\n'  # 3
        'await move(uow, clock, order, "cancel", actor_id=None)\n'  # 4
        'await move(uow, clock, order, action="cancel", actor_id=None)\n'  # 5
        'CALLBACKS = {"acc": (accept, 1, False)}\n'  # 6
        'if a.verb == "hd": pass\n'  # 7
        'b = ctx.button("btn.claim", f"clm:{order.id}")\n'  # 8
        'b = Button(name, f"rc:{c.id}")\n'  # 9
        'b = Button("中文", "lang:zh")\n'  # 10
        "Action.of(Verb.ACCEPT, 1)\n"  # 11: fine
        'await move(uow, clock, order, Move.CANCEL, actor_id=None, note="ok")\n'  # 12: fine
        'ctx.say("task.noted", number=1)\n'  # 13: fine
    )
    assert vocabulary_literals(source) == list(range(1, 11))


def run(*command: str) -> subprocess.CompletedProcess[str]:
    """Run a tool from this environment in the project root."""
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint() -> None:
    """ruff finds nothing."""
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    """The code is formatted."""
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    """mypy --strict is clean on every package."""
    result = run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
