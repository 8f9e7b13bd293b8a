"""The Celery app of the configured settings, for Celery's own command line: Flower's task
list and `celery inspect` see the armswatch tasks (`celery -A worker.app flower`).

The armswatch commands build their app with `create_app`; this module does so at import,
so only Celery's command line imports it. It needs a named Redis (REDIS_URL): Flower and
`inspect` watch a running deployment, never an embedded server of their own.
"""

from __future__ import annotations

from pipelines.errors import ConfigError

from .celery_app import create_app
from .settings import Settings

settings = Settings.load()
if not settings.redis_url:
    raise ConfigError("set REDIS_URL: worker.app watches the Redis the workers use")
app = create_app(settings, settings.redis_url)
