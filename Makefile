# aularag — build, test, bench.  `make` builds the CLI; `make test` runs the fast suite
# under ASan/UBSan; `make bench` runs the benchmarks (slow, compares with other tools).
CC      ?= cc
PKGS    := sqlite3 libcurl jansson libmicrohttpd libutf8proc
# The target follows the compiler: x86-64 builds assume x86-64-v3 (AVX2, FMA; AVX-512 is chosen at run
# time); others (aarch64: CC=aarch64-linux-gnu-gcc, see scripts/cross-test.sh) get portable C kernels.
TRIPLE  := $(shell $(CC) -dumpmachine)
MARCH   := $(if $(filter x86_64-%,$(TRIPLE)),-march=x86-64-v3)
CFLAGS  ?= -O2 -g
# OpenBLAS's cblas.h: where pkg-config says (it follows PKG_CONFIG_LIBDIR in cross builds), else the
# first of Debian's multiarch folders that exists.
BLAS_INC:= $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_INC:= $(or $(BLAS_INC),$(addprefix -I,$(firstword $(wildcard /usr/include/$(TRIPLE)/openblas-pthread \
             /usr/include/$(TRIPLE)/openblas-openmp /usr/include/$(TRIPLE)/openblas-serial /usr/include/openblas))))
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Wshadow -Werror=implicit-function-declaration -Iinclude -Isrc \
           $(BLAS_INC) -pthread $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# Each object records the headers it includes (build/.../x.d, read back below), so a header edit
# rebuilds only what uses it; -MP keeps a deleted or moved header from breaking the build.
DEPFLAGS:= -MMD -MP
OPT     := -O3 $(MARCH) -ffp-contract=off
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lstemmer -lopenblas -lpthread -lm

