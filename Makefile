# mxtls - see README.md.  `make demo' and `make check' install what they
# need (Debian 12 packages) and run everything from a fresh clone.

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR = $(PREFIX)/sbin
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system

CC ?= cc
# The version, in one place: VERSION (debian/changelog must agree, see
# debian/rules); `mxtlsd -V', `mxtls-report -V', `mxtls-check -V' and
# `mxtls-iptables --version' print it.
VERSION := $(shell cat VERSION)
VERSION_DEF = -DMXTLS_VERSION='"$(VERSION)"'
PKGS = openssl libunbound libnetfilter_queue libcjson libcurl zlib libcap libsystemd hiredis
# The build must find every dependency; only what is used is linked.
PKG_CHECK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok)
LINK_PKGS = openssl libunbound libcurl libcjson libnetfilter_queue hiredis
WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral -fno-common
# _FORTIFY_SOURCE=2 unless CPPFLAGS or CFLAGS set a level (dpkg-buildflags
# does): a second, different definition would be an error with -Werror.
HARDEN = -fstack-protector-strong -fPIE \
	$(if $(findstring _FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS)),,-D_FORTIFY_SOURCE=2)
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CPPFLAGS) $(CFLAGS) $(WARN) $(HARDEN) -D_GNU_SOURCE $(VERSION_DEF) \
	$(shell pkg-config --cflags $(LINK_PKGS) 2>/dev/null)
LDFLAGS ?=
ALL_LDFLAGS = $(LDFLAGS) -pie -Wl,-z,relro,-z,now
# Debian's libev exports libevent-compatible symbols (event_add, ...);
# Debian's libunbound runs its worker on the real libevent.  libevent must
# come first in the search order, or libunbound's worker thread calls
# libev's imitation and corrupts the heap.
LIBS = $(shell pkg-config --libs $(LINK_PKGS) 2>/dev/null) \
	-Wl,--no-as-needed -levent -Wl,--as-needed -lev
# libcap: mxtlsd's privileges (proxy/privs.c, proxy/privs_set.c) only.
CAP_LIBS = $(shell pkg-config --libs libcap 2>/dev/null)
# libsystemd: sd_notify(3) for Type=notify (proxy/notify.c) only.
NOTIFY_LIBS = $(shell pkg-config --libs libsystemd 2>/dev/null)

# ASan + UBSan build: same sources, its own object directory.
ASAN_CFLAGS = -std=gnu11 -O1 -g -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all \
	$(WARN) -D_GNU_SOURCE $(VERSION_DEF) $(shell pkg-config --cflags $(LINK_PKGS) 2>/dev/null)
ASAN_LDFLAGS = -fsanitize=address,undefined

LIB_SRC = lib/log.c lib/clock.c lib/buf.c lib/tags.c lib/dirs.c lib/file.c lib/addr.c lib/dname.c lib/dest.c lib/conf.c lib/conf_load.c
PROXY_CORE = proxy/affinity.c proxy/summary.c proxy/smtp.c proxy/fsm.c proxy/smap.c proxy/smap_answer.c proxy/dnsmsg.c proxy/hints.c
POLICY_CORE = policy/ptable.c policy/rr.c policy/dnssec.c policy/dane.c policy/plan.c policy/route.c \
	policy/sts.c
POLICY_IO = policy/ptable_load.c policy/dns.c policy/resolve.c policy/fetch.c policy/stscache.c policy/stsget.c \
	policy/stsredis.c
PROXY_IO = proxy/tls.c proxy/tls_scache.c proxy/conn.c proxy/up.c proxy/up_tls.c proxy/upcache.c proxy/sess.c \
	proxy/sess_route.c proxy/sess_xfer.c proxy/sess_hold.c proxy/sess_record.c \
	proxy/listen.c proxy/metrics.c proxy/metrics_srv.c proxy/smap_srv.c proxy/nfq.c \
	proxy/privs.c proxy/privs_set.c proxy/wk_shm.c proxy/workers.c proxy/notify.c
