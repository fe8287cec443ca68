# syntax=docker/dockerfile:1
# The screenpop server image (docs/production.md). Three stages: the agent panel's front-end packages (npm), the
# Python environment with the collected static files, and the runtime, which gets neither npm nor pip's build tools.
# Configuration comes only from the environment at run time; nothing secret is baked in.

FROM node:20-bookworm-slim AS panel-packages
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
# Wheels only: every pinned dependency ships one for CPython 3.11 on Linux, so nothing is compiled, here or later.
RUN /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.txt
WORKDIR /app
COPY manage.py ./
COPY genesys_app genesys_app/
COPY screenpop screenpop/
COPY templates templates/
COPY static static/
COPY locale locale/
COPY genesys genesys/
COPY --from=panel-packages /src/node_modules/purecloud-client-app-sdk/dist node_modules/purecloud-client-app-sdk/dist/
COPY --from=panel-packages /src/node_modules/genesys-spark-components/dist/genesys-webcomponents \
     node_modules/genesys-spark-components/dist/genesys-webcomponents/
# Only a production configuration (DATABASE_URL set) selects the hashed, compressed static storage the server reads
# at run time: these placeholders open no connection and stay in this stage. The panel's packages are served from
# static_build/ afterwards; their source directories stay, empty, because settings name them (system check W004).
RUN DATABASE_URL=postgres://collectstatic.invalid/none SECRET_KEY=collectstatic-only \
    FIELD_ENCRYPTION_KEY=collectstatic-only /opt/venv/bin/python manage.py collectstatic --noinput --verbosity 0 \
 && rm -rf node_modules \
 && mkdir -p node_modules/purecloud-client-app-sdk/dist node_modules/genesys-spark-components/dist/genesys-webcomponents \
 && /opt/venv/bin/python -m compileall -q genesys_app screenpop

FROM python:3.11-slim-bookworm AS runtime
# The root filesystem is read-only in production (compose, Kubernetes): no bytecode written, /tmp the only scratch.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 screenpop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin screenpop
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# Files stay root's: the server cannot change its own code even where the filesystem is writable.
USER 10001:10001
EXPOSE 8000
# Host: localhost, because the check's own address is not among ALLOWED_HOSTS (docs/production.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 CMD ["python", "-c", "import urllib.request as r; r.urlopen(r.Request('http://127.0.0.1:8000/healthz', headers={'Host': 'localhost'}), timeout=2)"]
# genesys_app/serving.py: uvicorn_args(host="0.0.0.0", port=8000); tests/test_deploy.py keeps the two equal.
CMD ["python", "-m", "uvicorn", "genesys_app.asgi:application", "--host", "0.0.0.0", "--port", "8000", \
     "--lifespan", "on", "--loop", "uvloop", "--http", "httptools", "--no-access-log", \
     "--ws-per-message-deflate", "false", "--ws-max-size", "65536", "--timeout-graceful-shutdown", "25"]
