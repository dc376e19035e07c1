# proxylab.webstack: the two commands users need are `make lab` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Lab ports on 127.0.0.1; override on the command line, e.g. `make lab LAB_HTTP_PORT=9080`.
export LAB_SSH_PORT_PROXY ?= 2201
export LAB_SSH_PORT_APP1 ?= 2202
export LAB_SSH_PORT_APP2 ?= 2203
export LAB_HTTP_PORT ?= 8080
export LAB_HTTPS_PORT ?= 8443
LAB_DOMAIN ?= dumbflix.lab
# PROXIES=2: a second proxy shares a floating address with the first (keepalived), with a client VM
# and a forwarder on the lab network. `make lab` remembers the choice in .lab/proxies for the targets
# below; `make lab PROXIES=1` goes back to one proxy.
PROXIES ?= $(shell cat .lab/proxies 2>/dev/null || echo 1)
export LAB_PROXIES := $(PROXIES)
LAB_INVENTORY := -i inventories/lab $(if $(filter 2,$(PROXIES)),-i inventories/lab-ha)
# The laptop reaches the two-proxy lab through the forwarder on 127.0.0.1, not the floating address.
LAB_HOSTS_ADDRESS := $(if $(filter 2,$(PROXIES)),-e hosts_entry_address=127.0.0.1)

.PHONY: help venv engine images chromium lab lab-down vm-off vm-on failover deploy-demo rollback hosts hosts-remove lint collection-check pytest molecule test bench build ee docs clean