MXTLSD_SRC = $(LIB_SRC) $(PROXY_CORE) $(POLICY_CORE) $(POLICY_IO) $(PROXY_IO) \
	report/rtype.c report/record.c report/journal.c proxy/main.c

UNIT_TESTS = test_config test_smtp test_fsm test_buf test_dane test_sts test_tlsrpt \
	test_record test_agg test_journal test_rtype
UNIT_SRC_test_config = tests/unit/test_config.c lib/conf.c lib/conf_load.c lib/file.c lib/dname.c lib/addr.c
UNIT_SRC_test_smtp = tests/unit/test_smtp.c proxy/smtp.c lib/dname.c
UNIT_SRC_test_fsm = tests/unit/test_fsm.c proxy/fsm.c proxy/smtp.c lib/dname.c
UNIT_SRC_test_buf = tests/unit/test_buf.c lib/buf.c
UNIT_TESTS += test_ptable test_mime test_deliver test_sess test_file test_up test_addr test_dname
UNIT_SRC_test_addr = tests/unit/test_addr.c lib/addr.c lib/dest.c lib/dname.c
UNIT_SRC_test_dname = tests/unit/test_dname.c lib/dname.c
UNIT_SRC_test_ptable = tests/unit/test_ptable.c policy/ptable.c policy/ptable_load.c lib/file.c lib/dest.c lib/addr.c lib/dname.c
UNIT_SRC_test_file = tests/unit/test_file.c lib/file.c
# The session end to end in one process; policy lookups replaced by the test.
UNIT_SRC_test_sess = tests/unit/test_sess.c tests/unit/fakemx.c lib/buf.c lib/tags.c lib/dirs.c lib/file.c \
	policy/ptable.c policy/ptable_load.c lib/dest.c \
	lib/addr.c lib/dname.c \
	lib/conf.c lib/conf_load.c proxy/smtp.c proxy/fsm.c proxy/tls.c proxy/conn.c proxy/up.c \
	proxy/up_tls.c proxy/tls_scache.c proxy/upcache.c proxy/sess.c proxy/sess_route.c proxy/sess_xfer.c proxy/sess_hold.c \
	proxy/summary.c proxy/sess_record.c proxy/wk_shm.c proxy/metrics.c policy/rr.c policy/dane.c policy/plan.c policy/route.c \
	policy/sts.c policy/dnssec.c report/rtype.c report/record.c report/journal.c
# The upstream client against a scripted MX in one process.
UNIT_SRC_test_up = tests/unit/test_up.c tests/unit/fakemx.c lib/buf.c lib/addr.c lib/dname.c \
	policy/ptable.c policy/ptable_load.c lib/dest.c lib/file.c policy/route.c policy/plan.c policy/sts.c \
	policy/dnssec.c lib/tags.c \
	proxy/smtp.c \
	proxy/tls.c proxy/conn.c proxy/up.c proxy/up_tls.c proxy/tls_scache.c policy/rr.c policy/dane.c \
	report/rtype.c
UNIT_SRC_test_mime = tests/unit/test_mime.c report/mime.c lib/buf.c lib/dname.c
UNIT_SRC_test_deliver = tests/unit/test_deliver.c report/deliver.c lib/buf.c lib/dirs.c lib/file.c
UNIT_SRC_test_record = tests/unit/test_record.c report/record.c report/rtype.c lib/buf.c
UNIT_SRC_test_rtype = tests/unit/test_rtype.c report/rtype.c report/record.c lib/buf.c
UNIT_SRC_test_journal = tests/unit/test_journal.c report/journal.c report/record.c \
	report/rtype.c lib/buf.c lib/dirs.c
UNIT_SRC_test_agg = tests/unit/test_agg.c report/agg.c report/render.c report/record.c \
	report/rtype.c lib/buf.c lib/dname.c
