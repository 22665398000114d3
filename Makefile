# tungate - see README.md. `make` builds the static binary ./tungate.
.SUFFIXES:

VERSION   := 0.2.0
CC        ?= cc
LIBDIR    := /usr/lib/x86_64-linux-gnu

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
BASEFLAGS := -std=c11 -D_GNU_SOURCE -DTG_VERSION='"$(VERSION)"' \
	     -fstack-protector-strong -I. $(WARN)
CFLAGS    ?= -O2 -g
ALLCFLAGS := $(BASEFLAGS) -D_FORTIFY_SOURCE=2 $(CFLAGS)
SANFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	     -fno-sanitize-recover=undefined

LIB_SRC       := lib/log.c lib/ratelimit.c lib/prefix.c lib/csum.c lib/wire.c lib/io.c \
		 lib/netlink.c lib/resolvconf.c
TRANSPORT_SRC := transport/frame.c transport/config.c transport/link.c \
		 transport/stdio.c transport/exec.c transport/ssh.c \
		 transport/ssh_thread.c transport/ssh_config.c \
		 transport/ssh_tty.c transport/ssh_hostkey.c transport/ssh_auth.c \
		 transport/ssh_pump.c transport/ssh_script.c transport/install.c \
		 transport/via.c transport/words.c
NAT_SRC       := nat/pkt.c nat/flow.c nat/nat.c nat/nat_send.c nat/nat_log.c \
		 nat/udp.c nat/icmp.c nat/tcp.c nat/tcp_in.c nat/tcp_out.c nat/tcp_sock.c \
		 nat/tcp_buf.c nat/tcp_timer.c nat/policy.c
TUN_SRC       := tun/dev.c tun/netlink.c tun/install.c tun/state.c \
		 tun/plan.c tun/update.c tun/conflict.c tun/probe.c \
		 tun/track.c tun/resolv.c
DNS_SRC       := dns/proxy.c dns/msg.c dns/cache.c dns/rec.c dns/addr.c \
		 dns/upstream.c dns/stream.c \
		 dns/resolved.c
CMD_SRC       := cmd/main.c cmd/nss.c cmd/host.c cmd/host_linux.c cmd/opts.c cmd/outside.c cmd/outside_dns.c \
		 cmd/inside.c cmd/inside_resume.c cmd/inside_proc.c cmd/inside_keep.c \
		 cmd/inside_opts.c cmd/inside_resolv.c cmd/outside_routes.c \
		 cmd/outside_addrs.c
# tungate status, its control socket, --pcap, systemd notification
CMD_SRC       += cmd/json.c cmd/control.c cmd/status.c cmd/status_text.c \
		 cmd/pcap.c cmd/notify.c cmd/outside_status.c
