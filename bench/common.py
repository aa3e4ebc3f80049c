"""What every benchmark shares: the machine's description, scratch databases, figures."""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import statistics
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

# The PostgreSQL server the benchmarks may create scratch databases on (loopback only).
POSTGRES_URL = os.environ.get(
    "SANDAN_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")
_names = itertools.count()


def machine() -> str:
    """Describe the machine the figures come from: cores, memory, CPU, Python."""
    memory = "?"
    with contextlib.suppress(OSError), open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {memory} memory, "
        f"Python {platform.python_version()} on {platform.system()} {platform.release()}"
    )


def _admin_dsn() -> str:
    return make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)


async def postgres_reachable() -> str | None:
    """Return None when the benchmark PostgreSQL answers, else why not."""
    try:
        connection = await asyncpg.connect(_admin_dsn(), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        return f"{type(error).__name__}: {error}"
    await connection.close()
    return None


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(_admin_dsn(), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def scratch_database(backend: str) -> AsyncIterator[str]:
    """Yield the URL of a new, empty database of the backend; drop it afterwards."""
    name = f"sandan_bench_{os.getpid()}_{next(_names)}"
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="sandan-bench-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / (name + '.sqlite3')}"
        return
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def backends(wanted: Sequence[str]) -> list[str]:
    """Return the wanted backends that can run here; say why PostgreSQL is skipped."""
    usable = []
    for backend in wanted:
        if backend == "postgresql":
            why = await postgres_reachable()
            if why is not None:
                print(f"PostgreSQL skipped: {POSTGRES_URL} does not answer ({why})")
                continue
        usable.append(backend)
    return usable


def percentile(values: Sequence[float], share: float) -> float:
    """Return the value below which `share` (0–1) of the values lie (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    """Return the median, NaN for no values."""
    return statistics.median(values) if values else float("nan")


def verdict(met: bool) -> str:
    """Return how a figure stands against its target, as printed next to it."""
    return "target met" if met else "target MISSED"


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    """Return rows as an aligned plain-text table."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