UNIT_TESTS += test_merge
# The shared MTA-STS cache against real redis-server processes.
UNIT_TESTS += test_stsredis
UNIT_SRC_test_stsredis = tests/unit/test_stsredis.c policy/stsredis.c policy/stscache.c \
	policy/sts.c lib/conf.c lib/addr.c lib/dname.c lib/dirs.c lib/file.c lib/tags.c report/rtype.c
UNIT_SRC_test_merge = tests/unit/test_merge.c report/merge.c report/agg.c report/record.c \
	report/rtype.c lib/buf.c lib/dname.c
UNIT_SRC_test_tlsrpt = tests/unit/test_tlsrpt.c report/tlsrpt.c lib/tags.c
UNIT_SRC_test_sts = tests/unit/test_sts.c policy/sts.c policy/stscache.c lib/dname.c lib/tags.c \
	lib/dirs.c lib/file.c report/rtype.c
UNIT_SRC_test_dane = tests/unit/test_dane.c policy/dnssec.c policy/dane.c report/rtype.c
UNIT_TESTS += test_rr test_plan test_route test_smap test_metrics test_check
UNIT_TESTS += test_smap_answer test_smap_srv
UNIT_TESTS += test_dnsmsg
UNIT_SRC_test_dnsmsg = tests/unit/test_dnsmsg.c tests/common/dnsbuild.c proxy/dnsmsg.c
UNIT_TESTS += test_hints
UNIT_TESTS += test_scache
UNIT_SRC_test_scache = tests/unit/test_scache.c proxy/tls_scache.c
UNIT_SRC_test_hints = tests/unit/test_hints.c proxy/hints.c
UNIT_TESTS += test_privs
# The log layer and the delivery summary: text and JSON lines, parsed back.
UNIT_TESTS += test_log
UNIT_SRC_test_log = tests/unit/test_log.c proxy/summary.c policy/ptable.c lib/dest.c lib/addr.c \
	lib/dname.c
UNIT_TESTS += test_workers test_affinity
UNIT_SRC_test_affinity = tests/unit/test_affinity.c proxy/affinity.c
UNIT_SRC_test_workers = tests/unit/test_workers.c proxy/wk_shm.c proxy/workers.c proxy/notify.c proxy/metrics.c \
	report/rtype.c lib/buf.c lib/log.c
UNIT_SRC_test_privs = tests/unit/test_privs.c proxy/privs.c lib/conf.c lib/dname.c lib/addr.c
UNIT_SRC_test_metrics = tests/unit/test_metrics.c proxy/metrics.c report/rtype.c lib/buf.c
# mxtls-check's pure part: verdict words, table entry, JSON and text.
UNIT_SRC_test_check = tests/unit/test_check.c tools/check_out.c policy/route.c policy/ptable.c \
	lib/dest.c policy/plan.c policy/dane.c policy/dnssec.c policy/sts.c policy/rr.c lib/tags.c \
	report/rtype.c lib/addr.c lib/dname.c lib/conf.c
UNIT_SRC_test_smap = tests/unit/test_smap.c proxy/smap.c lib/dest.c lib/dname.c lib/addr.c
UNIT_SRC_test_smap_srv = tests/unit/test_smap_srv.c proxy/smap_srv.c proxy/smap_answer.c \
	proxy/smap.c proxy/metrics.c lib/buf.c report/rtype.c policy/ptable.c lib/conf.c lib/dest.c lib/dname.c lib/addr.c
UNIT_SRC_test_smap_answer = tests/unit/test_smap_answer.c proxy/smap_answer.c proxy/smap.c \
	policy/ptable.c policy/sts.c report/rtype.c lib/tags.c lib/dest.c lib/dname.c lib/addr.c
