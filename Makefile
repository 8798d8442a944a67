# klantstem — build, demo and test.
#   make demo   install deps if missing, build, create demo.db, serve on :8080
#   make test   install deps if missing, build with ASan+UBSan, run every test
#               (unit, API and browser tests)
#   make web    the web UI's npm package (npm ci) and its copy under web/vendor
#   make browser-test   only the browser tests (the list in tests/run)
#               (make test, browser-test: KS_TEST_JOBS=n programs at once, see tests/run)
#   make bench-dashboard   time to first render of the dashboards (bench/dashboard)
#   make install [PREFIX=/usr/local] [DESTDIR=], make uninstall, make deb
#               the service's files and the Debian package (mk/package.mk, issue 18)
CC      ?= gcc
PKGS    := libmicrohttpd jansson sqlite3 libsodium libcurl libqrencode
# text understanding (issue 14, src/text): language profiles, normalisation
PKGS    += libexttextcat libutf8proc
# mentions (issue 16 H1, src/mentions): the Kiyoh/Klantenvertellen XML feed
PKGS    += libxml-2.0
# issue 17: the printable report (cairo's PDF surface) and the XLSX export
PKGS    += cairo xlsxwriter fontconfig  # fontconfig: FcInit/FcFini in src/report (issue 17 X)
PKGS    += libpq  # the PostgreSQL backend (issue 18, src/store/db/db_pg.c)
WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wsign-compare \
           -Wstrict-prototypes -Wformat=2
CSTD    := -std=c17 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
INC     := -Isrc
SRC     := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_SRC := $(filter-out src/cli/main.c,$(SRC))

# Release build (make demo, bench) and sanitizer build (make test) live in
# separate folders so switching between them never mixes objects.
REL_DIR := build/release
SAN_DIR := build/asan
REL_CFLAGS := -O2 -g $(WARN) $(CSTD) $(INC)
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
              -fno-sanitize-recover=all $(WARN) $(CSTD) $(INC)

DEPS_STAMP := build/.deps-ok
PORT ?= 8080

.PHONY: all demo test unit api clean deps bench web browser-deps browser-test bench-dashboard

all: $(REL_DIR)/klantstem

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps
	@sh scripts/install-deps
	@mkdir -p build && touch $@

# Chromium for the browser tests: only `make test` and the dashboard bench
# need it.
BROWSER_DEPS_STAMP := build/.browser-deps-ok
$(BROWSER_DEPS_STAMP): scripts/install-deps
	@sh scripts/install-deps --browser
	@mkdir -p build && touch $@

# ---- npm packages, from the committed lockfiles -----------------------------
# `npm ci` runs again whenever a lockfile is newer than the stamp it leaves
# in node_modules. ECharts is copied (with a gzip twin the server sends to
# clients that take it) to web/vendor/, from where the UI imports it.
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
WEB_STAMP := web/node_modules/.ks-npm-ci
BROWSER_STAMP := tests/browser/node_modules/.ks-npm-ci
WEB_VENDOR := web/vendor/echarts.esm.min.js

$(WEB_STAMP): web/package-lock.json web/package.json $(DEPS_STAMP)
	cd web && $(NPM_CI)
	@touch $@
$(BROWSER_STAMP): tests/browser/package-lock.json tests/browser/package.json $(DEPS_STAMP)
	cd tests/browser && $(NPM_CI)
	@touch $@
$(WEB_VENDOR): $(WEB_STAMP)
	@mkdir -p web/vendor
	cp web/node_modules/echarts/dist/echarts.esm.min.js $@.tmp
	gzip -9 -n -c $@.tmp >$@.gz.tmp
	cp web/node_modules/echarts/LICENSE web/vendor/echarts.LICENSE.txt
	mv $@.gz.tmp $@.gz && mv $@.tmp $@

web: $(WEB_VENDOR)
browser-deps: $(BROWSER_DEPS_STAMP) $(BROWSER_STAMP)

