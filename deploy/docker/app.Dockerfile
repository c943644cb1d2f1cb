# syntax=docker/dockerfile:1
#
# The `app` image: the FastAPI backend (api) and the Rasa action server (actions), one image, two
# commands. Build from the repository root (the context .dockerignore trims):
#
#   docker build -f deploy/docker/app.Dockerfile -t returns-assistant/app:dev .
#
# api (default):  gunicorn api.main:app -k uvicorn_worker.UvicornWorker -w 4 -b 0.0.0.0:8000
# actions:        python -m rasa_sdk --actions actions --port 5055
# migrations:     python -m api.migrate upgrade      (one-shot, before the api starts)
#
# Every setting is an environment variable (api/settings.py); no secret is baked in.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- browser packages the API serves (socket.io client, rasa-webchat): `make web` -------------
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY api/web/package.json api/web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- Python dependencies in a virtual environment ---------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# PyTorch's CPU build first (PyPI's torch wheel pulls several GB of CUDA libraries). --no-deps:
# torch's own requirements come from PyPI below, at the versions constraints.txt pins.
ARG TORCH_VERSION=2.13.0
RUN pip install --no-deps --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}"
WORKDIR /app
# Dependencies only (a layer that changes with pyproject.toml / constraints.txt, not with code).
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt
# The project itself, editable: settings, the damage model and the migrations are found relative
# to the source tree (/app), as in a checkout.
COPY README.md ./
COPY api ./api
COPY actions ./actions
COPY policy ./policy
COPY vision ./vision
COPY models/damage ./models/damage
COPY --from=web /web/node_modules ./api/web/node_modules
RUN pip install --no-deps -c constraints.txt -e . \
    && python -m compileall -q api actions policy vision

# --- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
# var/: outbox and other local state; in production the database is PostgreSQL and photos are in S3.
RUN mkdir -p /app/var && chown app:app /app/var
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/app \
    MPLCONFIGDIR=/tmp/matplotlib \
    HF_HUB_OFFLINE=1 \
    ENVIRONMENT=production \
    VAR_DIR=/app/var
WORKDIR /app
USER 10001:10001
EXPOSE 8000 5055
# --forwarded-allow-ips: only nginx / the ingress controller reach the API in these topologies, so
# X-Forwarded-Proto/-For from them are trusted (https links, the lookup throttle's client address).
CMD ["gunicorn", "api.main:app", "-k", "uvicorn_worker.UvicornWorker", "-w", "4", "-b", "0.0.0.0:8000", \
     "--forwarded-allow-ips", "*", "--timeout", "120", "--graceful-timeout", "20", "--access-logfile", "-"]
