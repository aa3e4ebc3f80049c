"""Reports: a day's, week's or month's figures per community, grid, category or team, a chart,
and the orders as XLSX (openpyxl) or CSV, Chinese headers, one row per order with its stage times.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from aiohttp import web

from bot.console.forms import Invalid, choice, day
from bot.console.reach import Viewer
from bot.console.site import SECURITY_HEADERS, console_of, page, problem, signed_in
from bot.console.xlsx import workbook_bytes
from storage.board import ReportRow, names, place_table, report_rows, teams_of
from storage.uow import SqlUnitOfWork
from workflows.model import OrderStatus
from workflows.vocabulary import Channel, Move

PERIODS = ("day", "week", "month")
GROUPS = ("community", "grid", "category", "team")
# The export's columns: Chinese headers, then the moment each stage was first reached.
HEADERS = (
    "服务单号",
    "社区",
    "网格",
    "类别",
    "紧急程度",
    "渠道",
    "状态",
    "经办人",
    "班组",
    "下单时间",
    "派单时间",
    "接单时间",
    "出发时间",
    "办结时间",
    "关闭时间",
    "取消时间",
    "评分",
)
STAGE_COLUMNS = (
    Move.OFFER,
    Move.ACCEPT,
    Move.ON_WAY,
    Move.RESOLVE,
    Move.CONFIRM,
    Move.CANCEL,
)
URGENCY_ZH = {"normal": "不急", "urgent": "紧急"}


def period_of(kind: str, anchor: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the local day, week (from Monday) or month that holds `anchor`."""
    if kind == "day":
        start = anchor
        end = anchor + timedelta(days=1)
    elif kind == "week":
        start = anchor - timedelta(days=anchor.weekday())
        end = start + timedelta(days=7)
    else:
        start = anchor.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return datetime.combine(start, time(), tzinfo=zone), datetime.combine(end, time(), tzinfo=zone)


@dataclass
class Figures:
    """One group's figures in a period."""

    name: str
    placed: int = 0
    resolved: int = 0
    closed: int = 0
    cancelled: int = 0
    still_open: int = 0
    rated: int = 0
    rating_sum: int = 0

    @property
    def rating(self) -> str:
        """Return the average rating, or a dash."""
        return f"{self.rating_sum / self.rated:.1f}" if self.rated else "—"


@dataclass
class Sheet:
    """The orders of a report with every name they are shown with."""

    rows: list[ReportRow]
    places: dict[int, tuple[str, str, int | None]]
    categories: dict[int, str]
    people: dict[int, str]
    teams: dict[int, str]

    def grid_of(self, row: ReportRow) -> int | None:
        """Return the grid of the order's building."""
        building = self.places.get(row.building_id or 0)
        return building[2] if building else None

    def place_name(self, place_id: int | None, lang: str = "zh") -> str:
        """Return a place's name, or a dash."""
        found = self.places.get(place_id or 0)
        return (found[1] if lang == "en" and found[1] else found[0]) if found else "—"

    def group(self, row: ReportRow, by: str, lang: str) -> str:
        """Return the name of the group a row counts in."""
        if by == "community":
            return self.place_name(row.community_id, lang)
        if by == "grid":
            return self.place_name(self.grid_of(row), lang)
        if by == "category":
            return self.categories.get(row.category_id, "—")
        return self.teams.get(row.assignee_id or 0, "—")


async def sheet(
    uow: SqlUnitOfWork, viewer: Viewer, since: datetime, until: datetime, lang: str
) -> Sheet:
    """Read a report's orders and the names they are shown with."""
    rows = await report_rows(uow.session, viewer.reach, since, until)
    holders = [r.assignee_id for r in rows if r.assignee_id is not None]
    return Sheet(
        rows,
        await place_table(uow.session),
        {c.id: c.names.pick(lang) for c in await uow.categories.list()},
        await names(uow.session, holders),
        await teams_of(uow.session, holders),
    )


def figures(found: Sheet, by: str, lang: str) -> list[Figures]:
    """Return each group's figures, the busiest first."""
    groups: dict[str, Figures] = {}
    for row in found.rows:
        name = found.group(row, by, lang)
        f = groups.setdefault(name, Figures(name))
        f.placed += 1
        if Move.RESOLVE in row.stages:
            f.resolved += 1
        if row.status == OrderStatus.CLOSED:
            f.closed += 1
        elif row.status == OrderStatus.CANCELLED:
            f.cancelled += 1
        elif row.status != OrderStatus.RESOLVED:
            f.still_open += 1
        if row.rating is not None:
            f.rated += 1
            f.rating_sum += row.rating
    return sorted(groups.values(), key=lambda f: (-f.placed, f.name))