# only in the static link: the dynamic libssh brings the real GSSAPI
STATIC_SRC    := cmd/gssapi_stub.c
SRC := $(LIB_SRC) $(TRANSPORT_SRC) $(NAT_SRC) $(TUN_SRC) $(DNS_SRC) $(CMD_SRC)
HDR := $(wildcard lib/*.h cmd/*.h transport/*.h nat/*.h tun/*.h dns/*.h)

STATIC_LIBS  := $(LIBDIR)/libuv_a.a $(LIBDIR)/libssh.a $(LIBDIR)/libldns.a \
		$(LIBDIR)/libssl.a $(LIBDIR)/libcrypto.a $(LIBDIR)/libz.a
DYNAMIC_LIBS := -luv -lssh -lldns -lssl -lcrypto -lz

UNIT_LIB       := test/unit/prefix test/unit/csum test/unit/log
UNIT_TRANSPORT := test/unit/frame test/unit/config test/unit/link \
		  test/unit/ssh test/unit/words
UNIT_NAT       := test/unit/pkt test/unit/flow test/unit/policy \
		  test/unit/tcp
UNIT_DNS       := test/unit/dns test/unit/dns_msg test/unit/dns_upstream \
		  test/unit/dns_resolved test/unit/dns_stream
UNIT_CMD       := test/unit/json test/unit/status test/unit/pcap
UNIT_RESUME    := test/unit/resume
UNIT_TUN       := test/unit/track test/unit/resolv
UNIT_NSS       := test/unit/nss
UNIT_HOST      := test/unit/host test/unit/host_poll
UNIT_TESTS := $(UNIT_LIB) $(UNIT_TRANSPORT) $(UNIT_NAT) $(UNIT_DNS) \
	      $(UNIT_CMD) $(UNIT_TUN) $(UNIT_RESUME) $(UNIT_NSS) $(UNIT_HOST)

all: tungate

# V=1 shows the compiler command lines
Q := $(if $(V),,@)

tungate: $(SRC) $(STATIC_SRC) $(HDR) Makefile
	@echo "  CC+LD $@ (static)"
	$(Q)$(CC) $(ALLCFLAGS) -static -o $@ $(SRC) $(STATIC_SRC) $(STATIC_LIBS) \
		-lpthread -ldl

# arm64 containers (Docker on Apple Silicon, Graviton and Ampere hosts):
# the same static binary from Debian's cross compiler and the arm64
# multiarch libraries that `make deps` installs (README: "arm64")
AARCH64_CC     := aarch64-linux-gnu-gcc
AARCH64_LIBDIR := /usr/lib/aarch64-linux-gnu
AARCH64_LIBS   := $(STATIC_LIBS:$(LIBDIR)/%=$(AARCH64_LIBDIR)/%)
tungate-aarch64: $(SRC) $(STATIC_SRC) $(HDR) Makefile
	@echo "  CC+LD $@ (static, aarch64)"
	$(Q)$(AARCH64_CC) $(ALLCFLAGS) -static -o $@ $(SRC) $(STATIC_SRC) \
		$(AARCH64_LIBS) -lpthread -ldl

tungate-asan: $(SRC) $(HDR) Makefile
	@echo "  CC+LD $@ (ASan, UBSan)"
	$(Q)$(CC) $(BASEFLAGS) $(SANFLAGS) -o $@ $(SRC) $(DYNAMIC_LIBS) -lpthread

asan: tungate-asan

# Unit tests: cmocka, linked against the sources of the module they test,
# built twice: plain (test/unit/NAME) and under the sanitizers (NAME-asan);
# and for aarch64 (NAME-aarch64, run under qemu-aarch64-static by
# `make unit-aarch64`).
define unit_rules
$(1): $(1).c $(2) $$(HDR) Makefile
	@echo "  CC+LD $$@"
	$$(Q)$$(CC) $$(ALLCFLAGS) -o $$@ $$< $(2) -luv -lcmocka $(3)
$(1)-asan: $(1).c $(2) $$(HDR) Makefile
	@echo "  CC+LD $$@"
	$$(Q)$$(CC) $$(BASEFLAGS) $$(SANFLAGS) -o $$@ $$< $(2) -luv -lcmocka $(3)
$(1)-aarch64: $(1).c $(2) $$(HDR) Makefile
	@echo "  CC+LD $$@"
	$$(Q)$$(AARCH64_CC) $$(ALLCFLAGS) -o $$@ $$< $(2) -luv -lcmocka $(3)
endef
$(foreach t,$(UNIT_LIB),$(eval $(call unit_rules,$(t),$(LIB_SRC))))
$(foreach t,$(UNIT_TRANSPORT),$(eval $(call unit_rules,$(t),$(LIB_SRC) $(TRANSPORT_SRC),-lssh -lcrypto -lpthread)))
$(foreach t,$(UNIT_NAT),$(eval $(call unit_rules,$(t),$(LIB_SRC) $(NAT_SRC) cmd/host.c)))
$(foreach t,$(UNIT_DNS),$(eval $(call unit_rules,$(t),$(LIB_SRC) $(DNS_SRC),-lldns)))
$(eval $(call unit_rules,test/unit/track,$(LIB_SRC) tun/track.c))
$(eval $(call unit_rules,test/unit/resolv,$(LIB_SRC) tun/resolv.c))
$(foreach t,$(UNIT_RESUME),$(eval $(call unit_rules,$(t),$(LIB_SRC) cmd/inside_resume.c)))
$(foreach t,$(UNIT_NSS),$(eval $(call unit_rules,$(t),$(LIB_SRC) cmd/nss.c,-lcrypto)))
$(eval $(call unit_rules,test/unit/host,$(LIB_SRC) cmd/host.c cmd/host_linux.c))
$(eval $(call unit_rules,test/unit/host_poll,$(LIB_SRC) cmd/host.c cmd/host_poll.c))
# host_poll.c is host.c's tests against the other back end
test/unit/host_poll test/unit/host_poll-asan test/unit/host_poll-aarch64: test/unit/host.c
$(foreach t,$(UNIT_CMD),$(eval $(call unit_rules,$(t),$(LIB_SRC) cmd/json.c cmd/status_text.c cmd/control.c cmd/pcap.c,-lpthread)))

unit: $(UNIT_TESTS) $(UNIT_TESTS:=-asan)
	@fail=0; for t in $(UNIT_TESTS) $(UNIT_TESTS:=-asan); do \
		echo "== $$t"; ./$$t || fail=1; done; exit $$fail

# the aarch64 build's unit tests, each under qemu-aarch64-static
unit-aarch64: $(UNIT_TESTS:=-aarch64)
	@fail=0; for t in $(UNIT_TESTS:=-aarch64); do \
		echo "== $$t"; qemu-aarch64-static ./$$t || fail=1; done; \
		exit $$fail

# aarch64.t.sh runs ./tungate-aarch64 as the inside, under qemu
e2e: tungate tungate-asan tungate-aarch64
	test/e2e/run.sh ./tungate ./tungate-asan

# Installs every build and test dependency that is missing (Debian 12).
DEPS := build-essential libuv1-dev libssh-dev libldns-dev libssl-dev \
	zlib1g-dev libcmocka-dev iproute2 iputils-ping socat curl iperf3 \
	dnsutils ldnsutils openssh-server openssh-client file util-linux \
	procps python3 psmisc nsd tmux tcpdump wrk dnsperf nginx-light \
	clang clang-14 libclang-rt-14-dev debootstrap strace \
	gcc-aarch64-linux-gnu qemu-user-static
# what only `make bench` needs: the other userspace NATs it measures the
# pipe against (pasta, slirp4netns)
DEPS_BENCH := passt slirp4netns
# the aarch64 build links Debian's arm64 libraries, installed beside the
# amd64 ones (multiarch); the two libldns-dev differ in one doc file, which
# dpkg would refuse to share, so docs of that package are not unpacked
DEPS_ARM64 := libuv1-dev libssh-dev libldns-dev libssl-dev zlib1g-dev \
	libcmocka-dev
# Servers among them (sshd, nsd, nginx) are started by the tests in their
# own namespaces: a policy-rc.d keeps their packages from starting a system
# service on this machine while they install.
deps:
	@missing=$$(for p in $(DEPS) $(DEPS_ARM64:=:arm64); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
		dpkg --print-foreign-architectures | grep -qx arm64 || \
			$$SUDO dpkg --add-architecture arm64 || exit 1; \
		prc=; if [ ! -e /usr/sbin/policy-rc.d ]; then \
			prc=/usr/sbin/policy-rc.d; \
			printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $$prc >/dev/null; \
			$$SUDO chmod 755 $$prc; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			--no-install-recommends \
			-o 'Dpkg::Options::=--path-exclude=/usr/share/doc/libldns-dev/*' \
			$$missing >/dev/null; \
		rc=$$?; [ -z "$$prc" ] || $$SUDO rm -f $$prc; exit $$rc; \
	fi

# a short fuzzing pass over every parser belongs to the test run too
TEST_FUZZ_SECONDS ?= 10
test: deps
	test/layering.sh --self-test
	test/e2e/otherroot.sh || echo "no Debian 13 root: the distro test will skip"
	$(MAKE) tungate tungate-asan tungate-aarch64
	$(MAKE) unit
	$(MAKE) unit-aarch64
	$(MAKE) fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	test/e2e/run.sh ./tungate ./tungate-asan

demo: deps tungate
	test/demo.sh ./tungate

# measurements, not a test: tungate beside kernel forwarding, ssh -w,
# pasta and slirp4netns (test/bench/bench.sh; about 7 minutes, as root).
# A target-specific DEPS holds for its prerequisites too: here, deps.
bench: DEPS += $(DEPS_BENCH)
bench: deps tungate
	test/bench/bench.sh ./tungate

clean:
	rm -f tungate tungate-asan tungate-aarch64 $(UNIT_TESTS) \
		$(UNIT_TESTS:=-asan) $(UNIT_TESTS:=-aarch64)

# the dependency rule of README.md ("Code layout")
layering:
	test/layering.sh --self-test

.PHONY: all asan unit unit-aarch64 e2e deps test demo bench clean layering

# ------------------------------------------------------------------ fuzz
# libFuzzer targets: test/fuzz/NAME.c, one per parser, built with clang
# under ASan and UBSan into test/fuzz/bin/NAME with the sources listed in
# FUZZ_SRC_NAME. `make fuzz` runs each for FUZZ_SECONDS on a temp copy of
# test/fuzz/corpus/NAME/ and fails on any crash, leak or sanitizer report
# (test/fuzz/run.sh). nat_mem and dns_proxy replace sockets, lookups and
# the clock by link-time wrapping (FUZZ_WRAP_*: test/fuzz/nat_fake.c,
# dns_fake.c, fake_clock.c), in these builds only. `make fuzz-seeds`
# rebuilds the seeds from test/fuzz/mkseeds.c.
FUZZ_CC      := clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frame config link prefix pkt nat nat_mem dns_msg dns_proxy \
		resolv resolved
FUZZ_CFLAGS  := $(BASEFLAGS) -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined
FUZZ_COMMON  := test/fuzz/fuzz_log.c $(filter-out lib/log.c,$(LIB_SRC))
FUZZ_HDR     := $(wildcard test/fuzz/*.h)
FUZZ_WRAP_CLOCK := uv_now uv_timer_start uv_timer_stop uv_is_active uv_random
FUZZ_WRAP_NAT := $(FUZZ_WRAP_CLOCK) uv_close uv_udp_connect uv_udp_recv_start \
		uv_udp_recv_stop uv_udp_try_send uv_udp_send uv_udp_bind \
		uv_tcp_connect uv_tcp_bind socket connect send recv sendto close \
		sendmsg
FUZZ_WRAP_DNS := $(FUZZ_WRAP_CLOCK) uv_close uv_getaddrinfo uv_freeaddrinfo \
		uv_queue_work uv_cancel
FUZZ_SRC_frame   := transport/frame.c
FUZZ_SRC_config  := transport/config.c
FUZZ_SRC_link    := transport/frame.c transport/config.c transport/link.c
FUZZ_SRC_prefix  :=
FUZZ_SRC_pkt     := $(NAT_SRC)
FUZZ_SRC_nat     := $(NAT_SRC)
FUZZ_SRC_nat_mem := $(NAT_SRC) test/fuzz/nat_fake.c test/fuzz/fake_clock.c
FUZZ_SRC_dns_msg := $(DNS_SRC)
FUZZ_SRC_dns_proxy := $(DNS_SRC) test/fuzz/dns_fake.c test/fuzz/fake_clock.c
FUZZ_SRC_resolv  := tun/resolv.c
FUZZ_SRC_resolved := $(DNS_SRC)
FUZZ_LIBS_dns_msg := -lldns
FUZZ_LIBS_resolved := -lldns
FUZZ_LIBS_dns_proxy := -lldns $(FUZZ_WRAP_DNS:%=-Wl,--wrap=%)
FUZZ_LIBS_nat_mem := $(FUZZ_WRAP_NAT:%=-Wl,--wrap=%)

define fuzz_rule
test/fuzz/bin/$(1): test/fuzz/$(1).c $(FUZZ_SRC_$(1)) $(FUZZ_COMMON) $$(FUZZ_HDR) $$(HDR) Makefile
	@mkdir -p test/fuzz/bin
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$< $(FUZZ_COMMON) $(FUZZ_SRC_$(1)) $(FUZZ_LIBS_$(1)) -luv
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz: $(FUZZ_TARGETS:%=test/fuzz/bin/%)
	test/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test/fuzz/bin/mkseeds: test/fuzz/mkseeds.c test/unit/nat_test.h $(HDR) Makefile
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(BASEFLAGS) -g -o $@ $< transport/frame.c transport/config.c lib/prefix.c -lldns
fuzz-seeds: test/fuzz/bin/mkseeds
	mkdir -p $(FUZZ_TARGETS:%=test/fuzz/corpus/%)
	test/fuzz/bin/mkseeds test/fuzz/corpus

.PHONY: fuzz fuzz-seeds
