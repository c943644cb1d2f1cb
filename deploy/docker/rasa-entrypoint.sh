#!/bin/sh
# Start Rasa's server with the HTTP API behind a token (the API calls it with RASA_TOKEN).
# CORS_ORIGINS (the same setting the API reads, comma-separated) becomes Rasa's --cors list, for
# shop pages on other origins that embed the widget (docs/widget.md). Extra arguments are passed on.
set -eu
: "${RASA_TOKEN:?RASA_TOKEN must be set: the token of Rasa's HTTP API}"
# --auth-token=...: one argument, so a token that starts with "-" is not taken for an option.
set -- rasa run --enable-api "--auth-token=$RASA_TOKEN" --port 5005 \
    --model models/rasa/returns-assistant.tar.gz \
    --endpoints bot/endpoints.yml --credentials bot/credentials.yml "$@"
if [ -n "${CORS_ORIGINS:-}" ]; then
    # shellcheck disable=SC2046 # one argument per origin
    set -- "$@" --cors $(printf '%s' "$CORS_ORIGINS" | tr ',' ' ')
fi
exec "$@"
