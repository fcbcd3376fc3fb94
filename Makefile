# The portal's two commands are `make run` and `make test` (README.md).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help run test install lint fmt typecheck security bench check-deploy messages clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools
	$(BIN)/pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev dependencies

run: $(STAMP) ## migrate, load the demo county, print the demo logins, serve http://127.0.0.1:8000
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	@echo "==> http://$(HOST):$(PORT)/"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP) ## run the whole suite (PostgreSQL/Redis/Chromium tests skip with a reason when absent)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP) ## format with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# bandit over the project's own code (not tests/, bench/ or .venv): a finding of medium or high
# severity with medium or high confidence fails; false positives carry `# nosec BXXX  # reason`.
# Then pip-audit over the installed environment and the newest Django 5.2 patch (bin/audit_deps.py;
# PIP_AUDIT_STRICT=1 also fails on releases that could not be audited).
security: $(STAMP) ## bandit (medium+) and pip-audit (known vulnerabilities) — the security gates of .ci/run
	$(BIN)/bandit -q -r eldercare institutions contracts subsidies assessments --severity-level medium --confidence-level medium
	$(BIN)/python bin/audit_deps.py

typecheck: $(STAMP) ## Django system checks (mypy with django-stubs is not set up yet)
	$(BIN)/python manage.py check

check-deploy: $(STAMP) ## `check --deploy` on production settings
	SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') ALLOWED_HOSTS=portal.example.gov.cn \
	PORTAL_ID_ENCRYPTION_KEY=check-deploy-enc PORTAL_ID_HASH_KEY=check-deploy-hash \
	DJANGO_SETTINGS_MODULE=eldercare.settings.production $(BIN)/python manage.py check --deploy --fail-level WARNING

messages: $(STAMP) ## refresh and compile the Chinese catalogue
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=static --ignore=var --ignore=tests --ignore=bench --no-location
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

bench: $(STAMP) ## benchmarks under bench/ (results in docs/benchmarks.md; PostgreSQL on 127.0.0.1)
	$(BIN)/python bench/scope_query.py
	$(BIN)/python bench/import_bench.py --sizes 10000,100000
	$(BIN)/python bench/report_bench.py

load: $(STAMP) ## load benchmark: gunicorn + Celery on loopback driven by locust (scratch DB eldercare_load; ~20 min; docs/benchmarks.md)
	$(BIN)/python bench/load/run.py $(LOAD_ARGS)

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) var
