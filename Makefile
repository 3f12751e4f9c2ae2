# Two commands for a newcomer: `make run` (the app on SQLite with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PASSWORD ?= huoyan-demo
DEMO_SOURCE_KEY ?= hy_demo_local_key_0123456789
# The test suite runs on PostgreSQL and a real Redis, and fails (never skips) without them.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/huoyan
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
PYTEST_ARGS ?=

.PHONY: venv assets run test lint bench audit

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Front-end libraries come from the npm registry at set-up and are served by the app (no CDN).
static/vendor/.installed: package.json package-lock.json scripts/vendor_assets.sh
	sh scripts/vendor_assets.sh
	touch $@

assets: static/vendor/.installed

run: venv assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo --password $(DEMO_PASSWORD) --source-key $(DEMO_SOURCE_KEY)
	@echo ""
	@echo "Huoyan is starting at http://$(HOST):$(PORT)/  (API docs: http://$(HOST):$(PORT)/api/v1/docs/)"
	@echo "Log in as suzhou_leader, suzhou_supervisor, admin, or <county>_supervisor / _verifier / _leader"
	@echo "for kunshan, changshu, zhangjiagang, taicang, wujiang; password: $(DEMO_PASSWORD)"
	@echo ""
	@# The deadline sweeper runs beside the web server (no Redis needed) and stops with it.
	$(PY) manage.py run_sweeper --interval 60 & SWEEPER=$$!; trap 'kill $$SWEEPER' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# Two workers for everything but the fault tests, which stop and restart PostgreSQL and Redis and
# so run alone, afterwards. `make test PYTEST_ARGS=…` passes arguments to the first run only.
TEST_ENV = DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) REDIS_URL=$(TEST_REDIS_URL) \
	HUOYAN_REQUIRE_SERVICES=1
TEST_WORKERS ?= 2

test: venv assets
ifeq ($(PYTEST_ARGS),)
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) -m "not faults"
	$(TEST_ENV) $(PY) -m pytest -m faults
else
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)
endif

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

bench: venv
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m bench

# Known vulnerabilities in the pinned dependencies (needs PyPI's vulnerability data online).
audit: venv
	$(VENV)/bin/pip-audit -r requirements.txt
