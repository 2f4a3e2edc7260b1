# AutoSight: the API server (dashboard, REST API, scheduled ingestion) and the batch (main.py) in one image.
# Lint: hadolint Dockerfile (.ci/run). No container engine runs on the development machines: see README "Containers".
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OUTPUT_DIR=/data/outputs \
    LOG_FILE=/data/logs/autosight.log \
    AUTOSIGHT_DATA_DIR=/data/state \
    UPLOAD_DIR=/data/uploads

# A user of its own: the server never runs as root (the embedded PostgreSQL is not used here: compose
# gives the app a real PostgreSQL through DATABASE_URL).
RUN groupadd --system --gid 10001 autosight \
    && useradd --system --uid 10001 --gid autosight --home-dir /app --shell /usr/sbin/nologin autosight

WORKDIR /app
COPY requirements.txt .
RUN pip install --requirement requirements.txt

COPY --chown=root:root . .
RUN mkdir -p /data/outputs /data/logs /data/state /data/uploads /data/inbox \
    && chown -R autosight:autosight /data

USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]

# /healthz answers 200 while the database is reachable; with a token set (needed off loopback) it is sent.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "deploy/healthcheck.py"]

# Listening beyond loopback (inside the container): AUTOSIGHT_API_TOKEN is required, the server refuses to start without it.
CMD ["python", "api.py", "--host", "0.0.0.0", "--port", "8000"]
