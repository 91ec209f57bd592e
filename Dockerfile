# Stance Tracker: the API, scheduler and webhook worker in one process, on SQLite in /data by
# default; set STANCE_DATABASE_URL to a PostgreSQL URL to run as part of a fleet.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN groupadd --system --gid 10001 stance \
 && useradd --system --uid 10001 --gid stance --home-dir /app --no-create-home stance \
 && mkdir -p /data && chown stance:stance /data

COPY pyproject.toml README.md alembic.ini ./
COPY service ./service
COPY migrations ./migrations
RUN pip install . && rm -rf build *.egg-info

USER stance
ENV STANCE_HOST=0.0.0.0 \
    STANCE_PORT=8000 \
    STANCE_DATABASE_URL=sqlite:////data/stance.db \
    STANCE_MIGRATIONS_DIR=/app/migrations
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

CMD ["stance", "serve"]
