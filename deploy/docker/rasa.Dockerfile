# syntax=docker/dockerfile:1
#
# The `rasa` image: Rasa Open Source 3.6.21 on Python 3.10 with the returns assistant's model,
# its custom channels (bot/channels/) and endpoints. Build from the repository root:
#
#   docker build -f deploy/docker/rasa.Dockerfile -t returns-assistant/rasa:dev .
#
# The model is trained in the `model-train` stage (a few minutes; no pre-trained model is
# downloaded). To ship the one `make rasa-model` built instead (models/rasa/returns-assistant.tar.gz):
#
#   docker build -f deploy/docker/rasa.Dockerfile --build-arg MODEL_STAGE=model-prebuilt -t ... .
#
# The container runs deploy/docker/rasa-entrypoint.sh: `rasa run --enable-api --auth-token
# $RASA_TOKEN --port 5005 ...` (RASA_TOKEN is required). bot/endpoints.yml reads
# ACTION_SERVER_URL, RASA_TRACKER_DB_URL, RASA_LOCK_STORE and RASA_LOCK_STORE_URL.

ARG PYTHON_IMAGE=python:3.10-slim-bookworm
ARG MODEL_STAGE=model-train

# --- Rasa in a virtual environment (compilers only here, for any dependency without a wheel) ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/rasa/bin:$PATH
# Debian's compilers as the base image ships them (unpinned: only this throw-away stage uses them).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/rasa
COPY constraints-rasa.txt /tmp/constraints-rasa.txt
RUN pip install -c /tmp/constraints-rasa.txt rasa==3.6.21

FROM ${PYTHON_IMAGE} AS base
RUN groupadd --system --gid 10001 rasa \
    && useradd --system --uid 10001 --gid rasa --create-home --home-dir /home/rasa rasa
COPY --from=build /opt/rasa /opt/rasa
ENV PATH=/opt/rasa/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/rasa \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1

# --- the model, trained from nlu_data/ and bot/ -------------------------------------------------
FROM base AS model-train
WORKDIR /train
COPY config.yml ./
COPY nlu_data ./nlu_data
COPY bot/domain ./bot/domain
COPY bot/data ./bot/data
RUN rasa train --domain bot/domain --data nlu_data bot/data --config config.yml \
        --out /model --fixed-model-name returns-assistant

# --- or the model built beside the checkout (`make rasa-model`) ---------------------------------
FROM scratch AS model-prebuilt
COPY models/rasa/returns-assistant.tar.gz /model/returns-assistant.tar.gz

# hadolint ignore=DL3006
FROM ${MODEL_STAGE} AS model

# --- runtime ------------------------------------------------------------------------------------
FROM base AS runtime
WORKDIR /app
COPY bot ./bot
COPY --from=model /model/returns-assistant.tar.gz ./models/rasa/returns-assistant.tar.gz
COPY --chmod=0755 deploy/docker/rasa-entrypoint.sh /usr/local/bin/rasa-entrypoint
# Rasa writes nothing here in production (tracker store: PostgreSQL); var/ is where the
# development SQLite tracker would go.
RUN mkdir -p /app/var && chown rasa:rasa /app/var
ENV PYTHONPATH=/app
USER 10001:10001
EXPOSE 5005
ENTRYPOINT ["/usr/local/bin/rasa-entrypoint"]
