# Thin wrapper over meson/ninja.  The two commands of the README:
#   make demo    build, then run examples/hello.yaml in a busybox container with runc
#   make check   unit + end-to-end tests, plain and under ASan+UBSan
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
ASAN_BUILD ?= build-asan

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= spec image_config cdi secret_ref units layout

.PHONY: all deps build-deps run-deps test-deps tests-on build asan check demo install uninstall clean bench fuzz stress

all: build

# What each goal needs, installed when missing (scripts/deps.sh): building
# needs only compilers and -dev packages; the demo adds what running needs;
# make check adds what the tests run against.
deps build-deps:
	@scripts/deps.sh build
run-deps:
	@scripts/deps.sh build run
test-deps:
	@scripts/deps.sh test

# A new build dir has no tests (no cmocka); `make check` turns them on.
$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) -Dwerror=true -Dtests=false >/dev/null

build: build-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Dwerror=true >/dev/null

asan: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# The tests in the plain build dir (make build may have set it up without).
tests-on: test-deps $(BUILD)/build.ninja
	meson configure $(BUILD) -Dtests=true

check: tests-on asan
	ninja -C $(BUILD)
	tests/run-all.sh $(BUILD) $(ASAN_BUILD)

# Crash-safety and load tests (suite 'stress'); `make check` runs them in
# the plain build only.  CRASH_ITERS=N overrides the 2000 kills.
stress: tests-on
	ninja -C $(BUILD)
	meson test -C $(BUILD) --suite stress --print-errorlogs

# Only what the demo runs: the CLI, not the tests or the Go CDI oracle.
demo: run-deps $(BUILD)/build.ninja
	ninja -C $(BUILD) zagent
	scripts/demo.sh $(BUILD)/zagent

bench: tests-on
	ninja -C $(BUILD) zbench tests/cdi-oracle.log
	$(BUILD)/zbench $(BUILD)/zagent $(BUILD)/tests/cdi-oracle
	ninja -C $(BUILD) tests/regtool
	bench/registry.sh $(BUILD)/tests/regtool
	bench/images.sh $(BUILD)/zagent

# libFuzzer (clang): each target of tests/fuzz for FUZZ_SECONDS on a copy of
# its seed corpus; crashes are saved under tests/fuzz/crashes/.
fuzz-deps:
	@scripts/deps.sh fuzz

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_lundef=false >/dev/null

fuzz: fuzz-deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD) $(addprefix tests/fuzz_,$(FUZZ_TARGETS))
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Both use the PREFIX of this call (scripts/install.sh reconfigures the
# build dir first); uninstall removes exactly the files install put there.
install: build-deps
	scripts/install.sh install $(BUILD) $(PREFIX) $(DESTDIR)

uninstall:
	scripts/install.sh uninstall $(BUILD) $(PREFIX) $(DESTDIR)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