UNIT_SRC_test_rr = tests/unit/test_rr.c policy/rr.c policy/dane.c lib/dname.c
UNIT_SRC_test_plan = tests/unit/test_plan.c policy/plan.c policy/dane.c policy/dnssec.c lib/addr.c
UNIT_SRC_test_route = tests/unit/test_route.c policy/route.c policy/ptable.c lib/dest.c policy/plan.c policy/dane.c \
	policy/dnssec.c policy/sts.c policy/rr.c lib/tags.c report/rtype.c lib/addr.c lib/dname.c

FUZZERS = fuzz_ptable fuzz_smtp fuzz_config fuzz_rr fuzz_sts fuzz_tlsrpt fuzz_journal fuzz_stscache \
	fuzz_smap fuzz_metrics fuzz_check
FUZZERS += fuzz_smap_answer
FUZZERS += fuzz_dnsmsg
FUZZ_SRC_fuzz_dnsmsg = tests/fuzz/fuzz_dnsmsg.c proxy/dnsmsg.c
FUZZERS += fuzz_hints
FUZZ_SRC_fuzz_hints = tests/fuzz/fuzz_hints.c proxy/hints.c
FUZZ_SRC_fuzz_metrics = tests/fuzz/fuzz_metrics.c proxy/metrics.c report/rtype.c
FUZZ_SRC_fuzz_check = tests/fuzz/fuzz_check.c tools/check_out.c policy/route.c policy/ptable.c \
	lib/dest.c policy/plan.c policy/dane.c policy/dnssec.c policy/sts.c policy/rr.c lib/tags.c \
	report/rtype.c lib/addr.c lib/dname.c lib/conf.c
FUZZ_SRC_fuzz_ptable = tests/fuzz/fuzz_ptable.c policy/ptable.c lib/dest.c lib/addr.c lib/dname.c
FUZZ_SRC_fuzz_smtp = tests/fuzz/fuzz_smtp.c proxy/smtp.c proxy/fsm.c lib/dname.c
FUZZ_SRC_fuzz_config = tests/fuzz/fuzz_config.c lib/conf.c lib/dname.c lib/addr.c
FUZZ_SRC_fuzz_tlsrpt = tests/fuzz/fuzz_tlsrpt.c report/tlsrpt.c lib/tags.c
FUZZ_SRC_fuzz_sts = tests/fuzz/fuzz_sts.c policy/sts.c lib/dname.c lib/tags.c report/rtype.c
FUZZ_SRC_fuzz_smap = tests/fuzz/fuzz_smap.c proxy/smap.c lib/dest.c lib/dname.c lib/addr.c
FUZZ_SRC_fuzz_smap_answer = tests/fuzz/fuzz_smap_answer.c proxy/smap_answer.c proxy/smap.c \
	policy/ptable.c lib/dest.c lib/dname.c lib/addr.c
FUZZ_SRC_fuzz_rr = tests/fuzz/fuzz_rr.c policy/rr.c policy/dane.c report/rtype.c lib/dname.c
FUZZ_SRC_fuzz_journal = tests/fuzz/fuzz_journal.c report/record.c report/agg.c report/merge.c lib/dname.c \
	report/render.c report/rtype.c
FUZZ_SRC_fuzz_stscache = tests/fuzz/fuzz_stscache.c policy/stscache.c policy/sts.c \
	lib/dname.c lib/tags.c lib/dirs.c lib/file.c report/rtype.c
# Extra libraries per fuzzer (FUZZ_LIBS_name); the others need none.
FUZZ_LIBS_fuzz_journal = $(shell pkg-config --libs libcjson zlib 2>/dev/null)
FUZZ_LIBS_fuzz_check = $(shell pkg-config --libs libcjson 2>/dev/null)
# seconds per fuzzer in `make fuzz-smoke` (make check); FUZZ_JOBS run at once
FUZZ_SECONDS ?= 10
# Unit tests may use what the daemon does not link yet (cJSON); libcap
# is for test_privs (capability names), libsystemd for test_workers.
UNIT_LIBS = $(shell pkg-config --libs libcjson zlib 2>/dev/null) $(CAP_LIBS) $(NOTIFY_LIBS)