def _query(request: web.Request, zone: tzinfo, today: date) -> tuple[str, str, date]:
    """Return the period kind, the grouping and the day the report is about."""
    values = request.query
    kind = choice(values, "period", set(PERIODS)) or "day"
    by = choice(values, "by", set(GROUPS)) or "community"
    anchor = day(values, "date") or today
    if not date(2000, 1, 1) <= anchor <= date(2100, 1, 1):
        raise Invalid("date")
    return kind, by, anchor


async def reports_page(request: web.Request) -> web.Response:
    """The reports page: the period's figures per group, a bar chart, the download links."""
    console = console_of(request)
    zone = console.config.zone
    async with console.units() as uow:
        viewer, session = await signed_in(request, uow)
        lang = viewer.lang
        if not viewer.may_report:
            return problem(request, lang, 403, "error.not_allowed")
        try:
            kind, by, anchor = _query(request, zone, console.clock.now().astimezone(zone).date())
        except Invalid as bad:
            return problem(request, lang, 400, "web.bad_input", field=bad.field)
        since, until = period_of(kind, anchor, zone)
        found = await sheet(uow, viewer, since, until, lang)
        groups = figures(found, by, lang)
        most = max((g.placed for g in groups), default=0)
        by_status = Counter(r.status for r in found.rows)
        return page(
            request,
            "reports.html",
            viewer,
            session,
            kind=kind,
            by=by,
            anchor=anchor.isoformat(),
            since=since,
            until=until - timedelta(seconds=1),
            groups=groups,
            most=most,
            total=len(found.rows),
            by_status=dict(by_status),
            periods=PERIODS,
            group_kinds=GROUPS,
        )


def export_rows(found: Sheet, zone: tzinfo) -> Iterator[list[Any]]:
    """Yield one row per order, in the export's columns (moments local, without a zone)."""

    def local(moment: datetime | None) -> datetime | None:
        return moment.astimezone(zone).replace(tzinfo=None) if moment else None

    for row in found.rows:
        stages = {**row.stages}
        if Move.CLAIM in stages and Move.ACCEPT not in stages:
            stages[Move.ACCEPT] = stages[Move.CLAIM]
        if Move.AUTOCLOSE in stages and Move.CONFIRM not in stages:
            stages[Move.CONFIRM] = stages[Move.AUTOCLOSE]
        yield [
            f"{row.id:05d}",
            found.place_name(row.community_id),
            found.place_name(found.grid_of(row)),
            found.categories.get(row.category_id, "—"),
            URGENCY_ZH.get(row.urgency, row.urgency),
            row.channel,
            row.status,
            found.people.get(row.assignee_id or 0, ""),
            found.teams.get(row.assignee_id or 0, ""),
            local(row.created_at),
            *(local(stages.get(str(m))) for m in STAGE_COLUMNS),
            row.rating,
        ]


def xlsx_bytes(found: Sheet, zone: tzinfo, status_names: dict[str, str]) -> bytes:
    """Return the report's orders as an Excel workbook (bot/console/xlsx.py: fast for 30k rows)."""

    def rows() -> Iterator[list[Any]]:
        for values in export_rows(found, zone):
            values[5:7] = [status_names.get(v, v) for v in values[5:7]]
            yield values

    return workbook_bytes("服务单", HEADERS, rows())


def csv_text(found: Sheet, zone: tzinfo, status_names: dict[str, str]) -> str:
    """Return the report's orders as CSV (with a BOM, so that Excel reads the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for values in export_rows(found, zone):
        values[5:7] = [status_names.get(v, v) for v in values[5:7]]
        writer.writerow(
            [v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in values]
        )
    return out.getvalue()


async def export(request: web.Request) -> web.StreamResponse:
    """Download the period's orders as XLSX or CSV."""
    console = console_of(request)
    zone = console.config.zone
    fmt = request.match_info["fmt"]
    async with console.units() as uow:
        viewer, _ = await signed_in(request, uow)
        lang = viewer.lang
        if not viewer.may_report:
            return problem(request, lang, 403, "error.not_allowed")
        try:
            kind, _by, anchor = _query(request, zone, console.clock.now().astimezone(zone).date())
        except Invalid as bad:
            return problem(request, lang, 400, "web.bad_input", field=bad.field)
        since, until = period_of(kind, anchor, zone)
        found = await sheet(uow, viewer, since, until, "zh")
    status_names = {str(s): console.t("zh", f"web.stage_{s}") for s in OrderStatus}
    status_names.update({str(c): console.t("zh", f"channel.{c}") for c in Channel})
    filename = f"sandan-{kind}-{anchor.isoformat()}.{fmt}"
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    if fmt == "xlsx":
        return web.Response(
            body=xlsx_bytes(found, zone, status_names),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers=headers,
        )
    return web.Response(
        text=csv_text(found, zone, status_names),
        content_type="text/csv",
        charset="utf-8",
        headers=headers,
    )
