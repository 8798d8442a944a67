# fuzz/fuzz.mk — libFuzzer harnesses (issue 11), included from the Makefile.
#
#   make fuzz-build          build every harness in build/fuzz/
#   make fuzz                run every harness, FUZZ_SECONDS in all (default
#                            3600), FUZZ_JOBS at a time (default: the cores);
#                            the corpus grows in build/fuzz/corpus/<harness>
#   make fuzz-one FUZZER=fuzz_api FUZZ_SECONDS=600   one harness
#   make test                runs each harness briefly (fuzz/run, KS_FUZZ_SECONDS
#                            each, default 8) as part of tests/run
#
# The product is compiled again with clang (Debian 12: clang-14) and
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/obj/, with the
# same warnings as the gcc builds, and put in one archive; each harness links
# against it and so takes the objects it needs. A harness that reaches static
# functions by including a product .c file (fuzz_csv: api_metrics.c) defines
# that file's symbols itself, and the archive's copy is left out.
FUZZ_CC     ?= clang
FUZZ_DIR    := build/fuzz
FUZZ_OBJDIR := $(FUZZ_DIR)/obj
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all
# clang's -Wstring-concatenation (on by default, not a gcc warning) takes the
# designated initializers of split SQL strings (sqlite_scan.c) for a missing
# comma: off; every warning gcc checks stays an error here too.
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN) -Wno-string-concatenation \
               $(CSTD) $(INC)
FUZZ_SECONDS ?= 3600
FUZZ_JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

FUZZ_SRC  := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRC))
FUZZ_OBJ  := $(patsubst src/%.c,$(FUZZ_OBJDIR)/%.o,$(LIB_SRC)) $(FUZZ_OBJDIR)/gen/migrations.o


$(FUZZ_OBJDIR)/%.o: src/%.c $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_OBJDIR)/gen/migrations.o: $(GEN_C)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

# The objects as one archive: a harness takes only the members it needs
# (and none a harness defines itself by including their .c file).
FUZZ_LIB := $(FUZZ_DIR)/libklantstem.a
$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -MMD -MP -o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

# The objects are only the archive's inputs, but they are kept (not removed
# as intermediates), so a second build recompiles only what changed.
.SECONDARY: $(FUZZ_OBJ)

.PHONY: fuzz fuzz-build fuzz-one
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@KS_FUZZ_SECONDS=$(FUZZ_SECONDS) KS_FUZZ_TOTAL=1 KS_FUZZ_JOBS=$(FUZZ_JOBS) \
		KS_FUZZ_CORPUS=$(FUZZ_DIR)/corpus sh fuzz/run $(FUZZ_BINS)

fuzz-one: $(FUZZ_DIR)/$(FUZZER)
	@KS_FUZZ_SECONDS=$(FUZZ_SECONDS) KS_FUZZ_CORPUS=$(FUZZ_DIR)/corpus sh fuzz/run $<

# make test: every harness for a few seconds, as TAP results (tests/run).
test: $(FUZZ_BINS)
test: export KS_FUZZ_BINS := $(FUZZ_BINS)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BINS:=.d)