# pkg-config runs only after deps are installed, hence the recursive expansion.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# drivers (issue 15, src/drivers): GSL with OpenBLAS as its CBLAS, not gslcblas.
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lstemmer -lgsl -lopenblas -lpthread -lm

$(REL_DIR)/%.o: src/%.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@
$(SAN_DIR)/%.o: src/%.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

# The schema travels inside the binary: migrations are embedded as C strings.
MIGRATIONS := $(sort $(wildcard src/store/migrations/*.sql))
# issue 18 (PG-SCHEMA): the same migrations in PostgreSQL's dialect, embedded
# beside them as store_pg_migrations[] / store_pg_n_migrations.
PG_MIGRATIONS := $(sort $(wildcard src/store/migrations/pg/*.sql))
GEN_C := build/gen/migrations.c
$(GEN_C): $(MIGRATIONS) $(PG_MIGRATIONS) scripts/embed-sql
	@mkdir -p $(dir $@)
	sh scripts/embed-sql $@ $(MIGRATIONS) --pg $(PG_MIGRATIONS)
$(REL_DIR)/gen/migrations.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -c $< -o $@
$(SAN_DIR)/gen/migrations.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c $< -o $@

REL_OBJ := $(patsubst src/%.c,$(REL_DIR)/%.o,$(SRC)) $(REL_DIR)/gen/migrations.o
SAN_OBJ := $(patsubst src/%.c,$(SAN_DIR)/%.o,$(SRC)) $(SAN_DIR)/gen/migrations.o
SAN_LIB_OBJ := $(patsubst src/%.c,$(SAN_DIR)/%.o,$(LIB_SRC)) $(SAN_DIR)/gen/migrations.o

$(REL_DIR)/klantstem: $(REL_OBJ)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(PKG_LIBS)
$(SAN_DIR)/klantstem: $(SAN_OBJ)
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

# Unit tests: tests/unit/test_<module>.c, each its own cmocka binary linked
# against every library object.
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(SAN_DIR)/tests/%,$(UNIT_SRC))
$(SAN_DIR)/tests/%: tests/unit/%.c $(SAN_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(SAN_LIB_OBJ) $(PKG_LIBS) -lcmocka

# The demo database is built under a temporary name and renamed when
# complete, so an interrupted run never leaves a half-filled demo.db behind.
demo: $(REL_DIR)/klantstem $(WEB_VENDOR)
	@test -f demo.db || { rm -f demo.db.tmp && $(REL_DIR)/klantstem demo --db demo.db.tmp && mv demo.db.tmp demo.db; }
	$(REL_DIR)/klantstem serve --db demo.db --listen 127.0.0.1:$(PORT)

# The release binary is built too: `make demo` compiles at -O2, where gcc
# sees format truncations the sanitizer build (-O1) does not.
# issue 18: tests/with-pg starts a throw-away PostgreSQL cluster for the
# PostgreSQL pass (tests/run's KS_TEST_PG list and the pg-only tests).
test: $(REL_DIR)/klantstem $(SAN_DIR)/klantstem $(UNIT_BIN) $(WEB_VENDOR) browser-deps
	@KS_BIN=$(SAN_DIR)/klantstem KS_UNIT_BINS="$(UNIT_BIN)" sh tests/with-pg sh tests/run

# issue 18 TESTRUN: the browser tests are listed once, in tests/run, which
# runs them side by side.
browser-test: $(SAN_DIR)/klantstem $(WEB_VENDOR) browser-deps
	@KS_BIN=$(SAN_DIR)/klantstem KS_TEST_FILTER=tests/browser/ sh tests/run

bench-dashboard: $(REL_DIR)/klantstem $(WEB_VENDOR) browser-deps
	@sh bench/dashboard

bench: $(REL_DIR)/klantstem
	@sh scripts/install-deps --bench
	@sh bench/ingest

clean:
	rm -rf build

include fuzz/fuzz.mk
include mk/package.mk  # issue 18 (PKG): make install, uninstall, deb

-include $(REL_OBJ:.o=.d) $(SAN_OBJ:.o=.d)
