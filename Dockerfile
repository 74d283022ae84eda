# syntax=docker/dockerfile:1
#
# One image for every pv-control service: `docker run IMAGE meter`, `... wallbox`, ..., default `all`.
#
#   docker build -t pvcontrol .
#   docker buildx build --platform linux/arm64,linux/amd64 -t REGISTRY/pvcontrol .   # for a Raspberry Pi

# --- the Angular UI --------------------------------------------------------------------------------
# Built on the build machine's platform: the result is plain files, the same for every target.
FROM --platform=$BUILDPLATFORM node:20 AS ui
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui/ ./
# Built for `/`; the gateway rewrites index.html's <base href> when it runs with `--basehref`.
RUN npm run build

# --- wheels of pv-control and its dependencies (no dev extras) --------------------------------------
# RPi.GPIO (installed on ARM only) comes as source: it is compiled here, so the final image has no compiler.
FROM python:3.11-slim AS wheels
# hadolint ignore=DL3008  # the compiler of the base image's Debian release, whatever its patch level
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pvcontrol/ pvcontrol/
COPY services/ services/
COPY pvcontrol_app/ pvcontrol_app/
RUN pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

# --- the runtime image -----------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3013  # /wheels holds exactly the pinned versions built above, and nothing else
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels pvcontrol
# The gateway looks for the UI next to the sources by default; installed as a package it is here.
WORKDIR /app
COPY --from=ui /ui/dist/pvcontrol/browser/ /app/ui/dist/pvcontrol/browser/
ENV PVC_API__UI_DIR=/app/ui/dist/pvcontrol/browser
# A numeric non-root user, so that Kubernetes' runAsNonRoot can check it.
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin pvcontrol \
    && mkdir /data && chown 10001:10001 /data
# The gateway's charging history (SQLite); mount a volume here to keep it.
ENV PVC_HISTORY__DATA_DIR=/data
VOLUME ["/data"]
USER 10001:10001
# 8080: REST, SSE, UI and (for `api` and `all`) /metrics. Every other service serves /metrics on its own
# port (meter 9101, wallbox 9102, car 9103, relay 9104, controller 9105, forecast 9106, tariff 9107).
EXPOSE 8080
# No HEALTHCHECK here: only `api` and `all` serve /healthz; docker-compose.yml defines it for the api.
ENTRYPOINT ["pvcontrol"]
CMD ["all"]
