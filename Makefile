# dci - PostgreSQL extension for DCI (SPDCI) registries.  PGXS build.

EXTENSION    = dci
MODULE_big   = dci
DATA         = $(wildcard sql/dci--*.sql)

# Protocol layer (no PostgreSQL headers), transport, PostgreSQL glue.
PROTO_SRCS   = src/dbuf.c src/canonjson.c src/sign.c src/envelope.c src/records.c src/replies.c src/callback.c
TRANSPORT_SRCS = src/http.c
GLUE_SRCS    = src/dci.c src/shmem.c src/source.c src/owner.c src/report.c src/http_wait.c src/exchange.c src/budget.c src/progress.c src/auth.c src/token_cache.c src/search.c src/lookup.c src/batch.c src/keys.c src/crvs.c src/ibr.c src/dr.c src/autonomous.c src/inbox.c src/async.c src/subscribe.c src/listener.c
OBJS         = $(PROTO_SRCS:.c=.o) $(TRANSPORT_SRCS:.c=.o) $(GLUE_SRCS:.c=.o)

PG_CONFIG   ?= pg_config

# json-c only for the test registry: the extension parses with its own bounded parser
DEPS_CFLAGS := $(shell pkg-config --cflags libcurl openssl libmicrohttpd)
DEPS_LIBS   := $(shell pkg-config --libs libcurl openssl libmicrohttpd)
JSONC_CFLAGS := $(shell pkg-config --cflags json-c)
JSONC_LIBS  := $(shell pkg-config --libs json-c)

PG_CPPFLAGS  = -Isrc $(DEPS_CFLAGS)
# Warnings warn: a user's build must not break on a newer compiler's new
# warning.  Test and CI builds make them errors with PostgreSQL's COPT
# (test/lib.sh: make COPT=-Werror), which also reaches TEST_CFLAGS below.
PG_CFLAGS    = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
SHLIB_LINK   = $(DEPS_LIBS)

# pg_regress tests live in sql/ and expected/ (sql/*.sql other than the
# install scripts).  Plain `make installcheck` runs the offline ones
# (sql/*_offline_*.sql): they need a server with dci installed, nothing else.
# The others need the local registry, stunnel and dblink that test/run-tests
# starts; it runs both, offline first: make installcheck WITH_REGISTRY=1.
REGRESS_OFFLINE  = $(sort $(basename $(notdir $(wildcard sql/*_offline_*.sql))))
REGRESS_REGISTRY = $(sort $(filter-out dci--% $(REGRESS_OFFLINE),$(basename $(notdir $(wildcard sql/*.sql)))))
REGRESS      = $(REGRESS_OFFLINE)
REGRESS_OPTS = --inputdir=.
ifdef WITH_REGISTRY
REGRESS     += $(REGRESS_REGISTRY)
REGRESS_OPTS += --load-extension=dblink
endif

EXTRA_CLEAN  = test/unit/test_protocol test/unit/bench_protocol test/registry/dci-registry test/bench/rawclient test/bench/cbsend \
               test/fuzz/fuzz_canonjson test/fuzz/fuzz_envelope test/fuzz/fuzz_standalone \
               results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track headers: every object depends on all of them.
$(OBJS): $(wildcard src/*.h)

# Stand-alone programs built from the protocol layer (no PostgreSQL).
TEST_CFLAGS = -O2 -g -std=gnu11 -Wall -Wextra $(COPT) -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare -Isrc $(DEPS_CFLAGS)
PROTO_HDRS  = $(wildcard src/*.h)

UNIT_SRCS   = test/unit/test_protocol.c test/unit/test_json.c test/unit/test_records.c test/unit/test_envelope.c
test/unit/test_protocol: $(UNIT_SRCS) test/unit/unit.h $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) -o $@ $(UNIT_SRCS) $(PROTO_SRCS) $(DEPS_LIBS) -lm

test/unit/bench_protocol: test/unit/bench_protocol.c $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) -o $@ test/unit/bench_protocol.c $(PROTO_SRCS) $(DEPS_LIBS) -lm

# the registry still reads requests with json-c
test/registry/dci-registry: $(wildcard test/registry/*.c test/registry/*.h) $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) $(JSONC_CFLAGS) -pthread -o $@ $(wildcard test/registry/*.c) $(PROTO_SRCS) $(DEPS_LIBS) $(JSONC_LIBS) $(shell pkg-config --libs libmicrohttpd) -lm

test/bench/rawclient: test/bench/rawclient.c $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) -o $@ test/bench/rawclient.c $(PROTO_SRCS) $(DEPS_LIBS) -lm

test/bench/cbsend: test/bench/cbsend.c $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) -pthread $(shell pkg-config --cflags libpq) -o $@ test/bench/cbsend.c $(PROTO_SRCS) $(DEPS_LIBS) $(shell pkg-config --libs libpq) -lm

test/fuzz/fuzz_standalone: $(wildcard test/fuzz/*.c test/fuzz/*.h) $(PROTO_SRCS) $(PROTO_HDRS)
	$(CC) $(TEST_CFLAGS) -DFUZZ_STANDALONE -o $@ $(wildcard test/fuzz/fuzz_*.c) $(PROTO_SRCS) $(DEPS_LIBS) -lm

.PHONY: unit registry tools
unit: test/unit/test_protocol
	test/unit/test_protocol test/vectors
	test/schema/validate --run test/unit/test_protocol test/vectors
registry: test/registry/dci-registry
tools: test/unit/test_protocol test/registry/dci-registry
