# tests/fuzz/fuzz.mk: the libFuzzer targets, built by clang apart from the
# autotools build, whose compiler (CC, gcc by default) cannot build them.
#
#   make -f tests/fuzz/fuzz.mk O=DIR [-j2]
#
# builds, in DIR (default build/fuzz), fuzz-<source> for every plugins/
# <source>/<source>.c, fuzz-evidence, fuzz-config and the others of OWN
# and AGENT, from the library's
# sources (every common/*/*.c and plugins/ file, as libmilepost.a), the
# receiver's (all but main and the server; http.c is compiled into
# fuzz_lib.c), the agent's (all but main, for the AGENT targets, which
# also link libgit2) and tests/fuzz/.  All is
# built with ASan, UBSan and libFuzzer's coverage; headers are tracked.

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
O ?= $(TOP)/build/fuzz
FUZZ_CC ?= clang
PKGS = json-c yaml-0.1 libcrypto libssl sqlite3 libpq liblz4 libcurl libevent libevent_pthreads libevent_openssl

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
CFLAGS = -std=c11 -g -O1 $(SAN) -fsanitize=fuzzer-no-link \
	-D_GNU_SOURCE -DVERSION=\"fuzz\" -DPACKAGE_VERSION=\"fuzz\" -I$(TOP)/common -I$(TOP) -I$(TOP)/receiver -I$(TOP)/tests/fuzz \
	$(PKG_CFLAGS) -Wall -Wno-unused-parameter -MMD -MP
LDFLAGS = $(SAN) -fsanitize=fuzzer
LIBS = $(PKG_LIBS) -lpthread -lm

LIBSRC = $(wildcard $(TOP)/common/*/*.c) $(wildcard $(TOP)/plugins/*.c) \
	$(wildcard $(TOP)/plugins/*/*.c) $(wildcard $(TOP)/sinks/*.c) \
	$(filter-out %/milepostd.c %/http.c %/server.c, \
	    $(wildcard $(TOP)/receiver/*.c))
LIBOBJ = $(patsubst $(TOP)/%.c,$(O)/obj/%.o,$(LIBSRC))
AGENTSRC = $(filter-out %/milepost.c, $(wildcard $(TOP)/agent/*.c))
AGENTOBJ = $(patsubst $(TOP)/%.c,$(O)/obj/%.o,$(AGENTSRC))
AGENT_LIBS := $(shell pkg-config --libs libgit2)
SOURCES = $(notdir $(patsubst %/,%,$(dir $(wildcard $(TOP)/plugins/*/*.c))))
# Targets with a file of their own (fuzz_<name>.c), beside the sources'.
OWN = evidence config derive mergepatch retry query urltemplate
# Targets on the agent's parsers (fuzz_<name>.c), linked with the agent.
AGENT = spool prop envfile postreceive
TARGETS = $(SOURCES:%=$(O)/fuzz-%) $(OWN:%=$(O)/fuzz-%) $(AGENT:%=$(O)/fuzz-%)
LIB = $(O)/libmilepost-fuzz.a
AGENTLIB = $(O)/libmilepost-agent-fuzz.a
# The dashboard's files as C (api-web.c serves them), made as the autotools
# build makes them: web/embed.sh over web/ and Debian's Chart.js.
CHARTJS ?= /usr/share/javascript/chart.js/chart.min.js
WEBSRC = $(wildcard $(TOP)/web/*.html $(TOP)/web/*.css $(TOP)/web/*.js)
WEBGEN = $(O)/gen/receiver/web-assets.c
WEBOBJ = $(O)/obj/gen/receiver/web-assets.o
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

$(WEBGEN): $(WEBSRC) $(TOP)/web/embed.sh $(CHARTJS)
	@mkdir -p $(dir $@)
	sh $(TOP)/web/embed.sh $@ $(foreach f,$(WEBSRC),$(notdir $(f))=$(f)) \
	    chart.js=$(CHARTJS)

$(WEBOBJ): $(WEBGEN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ) $(WEBOBJ)
	rm -f $@
	ar cr $@ $^
	ranlib $@

$(AGENTLIB): $(AGENTOBJ)
	rm -f $@
	ar cr $@ $^
	ranlib $@

$(SOURCES:%=$(O)/fuzz-%): $(O)/fuzz-%: $(O)/obj/tests/fuzz/fuzz_source-%.o \
    $(FUZZLIB) $(LIB)
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(OWN:%=$(O)/fuzz-%): $(O)/fuzz-%: $(O)/obj/tests/fuzz/fuzz_%.o $(FUZZLIB) $(LIB)
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(AGENT:%=$(O)/fuzz-%): $(O)/fuzz-%: $(O)/obj/tests/fuzz/fuzz_%.o $(FUZZLIB) \
    $(AGENTLIB) $(LIB)
	$(FUZZ_CC) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(LIBS)

clean:
	rm -rf $(O)/obj $(O)/gen $(LIB) $(AGENTLIB) $(TARGETS)

.PHONY: all targets clean
.DELETE_ON_ERROR:

-include $(LIBOBJ:.o=.d) $(AGENTOBJ:.o=.d) $(FUZZLIB:.o=.d) \
	$(SOURCES:%=$(O)/obj/tests/fuzz/fuzz_source-%.d) \
	$(OWN:%=$(O)/obj/tests/fuzz/fuzz_%.d) \
	$(AGENT:%=$(O)/obj/tests/fuzz/fuzz_%.d)
