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

.PHONY: all deps build asan check demo install uninstall clean bench fuzz stress

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX) -Dwerror=true >/dev/null

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Dwerror=true >/dev/null

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

check: build asan
	tests/run-all.sh $(BUILD) $(ASAN_BUILD)

# Crash-safety and load tests (suite 'stress'); `make check` runs them in
# the plain build only.  CRASH_ITERS=N overrides the 2000 kills.
stress: build
	meson test -C $(BUILD) --suite stress --print-errorlogs

demo: build
	scripts/demo.sh $(BUILD)/zagent

bench: build
	ninja -C $(BUILD) zbench tests/cdi-oracle.log
	$(BUILD)/zbench $(BUILD)/zagent $(BUILD)/tests/cdi-oracle
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

install: build
	meson configure $(BUILD) --prefix=$(PREFIX) >/dev/null
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
