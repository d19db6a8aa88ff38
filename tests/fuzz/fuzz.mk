# tests/fuzz/fuzz.mk: the libFuzzer targets, built by clang apart from the
# autotools build, whose compiler (CC, gcc by default) cannot build them.
#
#   make -f tests/fuzz/fuzz.mk O=DIR [-j2]
#
# builds, in DIR (default build/fuzz), fuzz-<source> for every plugins/
# <source>/<source>.c, fuzz-evidence and fuzz-config, from the library's
# sources (every common/*/*.c and plugins/ file, as libmilepost.a), the
# receiver's (all but main and the server; http.c is compiled into
# fuzz_lib.c) and tests/fuzz/.  All is
# built with ASan, UBSan and libFuzzer's coverage; headers are tracked.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
O ?= $(TOP)/build/fuzz
FUZZ_CC ?= clang
PKGS = json-c yaml-0.1 libcrypto sqlite3 libpq liblz4 libcurl libevent libevent_pthreads

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
CFLAGS = -std=c11 -g -O1 $(SAN) -fsanitize=fuzzer-no-link \
	-D_GNU_SOURCE -DVERSION=\"fuzz\" -I$(TOP)/common -I$(TOP) -I$(TOP)/receiver -I$(TOP)/tests/fuzz \
	$(PKG_CFLAGS) -Wall -Wno-unused-parameter -MMD -MP
LDFLAGS = $(SAN) -fsanitize=fuzzer
LIBS = $(PKG_LIBS) -lpthread -lm

LIBSRC = $(wildcard $(TOP)/common/*/*.c) $(wildcard $(TOP)/plugins/*.c) \
	$(wildcard $(TOP)/plugins/*/*.c) $(wildcard $(TOP)/sinks/*.c) \
	$(filter-out %/milepostd.c %/http.c %/server.c, \
	    $(wildcard $(TOP)/receiver/*.c))
LIBOBJ = $(patsubst $(TOP)/%.c,$(O)/obj/%.o,$(LIBSRC))
SOURCES = $(notdir $(patsubst %/,%,$(dir $(wildcard $(TOP)/plugins/*/*.c))))
# Targets with a file of their own (fuzz_<name>.c), beside the sources'.
OWN = evidence config derive mergepatch retry query
TARGETS = $(SOURCES:%=$(O)/fuzz-%) $(OWN:%=$(O)/fuzz-%)
LIB = $(O)/libmilepost-fuzz.a
FUZZLIB = $(O)/obj/tests/fuzz/fuzz_lib.o

all: $(TARGETS)

MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
%.d: ;

# Print the targets' names, for the scripts.
targets:
	@echo $(notdir $(TARGETS))

$(O)/obj/%.o: $(TOP)/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) -c -o $@ $<

$(O)/obj/tests/fuzz/fuzz_source-%.o: $(TOP)/tests/fuzz/fuzz_source.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) -DFUZZ_SOURCE='"$*"' -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	ar cr $@ $^
	ranlib $@

$(SOURCES:%=$(O)/fuzz-%): $(O)/fuzz-%: $(O)/obj/tests/fuzz/fuzz_source-%.o \
    $(FUZZLIB) $(LIB)
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OWN:%=$(O)/fuzz-%): $(O)/fuzz-%: $(O)/obj/tests/fuzz/fuzz_%.o $(FUZZLIB) $(LIB)
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(LIBS)

clean:
	rm -rf $(O)/obj $(LIB) $(TARGETS)

.PHONY: all targets clean
.DELETE_ON_ERROR:

-include $(LIBOBJ:.o=.d) $(FUZZLIB:.o=.d) \
	$(SOURCES:%=$(O)/obj/tests/fuzz/fuzz_source-%.d) \
	$(OWN:%=$(O)/obj/tests/fuzz/fuzz_%.d)
