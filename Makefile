# The two commands of the README: `make up` (run everything) and `make test` (run every check).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3

.PHONY: up down test bench lint fmt typecheck install uv

uv:
	@command -v uv >/dev/null || $(PYTHON) -m pip install --quiet uv

install: uv
	uv sync --frozen --all-packages

## make up [DETACH=1]: install, start RabbitMQ if needed, migrate, run every process
up: install
	.venv/bin/python infra/dev/up.py $(if $(DETACH),--detach)

## make down: stop a detached `make up`
down:
	.venv/bin/python infra/dev/up.py --down

## make test: every nox session (each service's tests in its own venv, integration, lint, typecheck)
test: uv
	@command -v nox >/dev/null || $(PYTHON) -m pip install --quiet nox
	nox

## make bench: the benchmarks under bench/ (needs wrk: apt-get install -y wrk)
bench: uv
	@command -v wrk >/dev/null || (apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk)
	@command -v nox >/dev/null || $(PYTHON) -m pip install --quiet nox
	nox -s bench

lint: uv
	nox -s lint

typecheck: uv
	nox -s typecheck

fmt: install
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
