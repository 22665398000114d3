// SPDX-License-Identifier: MIT
/*
 * dns_fake.c - the fake lookups of the dns_proxy fuzz target; see
 * dns_fake.h. The upstream worker is replaced whole: its result is made
 * from the fuzzer's reply the way upstream.c makes it from a real one.
 */
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "test/fuzz/dns_fake.h"
#include "dns/dns_internal.h"
#include "test/fuzz/fuzz.h"

#define MAX_PENDING 64
#define MAX_ADDRS 16

struct pending {
	uv_req_t *req;
	uv_getaddrinfo_cb gai_cb;
	uv_after_work_cb after_cb;
	bool cancelled;
};

static struct pending pend[MAX_PENDING];
static size_t n_pend;
static int fail;
static bool busy;

void __real_uv_close(uv_handle_t *h, uv_close_cb cb);

void dns_fake_begin(void)
{
	FZ_CHECK(n_pend == 0);
	fail = 0;
	busy = false;
	fake_clock_reset();
}

size_t dns_fake_pending(void)
{
	return n_pend;
}

void dns_fake_fail_next(int err)
{
	fail = err;
}

void dns_fake_busy(bool b)
{
	busy = b;
}

static int add(uv_req_t *req, uv_getaddrinfo_cb gcb, uv_after_work_cb acb)
{
	int e = fail;

	fail = 0;
	if (e)
		return e;
	FZ_CHECK(n_pend < MAX_PENDING);
	pend[n_pend++] = (struct pending){req, gcb, acb, false};
	return 0;
}

int __wrap_uv_getaddrinfo(uv_loop_t *l, uv_getaddrinfo_t *req,
			  uv_getaddrinfo_cb cb, const char *node,
			  const char *service, const struct addrinfo *hints)
{
	FZ_CHECK(node && strlen(node) <= DNS_NAME_MAX);
	return add((uv_req_t *)req, cb, NULL);
}

int __wrap_uv_queue_work(uv_loop_t *l, uv_work_t *req, uv_work_cb work,
			 uv_after_work_cb after)
{
	return add((uv_req_t *)req, NULL, after);
}

int __wrap_uv_cancel(uv_req_t *req)
{
	for (size_t i = 0; i < n_pend; i++) {
		if (pend[i].req != req)
			continue;
		if (busy)
			return UV_EBUSY;
		pend[i].cancelled = true;
		return 0;
	}
	return UV_EINVAL;
}

/* every node one block with its address, the name apart: freed below */
static struct addrinfo *addrs(const uint8_t *src, size_t len)
{
	struct fz in = {src, len};
	struct addrinfo *head = NULL, **tail = &head;
	size_t n, got;
	const uint8_t *c = fz_take(&in, fz_u8(&in), &n);
	char *canon = malloc(n + 1);

	FZ_CHECK(canon);
	memcpy(canon, c, n);
	canon[n] = '\0';
	for (int k = 0; k < MAX_ADDRS && in.left; k++) {
		bool v6 = fz_u8(&in) & 1;
		const uint8_t *a = fz_take(&in, v6 ? 16 : 4, &got);
		struct addrinfo *ai =
			calloc(1, sizeof(*ai) + sizeof(struct sockaddr_in6));
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)(ai + 1);

		FZ_CHECK(ai);
		ai->ai_family = v6 ? AF_INET6 : AF_INET;
		ai->ai_socktype = SOCK_STREAM;
		ai->ai_addr = (struct sockaddr *)sa;
		ai->ai_addrlen = v6 ? sizeof(struct sockaddr_in6)
				    : sizeof(struct sockaddr_in);
		sa->sin6_family = (sa_family_t)ai->ai_family;
		if (v6)
			memcpy(&sa->sin6_addr, a, got);
		else
			memcpy(&((struct sockaddr_in *)sa)->sin_addr, a, got);
		*tail = ai;
		tail = &ai->ai_next;
	}
	if (head)
		head->ai_canonname = canon;
	else
		free(canon);
	return head;
}

void __wrap_uv_freeaddrinfo(struct addrinfo *ai)
{
	if (ai)
		free(ai->ai_canonname);
	while (ai) {
		struct addrinfo *next = ai->ai_next;

		free(ai);
		ai = next;
	}
}

/* what upstream.c's worker leaves in the lookup for a reply */
static void upstream(struct dns_lookup *lk, int status, const uint8_t *src,
		     size_t len)
{
	ldns_pkt *pkt = NULL;
	ldns_pkt_rcode rc;

	lk->rec = NULL;
	lk->why = "fuzz: no reply";
	if (status || ldns_wire2pkt(&pkt, src, len) != LDNS_STATUS_OK)
		return;
	rc = ldns_pkt_get_rcode(pkt);
	lk->why = "fuzz: upstream error";
	if (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN) {
		lk->rec = dns_rec_from_pkt(
			pkt, &lk->key,
			dns_rec_pkt_ttl(pkt, lk->p->o.neg_ttl_max_s));
		lk->why = lk->rec ? NULL : "fuzz: not representable";
	}
	ldns_pkt_free(pkt);
}

void dns_fake_complete(size_t i, int status, const uint8_t *src, size_t len)
{
	struct pending p;
	struct dns_lookup *lk;

	if (i >= n_pend)
		return;
	p = pend[i];
	pend[i] = pend[--n_pend];
	if (p.gai_cb) {
		if (p.cancelled)
			p.gai_cb((uv_getaddrinfo_t *)p.req, UV_EAI_CANCELED,
				 NULL);
		else
			p.gai_cb((uv_getaddrinfo_t *)p.req, status,
				 status ? NULL : addrs(src, len));
		return;
	}
	lk = dns_entry(p.req, struct dns_lookup, u.work);
	if (p.cancelled) {
		p.after_cb((uv_work_t *)p.req, UV_ECANCELED);
		return;
	}
	upstream(lk, status, src, len);
	p.after_cb((uv_work_t *)p.req, 0);
}

void dns_fake_settle(void)
{
	for (size_t i = 0; i < n_pend;) {
		if (pend[i].cancelled)
			dns_fake_complete(i, 0, NULL, 0);
		else
			i++;
	}
}

void __wrap_uv_close(uv_handle_t *h, uv_close_cb cb)
{
	fake_clock_forget(h);
	__real_uv_close(h, cb);
}
