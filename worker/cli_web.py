"""`armswatch web`: serve the analyst's page (worker/web/) with uvicorn.

Loopback by default. Bound to any other address it needs an access token
(`ARMSWATCH_WEB_TOKEN` or `--token-env NAME`): the page is read-only, but alerts are not
for everyone.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from typing import Any

import click
import redis

from pipelines.errors import ConfigError
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import load_subscriptions

# The token travels in a cookie and a query string: URL- and cookie-safe characters only.
_TOKEN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")


def is_loopback(host: str) -> bool:
    """Whether binding `host` exposes the page only to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_token(host: str, configured: str | None, *, unsafe_no_token: bool = False) -> str | None:
    """The token the page requires: none on loopback unless set; a ConfigError when it is
    needed and missing, or unfit for a cookie. An empty token is no token."""
    if not configured:
        if is_loopback(host) or unsafe_no_token:
            return None
        raise ConfigError(
            f"serving on {host} (beyond loopback) needs an access token: set ARMSWATCH_WEB_TOKEN"
        )
    if not _TOKEN.match(configured):
        raise ConfigError("the web token must be 16-256 characters of A-Z a-z 0-9 . _ ~ -")
    return configured


def build_app(settings: Any, url: str, *, token: str | None) -> Any:
    """The page's ASGI app for these settings and this Redis."""
    from .web.app import create_app
    from .web.data import Reader

    client = redis.Redis.from_url(url, decode_responses=True)
    store = SubscriptionStore(load_subscriptions(settings.config_dir), settings.keys)
    reader = Reader(client, settings.keys, store, story_scan=settings.web_story_scan)
    return create_app(
        client=client,
        redis_url=url,
        keys=settings.keys,
        reader=reader,
        token=token,
        recent=settings.web_recent_alerts,
    )


@click.command()
@click.option("--host", default=None, help="Address to bind [web_host: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Port [web_port: 8080].")
@click.option(
    "--token-env",
    default=None,
    help="Read the access token from this environment variable [ARMSWATCH_WEB_TOKEN].",
)
@click.option(
    "--unsafe-no-token",
    is_flag=True,
    help="Serve beyond loopback without a token: only where something else limits who can "
    "connect (compose publishes the port on the host's loopback).",
)
@click.pass_obj
def web(
    state: Any, host: str | None, port: int | None, token_env: str | None, unsafe_no_token: bool
) -> None:
    """Serve the analyst's page: live alerts, the ledger, the graph, stories, Atom feeds."""
    import uvicorn

    from .redis_server import redis_url

    settings = state.settings
    host = host or settings.web_host
    port = settings.web_port if port is None else port
    configured = os.environ.get(token_env) if token_env else None
    if configured is None and settings.web_token is not None:
        configured = settings.web_token.get_secret_value()
    try:
        token = access_token(host, configured, unsafe_no_token=unsafe_no_token)
        with redis_url(settings.redis_url, settings.data_dir) as url:
            app = build_app(settings, url, token=token)
            click.echo(
                f"armswatch web: http://{host}:{port}/" + (" (token required)" if token else ""),
                err=True,
            )
            uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)
    except ConfigError as exc:
        click.echo(f"armswatch: {exc}", err=True)
        sys.exit(2)
