# One image for every process: web, worker, beat, flower (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROMETHEUS_MULTIPROC_DIR=/var/run/omneo-zendesk/metrics

WORKDIR /app
COPY pyproject.toml README.md ./
COPY integration ./integration
COPY workers ./workers
COPY web ./web
RUN pip install . \
 && useradd --system --uid 10001 --home-dir /app app \
 && mkdir -p /var/run/omneo-zendesk/metrics \
 && chown -R app /var/run/omneo-zendesk

USER app
EXPOSE 8000 5555
CMD ["omneo-zendesk", "web", "--port", "8000"]
