# bando — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
VENDOR := bando/static/vendor/bootstrap-italia

.PHONY: install run test lint format bench translations messages static schema clean browser

install: $(BIN)/.installed static translations

$(BIN)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Bootstrap Italia (the Italian public-administration design kit) comes from npm
# into an ignored static folder; the pages still render without it.
static: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR)
	mkdir -p $(dir $(VENDOR))
	cp -r node_modules/bootstrap-italia/dist $(VENDOR)
	touch $@

translations: $(BIN)/.installed
	$(BIN)/pybabel compile --use-fuzzy -d bando/translations -D messages >/dev/null

# Refresh the catalogue after changing user-visible strings.
messages: $(BIN)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k gettext_noop -o bando/translations/messages.pot .
	$(BIN)/pybabel update -i bando/translations/messages.pot -d bando/translations --no-fuzzy-matching --ignore-obsolete

run: install
	$(BIN)/bando init
	$(BIN)/bando demo
	$(BIN)/bando run --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: install lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium (never a downloaded one); they skip without it.
# The letters' test renders a page with pdftoppm (poppler-utils); it skips without it.
# Installed only when missing and we may (root, as in CI); otherwise nothing to do.
browser:
	@if { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftoppm ]; } && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq chromium poppler-utils; \
	fi

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance/*.sqlite3
