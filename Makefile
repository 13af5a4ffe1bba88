# The two commands of the README: `make up` (run everything) and `make test` (run every check).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
PYTHON ?= python3

.PHONY: up down test bench lint fmt typecheck install uv release deploy rollback

uv:
	@command -v uv >/dev/null || $(PYTHON) -m pip install --quiet uv

install: uv
	uv sync --frozen --all-packages --all-extras --all-groups

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

## make release SERVICE=web [VERSION=...] [COMMIT=...]: dist/loom-<svc>-<version>.tar.gz from a commit (HEAD)
ENV ?= staging
INVENTORY ?= infra/ansible/inventories/$(ENV)
ARTIFACTS ?= dist
# ansible from the repository's venv, else from the locked `infra` group in var/infra-venv.
ANSIBLE_PLAYBOOK ?= $(if $(wildcard .venv/bin/ansible-playbook),.venv/bin/ansible-playbook,var/infra-venv/bin/ansible-playbook)
DEPLOY = ANSIBLE_CONFIG=infra/ansible/ansible.cfg $(ANSIBLE_PLAYBOOK) -i $(INVENTORY) infra/ansible/deploy.yml \
	-e service=$(SERVICE) -e artifact_dir=$(abspath $(ARTIFACTS)) $(ANSIBLE_ARGS)

release: uv
	@test -n "$(SERVICE)" || (echo "usage: make release SERVICE=web|worker|errors|logs [VERSION=...]" && exit 2)
	$(PYTHON) infra/release/build.py $(SERVICE) --out-dir $(ARTIFACTS) $(if $(VERSION),--version '$(VERSION)') $(if $(COMMIT),--commit $(COMMIT))

## make deploy SERVICE=web ENV=staging [VERSION=...]: blue/green, host by host (infra/ansible/deploy.yml)
deploy: uv
	@test -n "$(SERVICE)" || (echo "usage: make deploy SERVICE=web|worker|errors|logs ENV=staging|production [VERSION=...]" && exit 2)
	@test -x $(ANSIBLE_PLAYBOOK) || UV_PROJECT_ENVIRONMENT=var/infra-venv uv sync --frozen --only-group infra
	$(DEPLOY) $(if $(VERSION),-e version='$(VERSION)')

## make rollback SERVICE=web ENV=staging: the previous release back, the same slot procedure
rollback: uv
	@test -n "$(SERVICE)" || (echo "usage: make rollback SERVICE=web|worker|errors|logs ENV=staging|production" && exit 2)
	@test -x $(ANSIBLE_PLAYBOOK) || UV_PROJECT_ENVIRONMENT=var/infra-venv uv sync --frozen --only-group infra
	$(DEPLOY) -e rollback=true

## make ha-up [HA_PREFIX=ha- HA_SUBNET=10.77.0 HA_BRIDGE=loomha0]: every host of the HA topology
## as a network namespace on this machine, configured and deployed over SSH (needs root)
HA_PREFIX ?= ha-
HA_SUBNET ?= 10.77.0
HA_BRIDGE ?= loomha0
HA_ARGS = --prefix '$(HA_PREFIX)' --subnet '$(HA_SUBNET)' --bridge '$(HA_BRIDGE)'

.PHONY: ha-up ha-down
ha-up: install
	.venv/bin/python infra/ha/ha.py up $(HA_ARGS)

## make ha-down: every process, namespace, cable and folder ha-up made, gone
ha-down:
	$(if $(wildcard .venv/bin/python),.venv/bin/python,$(PYTHON)) infra/ha/ha.py down $(HA_ARGS)
