# kmsd — build, test and install.
#
#   make deps       install the Debian packages building and running need
#   make test-deps  install what only the tests need (make test does it first)
#   make            build kmsd and kmsc into build/
#   make test       the whole test suite (unit, integration, sanitizers)
#   make run        build and start kmsd in the foreground on port 1688
#   make deb        the Debian package into build/deb/ (ARCH=arm64|armhf cross)
#   make cross ARCH=arm64|armhf   cross build, unit tests under qemu-user
#
# Output goes to $(O) (default build/). SAN=1 builds with ASan+UBSan into
# build/san/ so both trees can coexist.

CC       ?= cc
SAN      ?=
ifeq ($(FUZZ),1)
O        ?= build/fuzz
CC       := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
OPT      ?= -O1 -g
else ifeq ($(TSAN),1)
O        ?= build/tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT      ?= -O1 -g
else ifeq ($(SAN),1)
O        ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      ?= -O1 -g
else
O        ?= build
SANFLAGS :=
OPT      ?= -O2 -g
endif

VECTORS  ?= $(abspath tests/vectors)
KMSDB    ?= $(abspath data/KmsDataBase.xml)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wpointer-arith
# libpq's header for the PostgreSQL store (Debian: /usr/include/postgresql).
# The library itself is loaded at run time, only by hosts that use such a
# store (src/store/pg_lib.c), so it is not linked.
PQ_CFLAGS := $(shell pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)
PQ_LIBS   := -ldl
# libxml2 reads product data: at build time (tools/gen-products) and, for
# product-data = PATH and kmsc --product-data, at run time
# (src/kms/product_data.c, the same parser).
XML_CFLAGS := $(shell pkg-config --cflags libxml-2.0)
XML_LIBS   := $(shell pkg-config --libs libxml-2.0)
# 64-bit file offsets and inode numbers on 32-bit targets (armhf): without
# it readdir() and stat() fail with EOVERFLOW on large filesystems.
CPPFLAGS += -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Isrc -I$(O)/gen $(PQ_CFLAGS) $(XML_CFLAGS)
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS  += $(SANFLAGS) -pie -Wl,-z,relro,-z,now
LIBS     := -lcrypto -lpthread $(PQ_LIBS) $(XML_LIBS)
# libkmsdns's own: ldns builds and signs the DNS updates (dns_update.c)
DNS_LIBS := -lldns

