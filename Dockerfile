# syntax=docker/dockerfile:1
# dealpilot: one image for the API, the workers and the one-shot setup (`migrate` service).
# Build: docker build -t dealpilot .   Run: docker compose up (see README "Production").

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# uv from its official image, pinned to the version that wrote uv.lock.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# ---------------------------------------------------------------------------- build
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first: this layer is reused until pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# The application: code, email/page/prompt templates and the database migrations.
COPY alembic.ini worker.py ./
COPY dealpilot ./dealpilot
COPY models ./models
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY templates ./templates
COPY migrations ./migrations
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev

# ---------------------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 dealpilot \
 && useradd --system --uid 10001 --gid dealpilot --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin dealpilot \
 && mkdir -p /app/data \
 && chown dealpilot:dealpilot /app/data
WORKDIR /app
# Owned by root and read-only for the app user: only /app/data (outbox, state) is writable.
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEALPILOT_ENV=production \
    DEALPILOT_DATA_DIR=/app/data
USER dealpilot:dealpilot
# API, worker metrics (WORKER_METRICS_PORT), Temporal SDK metrics (TEMPORAL_METRICS_PORT).
EXPOSE 8000 9464 9465
ENTRYPOINT ["dealpilot"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
