"""What an operator's monitoring reads: /healthz and Prometheus' /metrics, in either mode."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import World

pytestmark = pytest.mark.both_modes


async def scrape(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Return every sample /metrics shows, by name and labels."""
    url = f"http://127.0.0.1:{world.app.monitor_port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_healthz_answers_in_every_mode(world: World) -> None:
    """The monitoring listener says the bot is up and its database answers."""
    url = f"http://127.0.0.1:{world.app.monitor_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": True}


async def test_metrics_follow_what_happens(world: World) -> None:
    """Updates handled, sends by outcome, open orders by status, the outbox and the timers."""
    before = await scrape(world)
    assert before[("sandan_orders", (("status", "offered"),))] == 0
    assert before[("sandan_sends_total", (("outcome", "429"),))] == 0

    worker = await world.join(world.place.unit_head)
    resident = await world.resident("王阿姨", "101")
    await world.order(resident, "水电气维修", "厨房水龙头一直滴水")
    await worker.wait_for("新任务")
    fired = await world.later(hours=30)  # the offer lapses: a reminder, then the next candidate

    after = await scrape(world)
    handled = after[("sandan_updates_total", (("outcome", "ok"),))]
    assert handled >= before[("sandan_updates_total", (("outcome", "ok"),))] + 8
    assert after[("sandan_updates_total", (("outcome", "failed"),))] == 0
    assert after[("sandan_update_seconds_count", ())] >= handled
    assert (
        after[("sandan_sends_total", (("outcome", "ok"),))]
        > before[("sandan_sends_total", (("outcome", "ok"),))]
    )
    open_orders = sum(v for (name, _), v in after.items() if name == "sandan_orders")
    assert open_orders == 1
    assert fired > 0 and after[("sandan_timers_fired_total", ())] >= fired
    assert sum(v for (n, _), v in after.items() if n == "sandan_timers_fired_last_hour") >= fired
    # The clock jumped 30 hours: the reminder and the lapse fired long after they were due.
    assert after[("sandan_timer_delay_max_seconds", ())] > 3600
    assert ("sandan_outbox_backlog", ()) in after
    assert after[("sandan_outbox_oldest_seconds", ())] >= 0