# Layers, bottom up. A layer's sources may include only its own header and
# those of the layers listed before it (checked by `make layers`).
CORE_DIRS := base crypto rpc kms
STORE_SRC := $(wildcard src/store/*.c)
CORE_SRC  := $(foreach d,$(CORE_DIRS),$(wildcard src/$(d)/*.c))
CORE_OBJ  := $(CORE_SRC:%.c=$(O)/%.o) $(O)/gen/products.gen.o
# Each program is its main.c plus a library of the rest of its folder, so
# unit tests can link the same code.
# The daemon's main (src/kmsd/) is where its layers are put together.
KMSD_SRC   := $(wildcard src/kmsd/*.c)
SERVER_SRC := $(wildcard src/server/*.c)
DNS_SRC    := $(wildcard src/dns/*.c)
WEB_SRC    := $(wildcard src/web/*.c)
CLIENT_SRC := $(filter-out src/client/main.c,$(wildcard src/client/*.c))
UNIT_SRC  := $(wildcard tests/unit/*.c)
TOOL_SRC  := $(wildcard tests/tools/*.c)

PROGRAMS := $(O)/kmsd $(if $(wildcard src/client/main.c),$(O)/kmsc)
TEST_TOOLS := $(TOOL_SRC:tests/tools/%.c=$(O)/kms-%)

all: $(PROGRAMS)

$(O)/libkmscore.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libkmsstore.a: $(STORE_SRC:%.c=$(O)/%.o)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libkmsserver.a: $(SERVER_SRC:%.c=$(O)/%.o)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libkmsdns.a: $(DNS_SRC:%.c=$(O)/%.o)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libkmsweb.a: $(WEB_SRC:%.c=$(O)/%.o)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/libkmsclient.a: $(CLIENT_SRC:%.c=$(O)/%.o)
	@mkdir -p $(@D)
	rm -f $@ && $(AR) rcs $@ $^

$(O)/kmsd: $(KMSD_SRC:%.c=$(O)/%.o) $(O)/libkmsweb.a $(O)/libkmsdns.a $(O)/libkmsserver.a $(O)/libkmsstore.a $(O)/libkmscore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lsqlite3 $(DNS_LIBS)

$(O)/kmsc: $(O)/src/client/main.o $(O)/libkmsclient.a $(O)/libkmsstore.a $(O)/libkmscore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lsqlite3 -lresolv

$(O)/unit-tests: $(UNIT_SRC:%.c=$(O)/%.o) $(O)/libkmsweb.a $(O)/libkmsdns.a $(O)/libkmsserver.a $(O)/libkmsclient.a $(O)/libkmsstore.a $(O)/libkmscore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lsqlite3 -lresolv $(DNS_LIBS)

$(O)/kms-%: $(O)/tests/tools/%.o $(O)/libkmsserver.a $(O)/libkmsstore.a $(O)/libkmscore.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) -lsqlite3

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The product table is generated from the public data file at build time.
# The generator is a host tool: never sanitized, built with libxml2, and
# compiled by BUILD_CC for the build machine when CC cross-compiles.
BUILD_CC ?= cc
GEN_TOOL := build/tools/gen-products
$(GEN_TOOL): tools/gen-products.c src/kms/product_data.c src/kms/product_data.h src/base/guid.c src/base/guid.h
	@mkdir -p $(@D)
	$(BUILD_CC) -std=c11 -O1 -g $(WARN) -D_GNU_SOURCE -Isrc $$(pkg-config --cflags libxml-2.0) \
	    -o $@ tools/gen-products.c src/kms/product_data.c src/base/guid.c \
	    $$(pkg-config --libs libxml-2.0)

$(O)/gen/products.gen.c: $(GEN_TOOL) $(KMSDB)
	@mkdir -p $(@D)
	$(GEN_TOOL) $(KMSDB) $@

$(O)/gen/products.gen.o: $(O)/gen/products.gen.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-prototypes -c -o $@ $<

# Sources that include the generated header need it first.
$(CORE_OBJ) $(UNIT_SRC:%.c=$(O)/%.o) $(SERVER_SRC:%.c=$(O)/%.o) $(WEB_SRC:%.c=$(O)/%.o) $(CLIENT_SRC:%.c=$(O)/%.o) $(STORE_SRC:%.c=$(O)/%.o): | $(O)/gen/products.gen.c

# dependency files of this tree only: not make deb's copy of the source under
# build/deb, whose debian/ has a folder named sysusers.d
-include $(shell find $(O) -path build/deb -prune -o -name '*.d' -type f -print 2>/dev/null)

# ---- tests ---------------------------------------------------------------

# The unit tests run in a TMPDIR of their own, which must be empty after
# them: a test that leaves a file behind fails the run. The runner prints
# its seed; KMSD_TEST_SEED=S make unit replays a run exactly.
unit: $(O)/unit-tests
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/kmsd-unit-run.XXXXXX") || exit 1; \
	KMSD_VECTORS=$(VECTORS) TMPDIR=$$tmp $(O)/unit-tests; rc=$$?; \
	if [ -n "$$(ls -A $$tmp)" ]; then \
	    echo "unit: the tests left these behind in TMPDIR:"; ls -AR $$tmp; rc=1; \
	fi; \
	rm -rf $$tmp; exit $$rc

integration: all $(TEST_TOOLS)
	KMSD_VECTORS=$(VECTORS) KMSD_BIN=$(abspath $(O)) KMSD_SANITIZED=$(if $(SAN)$(TSAN),1,) \
	    KMSD_TSAN=$(TSAN) python3 tests/integration/run.py

# The daemon tests again with kmsd under valgrind's memcheck: no invalid
# access, no leak (kmsd exits 99 if there is one and the test fails).
VALGRIND_TESTS := test_kmsd. survive_restart allow_and_deny database_down test_web.test_status \
                  test_web.test_bad_param dns_publish.test_publish dns_publish.test_a_wrong \
                  dns_publish.test_without_dns_server test_rpc_wire.
valgrind: all $(TEST_TOOLS)
	for t in $(VALGRIND_TESTS); do \
	    KMSD_VALGRIND=1 KMSD_VECTORS=$(VECTORS) KMSD_BIN=$(abspath $(O)) \
	        python3 tests/integration/run.py $$t || exit 1; \
	done

# ThreadSanitizer over the unit and integration suites: a data race makes
# the process exit 66, and the tests check every kmsd exits 0.
tsan:
	TSAN_OPTIONS="exitcode=66 second_deadlock_stack=1" $(MAKE) TSAN=1 unit integration

# The whole suite: unit and integration tests on the normal build, then the
# unit tests again and the daemon tests under ASan+UBSan, then static checks.
test: test-deps
	$(MAKE) unit integration
	$(MAKE) SAN=1 unit integration
	$(MAKE) tsan
	$(MAKE) static valgrind fuzz-short bench-short soak-short
	@echo "make test: all suites passed"

# Static checks: layering, cppcheck, clang-tidy, and a warning-free clang build.
static: layers lint tidy
	$(MAKE) CC=clang O=build/clang all

# clang-tidy with the checks in .clang-tidy, every finding an error.
TIDY_SRC := $(filter-out src/crypto/rijndael_tables.c,$(wildcard src/*/*.c))
tidy: $(O)/gen/products.gen.c
	@clang-tidy --quiet $(TIDY_SRC) -- -std=c11 $(CPPFLAGS) 2>/dev/null && echo "tidy: ok"

