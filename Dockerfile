# syntax=docker/dockerfile:1
# OCMA: API (`ocma serve`), workers (`ocma worker`) and migrations (`ocma db upgrade`) from one image.
# Build: docker build -t ocma .     Run: see compose.yaml and docs/operations.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve exactly what uv.lock pins into a virtual environment -------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/ocma \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY . .
# Every workspace member (core, platform and AI plugins, agent, Slack bot), S3 and OpenTelemetry extras,
# no dev tools; installed as packages, not links to /src, so the next stage needs only /opt/ocma.
RUN uv sync --frozen --no-dev --all-packages --no-editable --extra s3 --extra otel

# --- runtime: the environment and a non-root user; no compilers, no build tools ---------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="OCMA" \
      org.opencontainers.image.description="Self-hostable social-media content manager" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 ocma \
    && useradd --system --uid 10001 --gid ocma --home-dir /var/lib/ocma --create-home --shell /usr/sbin/nologin ocma \
    && chmod 0700 /var/lib/ocma
COPY --from=build --chown=root:root /opt/ocma /opt/ocma
ENV PATH=/opt/ocma/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OCMA_DATA_DIR=/var/lib/ocma \
    OCMA_HOST=0.0.0.0 \
    OCMA_PORT=8000 \
    OCMA_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/ocma
VOLUME ["/var/lib/ocma"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('OCMA_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["ocma"]
CMD ["serve"]
