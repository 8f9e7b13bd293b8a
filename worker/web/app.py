"""`armswatch web`: the analyst's page, an ASGI app on Starlette (read-only).

    GET /                           the page: live alerts, the ledger, the graph
    GET /events                     server-sent events: `alert` (and `ledger`) as they arrive;
                                    resumes after `Last-Event-ID` (or `?cursor=`)
    GET /api/alerts                 the newest alerts and the position to follow from
    GET /api/ledger?supplier=...    ledger entries with their status timeline
    GET /api/graph                  supplier -> recipient edges
    GET /stories/ID                 one story, evidence sentences marked in its text
    GET /subscriptions/NAME.atom    a subscription's alerts as an Atom feed
    GET /healthz                    200 when Redis answers

Everything a story says reaches the browser escaped (Jinja2 autoescape in the HTML, JSON
read into text nodes by the script) under a strict Content-Security-Policy (security.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import jinja2
import redis
import redis.asyncio as aioredis
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from pipelines.alert_formats import summary
from pipelines.alerts import alert_json
from pipelines.keys import Keys, as_text
from pipelines.record import STATUSES, SYSTEM_CLASSES

from .atom import atom_feed
from .data import Cursor, Reader, format_cursor, names_of, parse_cursor, stream_reads
from .ledger_view import FILTERS, LedgerView, graph
from .security import Guard
from .story import paragraphs

HERE = Path(__file__).resolve().parent
# The ledger's change stream sits in the SSE position under this name (no subscription
# name starts with "~").
LEDGER_CURSOR = "~ledger"


@dataclass
class Web:
    """What the routes share: the readers, the async client for SSE, the templates."""

    reader: Reader
    ledger: LedgerView
    aclient: aioredis.Redis
    keys: Keys
    recent: int
    block_ms: int
    templates: jinja2.Environment

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.templates.get_template(name).render(**context), status_code=status)


def templates() -> jinja2.Environment:
    # Autoescape everything: every value in a template may come from an article.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def _web(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def index(request: Request) -> Response:
    web = _web(request)
    return web.render(
        "index.html",
        subscriptions=web.reader.subscription_names(),
        filters=FILTERS,
        choices={"system_class": SYSTEM_CLASSES, "status": STATUSES},
    )


def api_alerts(request: Request) -> Response:
    web = _web(request)
    alerts, cursor = web.reader.recent(limit=web.recent)
    last: Any = web.reader.client.xrevrange(web.ledger.change_stream(), count=1)
    cursor[LEDGER_CURSOR] = as_text(last[0][0]) if last else "0-0"
    return JSONResponse({"alerts": alerts, "cursor": format_cursor(cursor)})


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in FILTERS}


def api_ledger(request: Request) -> Response:
    return JSONResponse({"entries": _web(request).ledger.entries(_filters(request))})


def api_graph(request: Request) -> Response:
    return JSONResponse(graph(_web(request).ledger.entries(_filters(request), limit=5000)))


def story(request: Request) -> Response:
    web = _web(request)
    hint = request.query_params.get("alert", "")
    record = web.reader.find_story(request.path_params["story_id"], hint=hint)
    if record is None:
        return web.render("missing.html", status=404, story_id=request.path_params["story_id"])
    transfers = list(record.get("transfers") or [])
    text = str(record.get("text") or "")
    return web.render(
        "story.html", record=record, transfers=transfers, paragraphs=paragraphs(text, transfers)
    )


def subscription_feed(request: Request) -> Response:
    web = _web(request)
    name = request.path_params["name"]
    if name not in web.reader.subscription_names():
        return PlainTextResponse(f"no subscription named {name!r}\n", status_code=404)
    alerts = web.reader.alert_entries(name, limit=web.recent)
    body = atom_feed(name, alerts, base_url=str(request.base_url))
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def healthz(request: Request) -> Response:
    try:
        _web(request).reader.client.ping()
    except redis.RedisError as exc:
        return PlainTextResponse(f"redis: {exc}\n", status_code=503)
    return PlainTextResponse("ok\n")


async def events(request: Request) -> Response:
    web = _web(request)
    cursor = parse_cursor(
        request.headers.get("last-event-id") or request.query_params.get("cursor")
    )
    return EventSourceResponse(_event_stream(web, cursor), ping=15, send_timeout=30)


async def _event_stream(web: Web, cursor: Cursor) -> AsyncIterator[ServerSentEvent]:
    """Alerts (and ledger changes) after `cursor`, as they come; each event's id is the
    position after it, so a reconnecting browser resumes exactly there."""
    cursor = dict(cursor)
    ledger = web.ledger.change_stream()
    if LEDGER_CURSOR not in cursor:  # from now on: the table was just loaded
        last: Any = await web.aclient.xrevrange(ledger, count=1)
        cursor[LEDGER_CURSOR] = as_text(last[0][0]) if last else "0-0"
    while True:
        names = await anyio.to_thread.run_sync(web.reader.subscription_names)
        streams: dict[Any, Any] = {
            **stream_reads(web.keys, names, cursor),
            ledger: cursor[LEDGER_CURSOR],
        }
        try:
            reply: Any = await web.aclient.xread(streams, count=100, block=web.block_ms)
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis restarting: keep the browser's connection and try again shortly.
            await anyio.sleep(1)
            continue
        by_key = names_of(web.keys, [as_text(k) for k, _ in reply or []])
        for key, entries in reply or []:
            key = as_text(key)
            for entry_id, fields in entries:
                entry_id = as_text(entry_id)
                if key == ledger:
                    cursor[LEDGER_CURSOR] = entry_id
                    # Which story changed what; not its record (the page reloads the table).
                    data = {
                        "story_id": as_text(fields.get("story_id")),
                        "changes": json.loads(as_text(fields.get("changes") or "[]")),
                    }
                    yield ServerSentEvent(
                        json.dumps(data), event="ledger", id=format_cursor(cursor)
                    )
                    continue
                cursor[by_key[key]] = entry_id
                alert = alert_json(entry_id, {as_text(k): as_text(v) for k, v in fields.items()})
                yield ServerSentEvent(
                    json.dumps(summary(alert)), event="alert", id=format_cursor(cursor)
                )


def create_app(
    *,
    client: redis.Redis,
    redis_url: str,
    keys: Keys,
    reader: Reader,
    token: str | None,
    recent: int = 50,
    block_ms: int = 5000,
) -> Any:
    """The ASGI app (wrapped in the security middleware); `client` must decode responses."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Reads block for `block_ms`: the socket must wait longer than that.
        aclient = aioredis.Redis.from_url(
            redis_url, decode_responses=True, socket_timeout=block_ms / 1000 + 10
        )
        app.state.web = Web(
            reader, LedgerView(client, keys), aclient, keys, recent, block_ms, templates()
        )
        try:
            yield
        finally:
            await aclient.aclose()

    routes = [
        Route("/", index),
        Route("/events", events),
        Route("/api/alerts", api_alerts),
        Route("/api/ledger", api_ledger),
        Route("/api/graph", api_graph),
        Route("/stories/{story_id}", story),
        Route("/subscriptions/{name}.atom", subscription_feed),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Guard(Starlette(routes=routes, lifespan=lifespan), token=token)