layers:
	@sh tools/check-layers.sh

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	    --inline-suppr -D__GNUC__ -Isrc -I$(O)/gen $(PQ_CFLAGS) --suppress=missingIncludeSystem src

# ---- benchmarks ----------------------------------------------------------
# make bench: kmsd against a null server at concurrency 1, 8, 64 and 1024,
# three interleaved rounds whose medians are checked against the targets,
# RSS and instructions per activation; bench-short is the CI pass (one
# round of 1 s, figures printed, never failed on).

BENCH_TOOLS := $(O)/kms-nullhost $(O)/kms-hostloop

bench: all $(BENCH_TOOLS)
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench.py

bench-short: all $(BENCH_TOOLS)
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench.py --short
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench_store.py --short
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench_store.py --pg --short
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/schema_variants.py --short

# make bench-store: the client store at 10k, 100k and 1M clients (queries,
# /metrics, signals, start-up, RSS, activation p99) and a 30 s burst of
# 2,000 new clients/s at 1M; prints, never fails on a figure.
# BENCH_STORE_WRITE=BENCHMARKS.md rewrites its sections there.
bench-store: all
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench_store.py \
	    $(if $(BENCH_STORE_WRITE),--write $(BENCH_STORE_WRITE))

# make bench-store-pg: the same on a local PostgreSQL server (a private
# cluster, fsync on), plus the write path under new clients.
bench-store-pg: all
	KMSD_BIN=$(abspath $(O)) python3 tests/bench/bench_store.py --pg \
	    $(if $(BENCH_STORE_WRITE),--write $(BENCH_STORE_WRITE))

# make soak: steady load with RSS and descriptor sampling; SOAK_SECONDS sets
# the length (CI runs soak-short).
SOAK_SECONDS ?= 600
soak: all
	KMSD_BIN=$(abspath $(O)) python3 tests/soak/soak.py $(SOAK_SECONDS)

soak-short:
	$(MAKE) soak SOAK_SECONDS=60

# ---- fuzzing -------------------------------------------------------------
# `make fuzz` runs every libFuzzer target for FUZZ_SECONDS each (default 300);
# `make fuzz-short` is the CI pass; `make fuzz-long` runs each target for
# 10 million executions whatever the time (hours on a small machine).
# Corpora start from the recorded vectors; crashes are written to
# build/fuzz/crashes and belong in tests/fuzz/regress.

FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 300
FUZZ_RUNS    ?= -1

fuzz-build:
	$(MAKE) FUZZ=1 build/fuzz/libkmscore.a build/fuzz/libkmsserver.a build/fuzz/libkmsstore.a \
	    build/fuzz/libkmsweb.a
	@mkdir -p build/fuzz/bin
	for t in $(FUZZ_TARGETS); do \
	    clang -D_GNU_SOURCE -Isrc -Ibuild/fuzz/gen $(PQ_CFLAGS) -std=c11 -g -O1 \
	        -fsanitize=fuzzer,address,undefined -o build/fuzz/bin/$$t tests/fuzz/$$t.c \
	        build/fuzz/libkmsweb.a build/fuzz/libkmsserver.a build/fuzz/libkmsstore.a \
	        build/fuzz/libkmscore.a $(LIBS) -lsqlite3 || exit 1; \
	done

