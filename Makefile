# portevo: one Makefile for every process, the selftest, test tools and benchmarks.
#
#   make            build bin/ (normal build)
#   make SANITIZE=1 build build/san/bin/ with ASan + UBSan
#   make test       install what is missing, build both flavours, run every suite
#   make run        install what is missing, build, start a local demo (see README)
#   make check      selftest + system tests on the normal build (no installs)
#   make format / format-check
#
# Objects go out of tree into build/, with -MMD -MP dependency files.  Every non-main
# .c of a process folder goes into that folder's archive, so the selftest links every
# module; programs are listed explicitly below.

SANITIZE ?= 0
CC ?= gcc

ifeq ($(SANITIZE),1)
  OUT := build/san
  BIN := build/san/bin
  OPT := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  LDOPT := -fsanitize=address,undefined
else
  OUT := build/obj
  BIN := bin
  OPT := -O2 -g
  LDOPT :=
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wwrite-strings -fno-common
# Package flags are computed lazily, the first time a recipe needs them, never when the
# Makefile is parsed: on a bare machine pkg-config and the -dev packages only exist once
# `deps` has run (`make run` and `make test` install first, then call $(MAKE) again).
# `lazy` defines NAME so that its $(shell ...) runs once, on first expansion.
PKG_CONFIG ?= pkg-config
DEPS ?= scripts/install-deps.sh
DEMO ?= scripts/run-demo.sh
RUN_TESTS ?= tests/run.sh
FUZZ_CC ?= clang
lazy = $(eval $(1) = $$(eval $(1) := $(2))$$($(1)))
PKGS := libczmq libzmq msgpack liblz4 lzo2 libzstd lmdb libuv libh2o nettle
$(call lazy,PKG_CFLAGS,$$(shell $(PKG_CONFIG) --cflags $(PKGS)))
$(call lazy,LIBS_BASE,$$(shell $(PKG_CONFIG) --libs libczmq libzmq msgpack) -lm)
$(call lazy,LIBS_CODEC,$$(shell $(PKG_CONFIG) --libs liblz4 lzo2 libzstd) -lbz2)
# nettle's AES-128 for the ingestor's Crypto-PAn (ingest_anon).
$(call lazy,LIBS_CRYPTO,$$(shell $(PKG_CONFIG) --libs nettle))
$(call lazy,LIBS_LMDB,$$(shell $(PKG_CONFIG) --libs lmdb))
$(call lazy,LIBS_HTTP,$$(shell $(PKG_CONFIG) --libs libuv libh2o))
$(call lazy,LIBS_UV,$$(shell $(PKG_CONFIG) --libs libuv))
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(PKG_CFLAGS) -I. $(CFLAGS)