SRC     := $(sort $(wildcard src/*/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
TEST_SRC:= $(sort $(wildcard tests/unit/*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))

BUILD ?= build
B  := $(BUILD)/release
BT := $(BUILD)/asan
OBJ      := $(SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
TOBJ     := $(SRC:%.c=$(BT)/%.o)
TCLI_OBJ := $(CLI_SRC:%.c=$(BT)/%.o)
TTEST_OBJ:= $(TEST_SRC:%.c=$(BT)/%.o)

# --- Server web page (wt/server): src/server/web/* embedded into the library as a generated C table ---
WEB_FILES := $(sort $(wildcard src/server/web/*))
WEB_GEN   := build/gen/web_assets.c
OBJ  += $(B)/$(WEB_GEN:.c=.o)
TOBJ += $(BT)/$(WEB_GEN:.c=.o)
# The annotation page (issue #17): src/annotate/web/* the same way, as its own table.
ANN_FILES := $(sort $(wildcard src/annotate/web/*))
ANN_GEN   := build/gen/annotate_assets.c
OBJ  += $(B)/$(ANN_GEN:.c=.o)
TOBJ += $(BT)/$(ANN_GEN:.c=.o)
# (the rules that write $(WEB_GEN) and $(ANN_GEN) follow `all`, so they are not the default goal)
# float-cast-overflow is not part of GCC's "undefined" group: named so (long)1e20 is caught too.
SAN ?= -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer -fno-sanitize-recover=undefined,float-cast-overflow
TOPT ?= -O1

.PHONY: all test test-slow bench bench-bins clean check-header lint fuzz fuzz-bins
all: aularag

$(WEB_GEN): $(WEB_FILES) scripts/embed_assets.sh
	@bash scripts/embed_assets.sh $@ $(WEB_FILES)
$(ANN_GEN): $(ANN_FILES) scripts/embed_assets.sh
	@bash scripts/embed_assets.sh --name ar_annotate_assets $@ $(ANN_FILES)

aularag: $(B)/aularag
	cp $< $@

$(B)/libaularag.a: $(OBJ)
	rm -f $@ && ar rcs $@ $^
$(B)/aularag: $(CLI_OBJ) $(B)/libaularag.a
	$(CC) $(CFLAGS) $(OPT) -o $@ $^ $(LDLIBS)
$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo 'CC      $<'
	@$(CC) $(CFLAGS) $(DEPFLAGS) $(OPT) -c -o $@ $<

# Test build: sanitizers on, same sources.
$(BT)/libaularag.a: $(TOBJ)
	rm -f $@ && ar rcs $@ $^
$(BT)/aularag: $(TCLI_OBJ) $(BT)/libaularag.a
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS)
$(BT)/unit_tests: $(TTEST_OBJ) $(BT)/libaularag.a
	$(CC) $(CFLAGS) -O1 $(SAN) -o $@ $^ $(LDLIBS)
$(BT)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo 'CC asan $<'
	@$(CC) $(CFLAGS) $(DEPFLAGS) $(TOPT) $(MARCH) -ffp-contract=off $(SAN) -c -o $@ $<

# ThreadSanitizer build of the library and the concurrent-search check (tests/tsan/).
BTS      := build/tsan
TSOBJ    := $(SRC:%.c=$(BTS)/%.o) $(BTS)/$(WEB_GEN:.c=.o) $(BTS)/$(ANN_GEN:.c=.o)
$(BTS)/libaularag.a: $(TSOBJ)
	rm -f $@ && ar rcs $@ $^
$(BTS)/parallel_search: tests/tsan/parallel_search.c $(BTS)/libaularag.a
	$(CC) $(CFLAGS) -O1 $(MARCH) -fsanitize=thread -o $@ $^ $(LDLIBS)
$(BTS)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo 'CC tsan $<'
	@$(CC) $(CFLAGS) $(DEPFLAGS) -O1 $(MARCH) -fsanitize=thread -c -o $@ $<

# The header must stay valid C on its own (whisper.cpp's test-c.c idea).
check-header:
	@mkdir -p build && printf '#include "aularag.h"\nint main(void){return 0;}\n' > build/hdr.c && \
	  $(CC) -std=c11 -Wall -Wextra -Werror -Iinclude -o build/hdr build/hdr.c

test: check-header $(BT)/unit_tests $(BT)/aularag $(B)/aularag $(BTS)/parallel_search
	AULARAG_BIN=$(abspath $(BT)/aularag) bash tests/run.sh $(abspath $(BT)/unit_tests)

test-slow: export AULARAG_SLOW=1
test-slow: test

# Benchmark drivers: each bench/<name>.c is one program linked with the library (release build).
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
bench-bins: $(BENCH_BIN)
$(B)/bench/%: bench/%.c $(B)/libaularag.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(OPT) -o $@ $^ $(LDLIBS)

bench: $(B)/aularag $(BENCH_BIN)
	bash bench/run.sh

# Fuzzing (tests/fuzz/): one libFuzzer target per entry point, built with clang and ASan/UBSan;
# `make fuzz` runs each for FUZZ_SECONDS (tests/fuzz/run.sh: seeds, dictionaries, crash files).
# Debian: clang-14 + libclang-rt-14-dev (scripts/install-deps.sh --test)
FUZZ_CC      ?= $(shell command -v clang-14 || echo clang)
FUZZ_SECONDS ?= 10
BF       := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow \
            -fno-omit-frame-pointer
FOBJ     := $(SRC:%.c=$(BF)/%.o) $(BF)/$(WEB_GEN:.c=.o) $(BF)/$(ANN_GEN:.c=.o)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(BF)/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
$(BF)/libaularag.a: $(FOBJ)
	rm -f $@ && ar rcs $@ $^
$(BF)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo 'CC fuzz $<'
	@$(FUZZ_CC) $(CFLAGS) $(DEPFLAGS) -O1 -march=x86-64-v3 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<
$(BF)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/unit/charsmap_build.c $(BF)/libaularag.a
	$(FUZZ_CC) $(CFLAGS) -O1 -march=x86-64-v3 $(FUZZ_SAN) -fsanitize=fuzzer -Itests/unit -o $@ $< \
	  tests/unit/charsmap_build.c $(BF)/libaularag.a $(LDLIBS)
fuzz-bins: $(FUZZ_BIN)
fuzz: fuzz-bins $(B)/aularag
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_TARGETS)

# the header lists the compiler wrote (a missing one is fine: that object is not built yet)
-include $(patsubst %.o,%.d,$(OBJ) $(CLI_OBJ) $(TOBJ) $(TCLI_OBJ) $(TTEST_OBJ) $(TSOBJ) $(FOBJ))

lint:
	cppcheck --quiet --enable=warning,performance --std=c11 -Iinclude -Isrc src cli

clean:
	rm -rf build aularag