fuzz: fuzz-build
	python3 tests/fuzz/seed.py $(VECTORS) build/fuzz/corpus
	@mkdir -p build/fuzz/crashes
	for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz/corpus/$$t; \
	    build/fuzz/bin/$$t -max_total_time=$(FUZZ_SECONDS) -runs=$(FUZZ_RUNS) \
	        -artifact_prefix=build/fuzz/crashes/$$t- \
	        -print_final_stats=1 build/fuzz/corpus/$$t tests/fuzz/regress || exit 1; \
	done

fuzz-short:
	$(MAKE) fuzz FUZZ_SECONDS=15

fuzz-long:
	$(MAKE) fuzz FUZZ_SECONDS=0 FUZZ_RUNS=10000000

# ---- running -------------------------------------------------------------

# Start kmsd in the foreground with the sample configuration and its SQLite
# client store in build/run/. As root it drops to nobody after binding
# (kmsd refuses to keep root). KMSD_ARGS adds options, e.g.
# make run KMSD_ARGS="-l 127.0.0.1:11688".
KMSD_ARGS ?=
RUN_AS := $(shell [ "$$(id -u)" = 0 ] && echo "-o user=nobody")
run: all
	$(O)/kmsd -f -c contrib/kmsd.conf -o store=sqlite:$(abspath $(O))/run/clients.db $(RUN_AS) $(KMSD_ARGS)

# ---- installing ----------------------------------------------------------
# make install [PREFIX=/usr/local] [DESTDIR=...]: programs, man pages, the
# sample configuration (also as /etc/kmsd.conf if there is none yet) and
# the systemd units, with their paths fitted to PREFIX.

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
INSTALLED  := $(PREFIX)/sbin/kmsd $(PREFIX)/bin/kmsc $(PREFIX)/share/man/man8/kmsd.8 \
              $(PREFIX)/share/man/man1/kmsc.1 $(PREFIX)/share/man/man5/kmsd.conf.5 \
              $(PREFIX)/share/doc/kmsd/kmsd.conf.sample $(UNITDIR)/kmsd.service $(UNITDIR)/kmsd.socket \
              $(SYSUSERSDIR)/kmsd.conf

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/doc/kmsd $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(SYSUSERSDIR)
	install -m 755 $(O)/kmsd $(DESTDIR)$(PREFIX)/sbin/kmsd
	install -m 755 $(O)/kmsc $(DESTDIR)$(PREFIX)/bin/kmsc
	install -m 644 man/kmsc.1 $(DESTDIR)$(PREFIX)/share/man/man1/kmsc.1
	install -m 644 man/kmsd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/kmsd.conf.5
	install -m 644 man/kmsd.8 $(DESTDIR)$(PREFIX)/share/man/man8/kmsd.8
	install -m 644 contrib/kmsd.conf $(DESTDIR)$(PREFIX)/share/doc/kmsd/kmsd.conf.sample
	install -m 644 contrib/kmsd.sysusers $(DESTDIR)$(SYSUSERSDIR)/kmsd.conf
	@# the user kmsd.service runs as; a package (DESTDIR) creates it at its own install
	if [ -z "$(DESTDIR)" ] && ! getent passwd kmsd >/dev/null; then \
	    if command -v systemd-sysusers >/dev/null; then systemd-sysusers $(SYSUSERSDIR)/kmsd.conf; \
	    else useradd --system --user-group --home-dir /var/lib/kmsd --shell /usr/sbin/nologin kmsd; fi; \
	fi
	@# it may hold a database password: root's, readable by the group kmsd
	if [ ! -e $(DESTDIR)$(SYSCONFDIR)/kmsd.conf ]; then \
	    install -m 640 contrib/kmsd.conf $(DESTDIR)$(SYSCONFDIR)/kmsd.conf; \
	    if [ -z "$(DESTDIR)" ] && getent group kmsd >/dev/null; then chgrp kmsd $(SYSCONFDIR)/kmsd.conf; fi; \
	fi
	sed 's|/usr/local/sbin/kmsd|$(PREFIX)/sbin/kmsd|; s|/etc/kmsd.conf|$(SYSCONFDIR)/kmsd.conf|' \
	    contrib/kmsd.service > $(DESTDIR)$(UNITDIR)/kmsd.service
	install -m 644 contrib/kmsd.socket $(DESTDIR)$(UNITDIR)/kmsd.socket

