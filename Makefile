# Thin wrapper over meson/ninja.  The two commands of the README:
#   make demo    build, then run examples/hello.yaml in a busybox container with runc
#   make check   unit + end-to-end tests, plain and under ASan+UBSan
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build asan check demo install uninstall clean bench

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

demo: build
	scripts/demo.sh $(BUILD)/zagent

install: build
	meson configure $(BUILD) --prefix=$(PREFIX) >/dev/null
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
