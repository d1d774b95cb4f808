# Two commands to start: `make run` and `make test`. Only Python 3.11+ and git needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test lint format migrate demo clean-db screenshots

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(VENV)/.runtime
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

.env:
	$(PYTHON) scripts/make_env.py

migrate: $(VENV)/.runtime .env
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

run: demo
	@$(PY) manage.py demo_logins
	$(VENV)/bin/honcho start

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

# Visits every Settings page in Chromium (tests/e2e/test_settings_pages.py), then keeps the README's two.
screenshots: $(VENV)/.dev
	$(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_settings_pages.py
	cp var/screenshots/settings/home.png docs/settings-home.png
	cp var/screenshots/settings/meta-instagramaccount.png docs/settings-instagram.png

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