help:
	@echo "make lab       start the local lab (3 containers) and deploy the web stack into it;"
	@echo "               PROXIES=2 adds a second proxy behind a floating address, and a client"
	@echo "make lab-down  remove the lab containers and network"
	@echo "make vm-off VM=app1   switch one lab VM off (a power cut); make vm-on VM=app1 switches it on"
	@echo "make failover  fail the lab's app servers in turn under load; prints a table and writes a report"
	@echo "               with a timeline of every request (.cache/reports/failover-<date>-<time>.html)"
	@echo "make deploy-demo  roll a new release out to the lab under load, and write its report"
	@echo "make rollback  take every lab app server back to its previous release, rolling"
	@echo "               (UNDER_LOAD=1: under load, with a report)"
	@echo "make hosts     add '127.0.0.1 $(LAB_DOMAIN)' to /etc/hosts (make hosts-remove takes it out)"
	@echo "make test      install what is needed, then run lint, pytest and every molecule scenario"
	@echo "make lint      yamllint, ansible-lint (production profile), molecule loads every scenario,"
	@echo "               workflow schema, plugin docs, changelog fragments, gixy-ng on the proxy configs"
	@echo "make collection-check  Galaxy's importer and ansible-test sanity on the built collection"
	@echo "make bench     time converge and re-runs, load the proxy and an app server, as ratios (about 15 min);"
	@echo "               BENCH_ARGS=--proxy-settings measures the proxy's settings one at a time instead"
	@echo "make build     build the collection tarball"
	@echo "make ee        build the execution environment proxylab-webstack-ee:<version> (AWX, Automation"
	@echo "               Platform, ansible-navigator); EE_BASE_IMAGE=<image> another Debian-family base"
	@echo "make docs      write the roles' variable tables from their argument specs"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV) || { apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

engine:
	scripts/docker-engine.sh

images: engine
	scripts/build-images.sh

# Headless Chromium for the report tests (Debian's chromium package when none is there).
chromium:
	scripts/chromium.sh

# APP_SRC=<dir> deploys a local checkout instead of dumbflix-frontend from git; APP_MODE=static
# builds it and serves the build.
lab: venv engine
	scripts/lab.sh up
	APP_SRC="$(APP_SRC)" APP_MODE="$(APP_MODE)" LAB_DOMAIN="$(LAB_DOMAIN)" scripts/lab-deploy.sh

# Each state under load for FAILOVER_SECONDS, each client waiting FAILOVER_PAUSE seconds between
# requests: a steady load that leaves the lab's VMs, which share this machine's CPUs, the time to act
# (at full speed the clients take the CPUs, and a fault needs seconds to take effect). The report and
# the records of every request go to .cache/reports/; FAILOVER_ARGS passes more options.
FAILOVER_SECONDS ?= 10
FAILOVER_PAUSE ?= 0.01
failover: venv
	ansible-playbook playbooks/failover_check.yml $(LAB_INVENTORY) -e failover_from_controller=true \
	  -e failover_http_port=$(LAB_HTTP_PORT) -e failover_https_port=$(LAB_HTTPS_PORT) \
	  -e failover_seconds=$(FAILOVER_SECONDS) -e failover_pause=$(FAILOVER_PAUSE) \
	  -e failover_report_dir=$(CURDIR)/.cache/reports $(FAILOVER_ARGS)

# Load through the lab's proxy from this machine while a playbook runs, then the report
# (scripts/under-load.py). DEMO_SRC=<dir> deploys that source instead of a new release made from
# what the lab deploys.
UNDER_LOAD_RUN = $(BIN)/python scripts/under-load.py --url http://127.0.0.1:$(LAB_HTTP_PORT)/ \
	--report-dir $(CURDIR)/.cache/reports --inventory inventories/lab $(if $(filter 2,$(PROXIES)),--inventory inventories/lab-ha)

deploy-demo: venv
	$(UNDER_LOAD_RUN) --name deploy --new-release "$(DEMO_SRC)" -- ansible-playbook site.yml $(LAB_INVENTORY)

# RELEASE=<id> picks a release instead of the previous one; UNDER_LOAD=1 rolls back under load, with a report.
rollback: venv
	$(if $(UNDER_LOAD),$(UNDER_LOAD_RUN) --name rollback --) ansible-playbook playbooks/rollback.yml $(LAB_INVENTORY) \
	  $(if $(RELEASE),-e node_app_release=$(RELEASE))

# /etc/hosts needs root: as root, or with sudo that needs no password, nothing is asked; otherwise
# ansible-playbook asks for the sudo password (--ask-become-pass) before it changes anything.
HOSTS_BECOME = $(shell [ "$$(id -u)" = 0 ] || sudo -n true 2>/dev/null || echo --ask-become-pass)

hosts: venv
	ansible-playbook playbooks/hosts_entry.yml $(LAB_INVENTORY) $(LAB_HOSTS_ADDRESS) $(HOSTS_BECOME)

hosts-remove: venv
	ansible-playbook playbooks/hosts_entry.yml $(LAB_INVENTORY) -e hosts_entry_state=absent $(HOSTS_BECOME)

lab-down: engine
	scripts/lab.sh down

# VM=app1 (app2, proxy, ...): a power cut of one lab VM, and the power back (scripts/lab.sh).
vm-off: engine
	scripts/lab.sh power-off "$(VM)"

vm-on: engine
	scripts/lab.sh power-on "$(VM)"

lint: venv
	yamllint --strict .
	ansible-lint
	molecule list >/dev/null
	check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	antsibull-docs lint-collection-docs --plugin-docs .
	antsibull-changelog lint
	$(BIN)/python scripts/nginx-gixy.py

# The built collection through Galaxy's importer (no warning allowed) and `ansible-test sanity`
# (no ignore file), as Galaxy and Ansible's tooling see it (scripts/collection-checks.sh).
collection-check: venv
	scripts/collection-checks.sh

pytest: venv images chromium
	pytest -v tests

# Every scenario, as `molecule test -s <name>`, in two lanes at once (scripts/test-lanes.sh).
molecule: venv images
	scripts/test-lanes.sh

# Lint first (it takes a minute and fails fast), then the molecule scenarios, pytest and the
# collection checks (about 2 minutes, nearly 4 on a machine without ansible-test's cached virtual
# environments) in three lanes at once, each about as long as the others: node_app, then proxy_ha,
# then `collection` (make collection-check); default (the longest scenario: the drift and the
# both-tiers tests), then the execution environment's tests (they build the image); nginx_proxy,
# then the rest of pytest.
test: lint images chromium
	scripts/test-lanes.sh "node_app proxy_ha collection" "default pytest:tests/test_execution_environment.py" "nginx_proxy pytest"

# Ratios measured in one run on fresh containers (webstack-bench-*, removed at the end): converge and
# re-run against the floor of ping + facts, 6 app hosts against 2, the proxy against one app server
# direct (wrk), the app's memory in each mode. BENCH_ARGS passes options, e.g. --duration 5, or
# --proxy-settings: nginx_proxy's tuning (access log, gzip, upstream keep-alive, workers), one setting
# at a time against the defaults.
bench: venv engine images
	$(BIN)/python scripts/bench.py --markdown .cache/bench/results.md $(BENCH_ARGS)

# The variable tables of the roles' READMEs, from meta/argument_specs.yml.
docs: venv
	$(BIN)/python scripts/role-docs.py

build: venv
	ansible-galaxy collection build --force .

# The execution environment of execution-environment.yml, built by ansible-builder from the project's
# Debian 12 image with the collection of this checkout, without Galaxy or a registry (scripts/ee.sh).
ee: venv engine
	EE_BASE_IMAGE="$(EE_BASE_IMAGE)" scripts/ee.sh build

clean:
	rm -rf $(VENV) .cache .pytest_cache proxylab-webstack-*.tar.gz