HDRS = $(wildcard lib/*.h proxy/*.h policy/*.h report/*.h tools/*.h)

.PHONY: all deps deps-check check unit fuzz fuzz-smoke fuzz-long asan asan-unit lab \
	soak soak-check demo bench install uninstall clean selftest asan-selftest deb \
	report-merge asan-report-merge

all: mxtlsd mxtls-report mxtls-check

deps:
	@sh scripts/deps.sh build

deps-check:
	@sh scripts/deps.sh check

pkgcheck:
	@test "$(PKG_CHECK)" = ok || { echo "missing build dependencies: run 'make deps' (as root)"; \
	    for p in $(PKGS); do pkg-config --exists $$p || echo "  pkg-config: $$p not found"; done; exit 1; }

mxtlsd: $(MXTLSD_SRC:%.c=build/%.o)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(CAP_LIBS) $(NOTIFY_LIBS)
	@sh tests/check-linkorder $@

build/%.o: %.c $(HDRS) | pkgcheck
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The objects that print the version are rebuilt when it changes.
VERSION_OBJS = proxy/main.o tools/mxtls-report.o tools/mxtls-check.o
$(VERSION_OBJS:%=build/%) $(VERSION_OBJS:%=build-asan/%): VERSION

build-asan/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(ASAN_CFLAGS) -c -o $@ $<

build-asan/mxtlsd: $(MXTLSD_SRC:%.c=build-asan/%.o)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS) $(CAP_LIBS) $(NOTIFY_LIBS)
	@sh tests/check-linkorder $@

# mxtls-report: TLSRPT from the journal (tools/); mxtlsd's link is separate.
MXTLS_REPORT_SRC = $(LIB_SRC) policy/dns.c report/record.c \
	policy/dnssec.c report/journal.c report/rtype.c \
	report/tlsrpt.c report/agg.c report/render.c report/merge.c report/mime.c report/deliver.c tools/discover.c \
	tools/mxtls-report.c tools/report_summary.c tools/report_build.c tools/report_send.c

mxtls-report: $(MXTLS_REPORT_SRC:%.c=build/%.o)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lz
	@sh tests/check-linkorder $@

build-asan/mxtls-report: $(MXTLS_REPORT_SRC:%.c=build-asan/%.o)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS) -lz
	@sh tests/check-linkorder $@

# mxtls-check: mxtlsd's lookups, table, route and upstream client for one
# domain (tools/); no listener, no session, no journal.
MXTLS_CHECK_SRC = $(LIB_SRC) $(POLICY_CORE) $(POLICY_IO) report/rtype.c \
	proxy/smtp.c proxy/tls.c proxy/conn.c proxy/up.c proxy/up_tls.c proxy/tls_scache.c \
	tools/check_out.c tools/selftest.c tools/mxtls-check.c

mxtls-check: $(MXTLS_CHECK_SRC:%.c=build/%.o)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)
	@sh tests/check-linkorder $@

build-asan/mxtls-check: $(MXTLS_CHECK_SRC:%.c=build-asan/%.o)
	$(CC) $(ASAN_LDFLAGS) -o $@ $^ $(LIBS)
	@sh tests/check-linkorder $@

# Unit tests: one binary each, built both ways.
define unit_rule
build/tests/$(1): $$(UNIT_SRC_$(1):%.c=build/%.o) build/lib/log.o build/lib/buf.o build/lib/clock.o
	$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(sort $$^) $$(LIBS) $$(UNIT_LIBS)
build-asan/tests/$(1): $$(UNIT_SRC_$(1):%.c=build-asan/%.o) build-asan/lib/log.o build-asan/lib/buf.o build-asan/lib/clock.o
	$$(CC) $$(ASAN_LDFLAGS) -o $$@ $$(sort $$^) $$(LIBS) $$(UNIT_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

# libFuzzer targets (clang), with ASan and UBSan.
FUZZ_CFLAGS = -std=gnu11 -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -D_GNU_SOURCE -Wall -Wextra -Werror
define fuzz_rule
build/fuzz/$(1): $$(FUZZ_SRC_$(1)) $$(HDRS)
	@mkdir -p build/fuzz
	clang $$(FUZZ_CFLAGS) -o $$@ $$(FUZZ_SRC_$(1)) lib/buf.c lib/log.c -lcrypto $$(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZERS),$(eval $(call fuzz_rule,$(t))))

unit: $(UNIT_TESTS:%=build/tests/%)
	@sh tests/check-headers
	@sh tests/run-units build/tests $(UNIT_TESTS)

asan-unit: $(UNIT_TESTS:%=build-asan/tests/%)
	@sh tests/run-units build-asan/tests $(UNIT_TESTS)

# mxtls-check --selftest (tests/selftest_test.sh): mxtlsd's policy and
# upstream code against loopback MX hosts, with the default configuration
# and with a broken tls_ca_file; loopback only, no namespace, a few seconds.
selftest: mxtls-check
	@sh tests/selftest_test.sh ./mxtls-check

asan-selftest: build-asan/mxtls-check
	@sh tests/selftest_test.sh build-asan/mxtls-check

# Fleet reports with the mxtls-report binary (tests/report_merge_test.sh):
# gateways' journals merged by --journal, copies counted once, hostile
# journals; no DNS, no network, a second.
report-merge: mxtls-report
	@sh tests/report_merge_test.sh ./mxtls-report

asan-report-merge: build-asan/mxtls-report
	@sh tests/report_merge_test.sh build-asan/mxtls-report

# The lab tests that start mxtlsd, in worlds of their own; `make lab' runs
# them with ./mxtlsd, `make asan' with the ASan+UBSan build (the same
# checks, and sanitizer-clean).  In `make check' (CHECK_ONCE=1) they run
# under `make asan' only: the plain build runs the whole lab already, and
# a second run of these with it finds nothing the ASan one would not.
#   tproxy_test   mxtlsd's TPROXY listener end to end (sessions, TLS up)
#   crash_test    mxtlsd's journal across a SIGKILL mid-burst
#   privs_test    mxtlsd's capabilities and user after start-up, reload
#   gateway_test  mxtlsd's sessions and journal in the gateway topology
#   notify_test   mxtlsd under systemd's Type=notify: READY=1 before the
#                 first connection is taken (workers = 1 and 2), reload,
#                 STATUS=, STOPPING=1, a broken file; log_format = json
# Those of the rules alone, with no mxtlsd, run once, in `make lab':
# bypass_test.sh and iptables_test.sh (tests/lab/run; LAB_SKIP_IPTABLES_TEST).
# So does deb_test.sh: `make deb', and the package installed, reinstalled,
# removed and purged in a throw-away root (never the host's).
LAB_MXTLSD_TESTS = tproxy_test crash_test privs_test gateway_test notify_test fleet_test

# The lab with the ASan+UBSan mxtlsd.
asan: build-asan/mxtlsd build-asan/mxtls-report build-asan/mxtls-check asan-unit
	@rc=0; MXTLSD=$(CURDIR)/build-asan/mxtlsd LAB_TAG=asan LAB_SKIP_IPTABLES_TEST=1 bash tests/lab/run || rc=1; \
	for t in $(LAB_MXTLSD_TESTS); do \
		MXTLSD=$(CURDIR)/build-asan/mxtlsd bash tests/lab/$$t.sh || rc=1; \
	done; exit $$rc

fuzz: $(FUZZERS:%=build/fuzz/%)

fuzz-smoke: fuzz
	@sh tests/fuzz/smoke $(FUZZ_SECONDS) $(FUZZERS)

# Long runs, one target after another (FUZZ_SECONDS each, default 600);
# the corpus grows in build/fuzz/corpus-long/ from one run to the next.
fuzz-long: fuzz
	@FUZZ_KEEP=build/fuzz/corpus-long sh tests/fuzz/smoke \
	    $(if $(filter command line,$(origin FUZZ_SECONDS)),$(FUZZ_SECONDS),600) $(FUZZERS)

lab: mxtlsd mxtls-report mxtls-check
	@rc=0; MXTLSD=$(CURDIR)/mxtlsd bash tests/lab/run || rc=1; \
	bash tests/lab/bypass_test.sh || rc=1; \
	bash tests/lab/deb_test.sh || rc=1; \
	$(if $(CHECK_ONCE),echo "lab: $(LAB_MXTLSD_TESTS:%=%.sh) run under make asan only (CHECK_ONCE)" >&2;, \
	for t in $(LAB_MXTLSD_TESTS); do \
		MXTLSD=$(CURDIR)/mxtlsd bash tests/lab/$$t.sh || rc=1; \
	done;) exit $$rc

# The fault soak (tests/lab/soak): Postfix sends SOAK_MESSAGES messages
# through mxtlsd while the MX sinks misbehave and a supervisor kills,
# reloads and drains mxtlsd.  It runs the ASan+UBSan build (memory errors
# after a reload or a kill are what it looks for); SOAK_MXTLSD=./mxtlsd for
# the plain one.  `make check' runs the default size (1000 messages, about
# 2 minutes); `make soak' a larger one for the closing note.
SOAK_MXTLSD ?= build-asan/mxtlsd
SOAK_MESSAGES ?= 5000
soak-check: $(SOAK_MXTLSD)
	@MXTLSD=$(abspath $(SOAK_MXTLSD)) bash tests/lab/soak

soak: $(SOAK_MXTLSD)
	@SOAK_MESSAGES=$(SOAK_MESSAGES) MXTLSD=$(abspath $(SOAK_MXTLSD)) bash tests/lab/soak

# Everything, as CI runs it.  Each part prints PASS:/FAIL: lines.  What
# the parts run is built first, CHECK_JOBS (the CPUs) at a time (a serial
# build took 115 s of a 2-core machine, this one 61 s); a part whose build
# failed fails again, with its messages, in the make that runs the parts
# one after another (the lab is one world), and the others still run.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
CHECK_BUILD = $(UNIT_TESTS:%=build/tests/%) $(FUZZERS:%=build/fuzz/%) \
	build-asan/mxtlsd build-asan/mxtls-report build-asan/mxtls-check \
	$(UNIT_TESTS:%=build-asan/tests/%) $(SOAK_MXTLSD)
check: deps-check
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) all
	@$(MAKE) --no-print-directory -j$(CHECK_JOBS) -k $(CHECK_BUILD) || \
	  echo "check: a build failed; its part says so below" >&2
	@$(MAKE) --no-print-directory -k CHECK_ONCE=1 unit selftest report-merge fuzz-smoke lab asan \
	  asan-selftest asan-report-merge soak-check; \
	  rc=$$?; exit $$rc

demo: deps-check
	@$(MAKE) --no-print-directory all
	@bash tests/lab/demo

bench: deps-check
	@$(MAKE) --no-print-directory all
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/run
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/dane
	@bash tests/bench/journal
	@bash tests/bench/report
	@bash tests/bench/merge
	@bash tests/bench/stsredis
	@bash tests/bench/eod
	@bash tests/bench/ptable
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/modes
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/metrics
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/socketmap
	@bash tests/bench/hints
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/watch
	@MXTLSD=$(CURDIR)/mxtlsd bash tests/bench/fast

# The TLSRPT figures alone: journal records/s (interval, always), and a
# million-record day of aggregation (report/agg.c) on one core, and
# mxtls-report merging 3 gateways' journals of a million records each.
.PHONY: bench-report
bench-report: mxtls-report
	@bash tests/bench/journal
	@bash tests/bench/report
	@bash tests/bench/merge

install: mxtlsd mxtls-report mxtls-check
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(SYSCONFDIR)/mxtls $(DESTDIR)$(UNITDIR)
	install -m 755 mxtlsd $(DESTDIR)$(SBINDIR)/mxtlsd
	sed 's,@VERSION@,$(VERSION),' iptables/mxtls-iptables > $(DESTDIR)$(SBINDIR)/mxtls-iptables
	chmod 755 $(DESTDIR)$(SBINDIR)/mxtls-iptables
	install -m 644 man/mxtlsd.8 man/mxtls-iptables.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 644 man/mxtls.conf.5 $(DESTDIR)$(MANDIR)/man5/
	test -e $(DESTDIR)$(SYSCONFDIR)/mxtls/mxtls.conf || \
	    install -m 644 etc/mxtls.conf $(DESTDIR)$(SYSCONFDIR)/mxtls/mxtls.conf
	sed 's,@SBINDIR@,$(SBINDIR),g; s,@SYSCONFDIR@,$(SYSCONFDIR),g' etc/mxtlsd.service \
	    > $(DESTDIR)$(UNITDIR)/mxtlsd.service
	install -m 755 mxtls-report $(DESTDIR)$(SBINDIR)/mxtls-report
	install -m 644 man/mxtls-report.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 755 mxtls-check $(DESTDIR)$(SBINDIR)/mxtls-check
	install -m 644 man/mxtls-check.8 $(DESTDIR)$(MANDIR)/man8/
	sed 's,@SBINDIR@,$(SBINDIR),g; s,@SYSCONFDIR@,$(SYSCONFDIR),g' etc/mxtls-report.service \
	    > $(DESTDIR)$(UNITDIR)/mxtls-report.service
	install -m 644 etc/mxtls-report.timer $(DESTDIR)$(UNITDIR)/mxtls-report.timer
	@# Sending reports to other domains is the admin's choice: the timer is
	@# not enabled, and the cron line is an example to copy to /etc/cron.d.
	install -d $(DESTDIR)$(PREFIX)/share/doc/mxtls
	sed 's,@SBINDIR@,$(SBINDIR),g; s,@SYSCONFDIR@,$(SYSCONFDIR),g' etc/mxtls-report.cron \
	    > $(DESTDIR)$(PREFIX)/share/doc/mxtls/mxtls-report.cron
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && ! getent passwd mxtls >/dev/null; then \
	    echo "creating system user mxtls"; \
	    useradd --system --no-create-home --home-dir /nonexistent \
	        --shell /usr/sbin/nologin mxtls; fi

# The Debian package (debian/, scripts/deb.sh): build/deb/mxtls_VERSION_ARCH.deb
# and its -dbgsym, made by dpkg-buildpackage -b -us -uc from a copy of the
# tree; fails when lintian reports an error.  `sh scripts/deps.sh deb'
# installs debhelper, dpkg-dev, lintian and fakeroot.
deb:
	@sh scripts/deb.sh

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/mxtlsd $(DESTDIR)$(SBINDIR)/mxtls-iptables \
	    $(DESTDIR)$(MANDIR)/man8/mxtlsd.8 $(DESTDIR)$(MANDIR)/man8/mxtls-iptables.8 \
	    $(DESTDIR)$(MANDIR)/man5/mxtls.conf.5 $(DESTDIR)$(UNITDIR)/mxtlsd.service
	rm -f $(DESTDIR)$(SBINDIR)/mxtls-report $(DESTDIR)$(MANDIR)/man8/mxtls-report.8 \
	    $(DESTDIR)$(UNITDIR)/mxtls-report.service $(DESTDIR)$(UNITDIR)/mxtls-report.timer \
	    $(DESTDIR)$(PREFIX)/share/doc/mxtls/mxtls-report.cron
	rm -f $(DESTDIR)$(SBINDIR)/mxtls-check $(DESTDIR)$(MANDIR)/man8/mxtls-check.8

clean:
	rm -rf build build-asan mxtlsd mxtls-report mxtls-check