FOLDERS := proto ingestor shard broker gateway
mods = $(filter-out $(1)/%_main.c,$(wildcard $(1)/*.c))
objs = $(patsubst %.c,$(OUT)/%.o,$(call mods,$(1)))
LIB_proto := $(OUT)/libproto.a
LIB_ingestor := $(OUT)/libingestor.a
LIB_shard := $(OUT)/libshard.a
LIB_broker := $(OUT)/libbroker.a
LIB_gateway := $(OUT)/libgateway.a
ALL_LIBS := $(foreach f,$(FOLDERS),$(if $(call mods,$(f)),$(LIB_$(f))))

# A program is built once its main exists (folders fill in issue by issue).
PROGRAMS := $(BIN)/portevo-ingest $(BIN)/selftest \
    $(if $(wildcard broker/broker_main.c),$(BIN)/portevo-broker) \
    $(if $(wildcard broker/portevo_main.c),$(BIN)/portevo) \
    $(if $(wildcard shard/shard_main.c),$(BIN)/portevo-shard) \
    $(if $(wildcard gateway/gw_main.c),$(BIN)/portevo-gateway)
TOOLS := $(BIN)/nf_send $(BIN)/nf_zstd $(BIN)/nf_mutate $(BIN)/zmq_poke $(BIN)/fake_cluster \
    $(BIN)/store_dump
FUZZ := build/fuzz/fuzz_reader build/fuzz/fuzz_msg build/fuzz/fuzz_series
FUZZFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all

.PHONY: all tools check selftest test run format format-check clean deps memcheck fuzz bench web \
    install
all: $(PROGRAMS) $(TOOLS)
tools: $(TOOLS)

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

define ARCHIVE
$(LIB_$(1)): $(call objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach f,$(FOLDERS),$(if $(call mods,$(f)),$(eval $(call ARCHIVE,$(f)))))

$(BIN)/portevo-ingest: $(OUT)/ingestor/ingest_main.o $(LIB_ingestor) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_CODEC) $(LIBS_CRYPTO) $(LIBS_UV) $(LIBS_BASE)

$(BIN)/portevo-broker: $(OUT)/broker/broker_main.o $(LIB_broker) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_BASE)

# The operator's command (status, up, top, series, host, annotate) lives with the broker.
$(BIN)/portevo: $(OUT)/broker/portevo_main.o $(LIB_broker) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_BASE)

$(BIN)/portevo-shard: $(OUT)/shard/shard_main.o $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_LMDB) $(LIBS_BASE)

$(BIN)/portevo-gateway: $(OUT)/gateway/gw_main.o $(LIB_gateway) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_HTTP) $(LIBS_BASE)

$(BIN)/selftest: $(OUT)/tests/selftest.o $(ALL_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $< -Wl,--start-group $(ALL_LIBS) -Wl,--end-group \
	    $(LIBS_CODEC) $(LIBS_CRYPTO) $(LIBS_LMDB) $(LIBS_HTTP) $(LIBS_BASE)

# Test tools: write test input (NetFlow sender, ZSTD re-compressor, file mutator).
$(BIN)/nf_send: $(OUT)/tests/tools/nf_send.o $(OUT)/tests/tools/nf_send_gen.o
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ -lm
$(BIN)/nf_zstd: $(OUT)/tests/tools/nf_zstd.o
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_CODEC)
$(BIN)/nf_mutate: $(OUT)/tests/tools/nf_mutate.o
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^
# Raw frames to a ROUTER, and a stand-in peer for broker tests.
$(BIN)/zmq_poke: $(OUT)/tests/tools/zmq_poke.o $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_BASE)
# A hash of a shard store's answers (migration test).
$(BIN)/store_dump: $(OUT)/tests/tools/store_dump.o $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_LMDB) $(LIBS_BASE)
# Stand-in broker + shards for the ingestor's delivery test when the real ones are absent.
$(BIN)/fake_cluster: $(OUT)/tests/tools/fake_cluster.o $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(LDOPT) -o $@ $^ $(LIBS_BASE)

# libFuzzer target for the nfcapd reader (clang only).
fuzz: $(FUZZ)
build/fuzz/fuzz_msg: tests/fuzz/fuzz_msg.c $(call mods,proto)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) $(PKG_CFLAGS) -I. -o $@ $^ $(LIBS_BASE)

build/fuzz/fuzz_series: tests/fuzz/fuzz_series.c shard/shard_series.c shard/shard_codec.c \
    shard/shard_pack.c \
    $(call mods,proto)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) $(PKG_CFLAGS) -I. -o $@ $^ $(LIBS_BASE)

build/fuzz/fuzz_reader: tests/fuzz/fuzz_reader.c $(call mods,ingestor) $(call mods,proto)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZFLAGS) $(PKG_CFLAGS) -I. \
	    -o $@ $^ $(LIBS_CODEC) $(LIBS_CRYPTO) $(LIBS_UV) $(LIBS_BASE)

-include $(shell find build -name '*.d' -type f 2>/dev/null)

deps:
	@$(DEPS)

# The web UI's chart library (uPlot, installed by npm ci) copied into web/vendor/.
web:
	@scripts/build-web.sh

selftest: $(BIN)/selftest
	$(BIN)/selftest

check: all
	tests/run.sh --bin bin

# `test` and `run` install first, then build in a new make, which computes the package
# flags only now that pkg-config and the -dev packages are there.
test:
	@$(DEPS)
	$(MAKE) all
	$(MAKE) web
	$(MAKE) SANITIZE=1 all
	$(MAKE) fuzz
	FUZZ_SECONDS=$${FUZZ_SECONDS:-45} $(RUN_TESTS) --bin bin --san-bin build/san/bin \
	    --fuzz build/fuzz/fuzz_reader --fuzz build/fuzz/fuzz_msg

memcheck: $(BIN)/selftest
	valgrind --leak-check=full --error-exitcode=1 $(BIN)/selftest

# Benchmarks print figures, never assert them (bench/README.md says what each measures).
build/bench/shard_store_bench: bench/shard_store_bench.c $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_LMDB) $(LIBS_BASE)

build/bench/anon_bench: bench/anon_bench.c $(LIB_ingestor) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_CRYPTO) $(LIBS_BASE)

build/bench/scale: bench/scale.c bench/scale_model.c $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_LMDB) $(LIBS_BASE)

build/bench/chunk_lab: bench/chunk_lab.c bench/lab_chunks.c $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_LMDB) $(LIBS_CODEC) $(LIBS_BASE)

build/bench/series_lab: bench/series_lab.c bench/lab_chunks.c $(LIB_shard) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_LMDB) $(LIBS_BASE)

build/bench/reader_floor: bench/reader_floor.c $(LIB_ingestor) $(LIB_proto)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $^ $(LIBS_CODEC) $(LIBS_BASE)

bench:
	@$(DEPS)
	$(MAKE) all build/bench/shard_store_bench build/bench/anon_bench build/bench/scale \
	    build/bench/reader_floor
	bench/reader
	bench/reader_v1
	bench/ingest
	build/bench/shard_store_bench
	bench/query
	bench/anon
	bench/scale
	bench/soak

run:
	@$(DEPS)
	$(MAKE) all
	$(MAKE) web
	$(DEMO)

# Programs to PREFIX/bin, the web UI to PREFIX/share/portevo/web, the systemd units of
# deploy/ to SYSTEMD_DIR (README "Several servers").  DESTDIR stages it all elsewhere.
PREFIX ?= /usr/local
SYSTEMD_DIR ?= /etc/systemd/system
INSTALLED := portevo portevo-broker portevo-shard portevo-ingest portevo-gateway
install: all web
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/portevo $(DESTDIR)$(SYSTEMD_DIR)
	install -m 755 $(addprefix bin/,$(INSTALLED)) $(DESTDIR)$(PREFIX)/bin/
	rm -rf $(DESTDIR)$(PREFIX)/share/portevo/web
	cp -R web $(DESTDIR)$(PREFIX)/share/portevo/web
	install -m 644 deploy/*.service $(DESTDIR)$(SYSTEMD_DIR)/

SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(SOURCES)
format-check:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf build bin
