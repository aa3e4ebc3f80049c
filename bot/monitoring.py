"""Monitoring that operators' tools read: /healthz and a Prometheus /metrics endpoint.

The metrics live in a registry of their own, made when the bot starts (nothing at import
time). What only the database knows (the outbox's backlog, timers fired lately, open orders) is
read when /metrics is asked, so every instance reports the same shared figures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.sending import Outcome
from storage.health import Readings

log = logging.getLogger(__name__)
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"


class Metrics:
    """Sandan's metrics: what this process counted, and the database's readings."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "sandan_updates", "Updates handled, by outcome.", ["outcome"], registry=self.registry
        )
        self.update_seconds = Histogram(
            "sandan_update_seconds",
            "Time to handle one update, its commit included.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.sends = Counter(
            "sandan_sends", "Outbox sends, by outcome.", ["outcome"], registry=self.registry
        )
        # Each outcome shows from the start, at 0.
        for sent in Outcome:
            self.sends.labels(sent.value)
        for handled in ("ok", "failed"):
            self.updates.labels(handled)
        self.timers = Counter(
            "sandan_timers_fired", "Timers this instance fired.", registry=self.registry
        )
        self.readings = Readings()
        self.registry.register(_DatabaseCollector(self))

    def sent(self, outcome: Outcome) -> None:
        """Count one send's outcome."""
        self.sends.labels(outcome.value).inc()

    def exposition(self) -> bytes:
        """Return the metrics in Prometheus' text format."""
        return generate_latest(self.registry)


class _DatabaseCollector(Collector):
    """Reports the latest database readings as gauges."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        """Yield the readings taken for this scrape."""
        r = self.metrics.readings
        yield GaugeMetricFamily(
            "sandan_outbox_backlog", "Messages waiting to be sent.", value=r.outbox_backlog
        )
        yield GaugeMetricFamily(
            "sandan_outbox_oldest_seconds",
            "How long the oldest waiting message has waited.",
            value=r.outbox_oldest_seconds,
        )
        fired = GaugeMetricFamily(
            "sandan_timers_fired_last_hour",
            "Timers fired by any instance in the last hour, by kind.",
            labels=["kind"],
        )
        for kind, count in sorted(r.timers_fired_recently.items()):
            fired.add_metric([kind], count)
        yield fired
        yield GaugeMetricFamily(
            "sandan_timer_delay_max_seconds",
            "The longest a timer fired in the last hour waited past its due time.",
            value=r.timer_delay_max_seconds,
        )
        orders = GaugeMetricFamily(
            "sandan_orders", "Orders not yet closed, by status.", labels=["status"]
        )
        for status, count in sorted(r.orders_by_status.items()):
            orders.add_metric([status], count)
        yield orders


def monitor_app(
    metrics: Metrics,
    *,
    database_answers: Callable[[], Awaitable[bool]],
    read: Callable[[], Awaitable[Readings]],
) -> web.Application:
    """Return the monitoring application: /healthz and /metrics."""
    app = web.Application()
    app.router.add_get(HEALTH_PATH, health_handler(database_answers))

    async def scrape(request: web.Request) -> web.Response:
        """Read the database's figures, then answer in Prometheus' text format."""
        try:
            metrics.readings = await read()
        except Exception:
            log.exception("reading the database for /metrics failed")
            return web.Response(status=503, text="the database does not answer")
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app.router.add_get(METRICS_PATH, scrape)
    return app


def health_handler(
    database_answers: Callable[[], Awaitable[bool]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Return the /healthz handler: 200 when the database answers, 503 when it does not."""

    async def health(request: web.Request) -> web.Response:
        """Say whether the bot is up and its database answers."""
        database = await database_answers()
        return web.json_response(
            {"status": "ok" if database else "degraded", "database": database},
            status=200 if database else 503,
            dumps=json.dumps,
        )

    return health