# The configuration in SYSCONFDIR is the administrator's: it stays.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

# ---- Debian package and cross builds -------------------------------------
# make deb [ARCH=arm64|armhf]: dpkg-buildpackage -b on a copy of the tree
# (so nothing lands beside the repository), packages in build/deb/.
# make cross ARCH=arm64|armhf: kmsd, kmsc and the unit tests built with
# Debian's cross toolchain into build/cross-ARCH/, the unit tests and a
# smoke activation (native kmsc against the cross kmsd) run under qemu-user.
# qemu finds the target's libraries in the multiarch folders (no -L: with
# the cross toolchain's separate libc, dlopen()ing libpq hangs).
ARCH ?=
CROSS_TRIPLET_arm64 := aarch64-linux-gnu
CROSS_TRIPLET_armhf := arm-linux-gnueabihf
CROSS_QEMU_arm64    := qemu-aarch64-static
CROSS_QEMU_armhf    := qemu-arm-static
TRIPLET = $(CROSS_TRIPLET_$(ARCH))
CROSS_O = build/cross-$(ARCH)

deb:
	rm -rf build/deb/src && mkdir -p build/deb/src/kmsd
	tar --exclude=./build --exclude=./.git -cf - . | tar -xf - -C build/deb/src/kmsd
	cd build/deb/src/kmsd && dpkg-buildpackage -b -us -uc $(if $(ARCH),-a$(ARCH))
	mv build/deb/src/*.deb build/deb/src/*.changes build/deb/src/*.buildinfo build/deb/
	rm -rf build/deb/src
	@ls build/deb/*.deb

cross:
	@test -n "$(TRIPLET)" || { echo "make cross: ARCH=arm64 or ARCH=armhf"; exit 1; }
	$(MAKE) O=$(CROSS_O) CC=$(TRIPLET)-gcc AR=$(TRIPLET)-ar all $(CROSS_O)/unit-tests
	KMSD_VECTORS=$(VECTORS) $(CROSS_QEMU_$(ARCH)) $(CROSS_O)/unit-tests
	$(MAKE) all
	KMSD_BIN=$(abspath $(O)) KMSD_CROSS_BIN=$(abspath $(CROSS_O)) KMSD_CROSS_QEMU=$(CROSS_QEMU_$(ARCH)) \
	    python3 tests/integration/run.py test_cross

# Both architectures and their packages (lintian-clean), as CI runs them
# after make test (.ci/run).
cross-all:
	for a in $(CROSS_ARCHS); do \
	    $(MAKE) cross ARCH=$$a && $(MAKE) deb ARCH=$$a && \
	    lintian --fail-on error,warning build/deb/kmsd_*_$$a.changes || exit 1; \
	done

# The cross toolchains, qemu-user and the target architectures' -dev
# libraries (multiarch). libldns-dev's documentation differs between
# architectures, which dpkg refuses for a Multi-Arch: same package: it is
# left out (path-exclude). libpq-dev is not multiarch: the native headers
# serve (see debian/control); libpq5 is there for the unit tests that
# load it, as a PostgreSQL store does.
CROSS_ARCHS    := arm64 armhf
CROSS_PACKAGES := qemu-user-static gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \
                  $(foreach a,$(CROSS_ARCHS),$(foreach p,libc6-dev libssl-dev libxml2-dev libsqlite3-dev libmicrohttpd-dev libldns-dev libpq5,$(p):$(a)))

cross-deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	for a in $(CROSS_ARCHS); do $$SUDO dpkg --add-architecture $$a; done; \
	if ! dpkg -s $(CROSS_PACKAGES) >/dev/null 2>&1; then \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	        -o Dpkg::Options::=--path-exclude=/usr/share/doc/libldns-dev/* $(CROSS_PACKAGES); \
	fi

# ---- setup ---------------------------------------------------------------

# `make deps`: what building and running kmsd need, nothing more (also all
# the Dockerfile's build stage installs; the -dev packages bring the shared
# libraries kmsd runs with). None of these ships a network service.
BUILD_PACKAGES := build-essential pkg-config libssl-dev libxml2-dev libsqlite3-dev \
                  libmicrohttpd-dev libldns-dev libpq-dev
# `make test-deps` (the first step of `make test`): what building needs, so
# that `make test` works alone on a fresh machine, then what only the tests
# need, among them real servers to test against: postgresql for the shared store,
# bind9 for DNS publishing, dnsmasq for discovery, chromium and prometheus's
# promtool for the web side, tshark to have Wireshark's DCE/RPC dissector
# judge our PDUs. The tests start their own throwaway instances,
# so the packages' own services must not start (see test-deps).
TEST_PACKAGES  := $(BUILD_PACKAGES) clang python3 libclang-rt-14-dev valgrind cppcheck clang-tidy git \
                  dnsmasq-base mandoc chromium prometheus curl bind9 bind9-dnsutils \
                  postgresql util-linux iproute2 nftables systemd tshark \
                  debhelper lintian fakeroot dpkg-dev
# The units a test package could enable and start on a systemd machine.
TEST_SERVICES  := named bind9 postgresql prometheus dnsmasq nftables
APT_GET     ?= apt-get
DPKG_QUERY  ?= dpkg-query
# true when every package named is installed (for at least one architecture:
# `dpkg -s` refuses a name once a cross build added a foreign instance)
installed = for p in $(1); do $(DPKG_QUERY) -W -f '$${db:Status-Abbrev}\n' $$p 2>/dev/null | grep -q '^ii' || exit 1; done
POLICY_RC_D ?= /usr/sbin/policy-rc.d
# present when systemd is PID 1 (sd_booted(3))
SYSTEMD_RUN ?= /run/systemd/system

deps:
	@$(MAKE) -s install-packages PACKAGES="$(BUILD_PACKAGES)"

# kept for the Dockerfile's build stage: the same as deps
deps-build: deps

# Service start-up is prevented while the packages install: invoke-rc.d and
# deb-systemd-invoke ask policy-rc.d, and 101 means "not allowed". The file
# is removed afterwards even if the install fails (an admin's own
# policy-rc.d is put back). On a systemd machine the units the packages
# enabled are then disabled and stopped, unless they were enabled before.
test-deps:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ( $(call installed,$(TEST_PACKAGES)) ); then exit 0; fi; \
	if [ -d $(SYSTEMD_RUN) ]; then \
	    before=$$(for u in $(TEST_SERVICES); do systemctl -q is-enabled $$u 2>/dev/null && echo $$u; done); \
	fi; \
	saved=; if [ -e $(POLICY_RC_D) ]; then saved=$(POLICY_RC_D).kmsd-saved; $$SUDO mv $(POLICY_RC_D) $$saved; fi; \
	restore() { $$SUDO rm -f $(POLICY_RC_D); [ -z "$$saved" ] || $$SUDO mv $$saved $(POLICY_RC_D); }; \
	trap restore EXIT INT TERM; \
	printf '#!/bin/sh\n# make test-deps: no service starts while test packages install\nexit 101\n' \
	    | $$SUDO tee $(POLICY_RC_D) >/dev/null && $$SUDO chmod 755 $(POLICY_RC_D) && \
	$$SUDO $(APT_GET) update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO $(APT_GET) install -y -qq $(TEST_PACKAGES); rc=$$?; \
	if [ -d $(SYSTEMD_RUN) ]; then \
	    for u in $(TEST_SERVICES); do \
	        case " $$before " in *" $$u "*) continue;; esac; \
	        $$SUDO systemctl disable --now $$u >/dev/null 2>&1 || true; \
	    done; \
	fi; \
	exit $$rc

install-packages:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	if ! ( $(call installed,$(PACKAGES)) ); then \
	    $$SUDO $(APT_GET) update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO $(APT_GET) install -y -qq $(PACKAGES); \
	fi

clean:
	rm -rf build


.PHONY: all unit integration test tsan static layers lint tidy bench bench-short bench-store bench-store-pg soak soak-short valgrind install uninstall run deps deps-build test-deps install-packages clean deb cross cross-all cross-deps fuzz fuzz-build fuzz-short fuzz-long
