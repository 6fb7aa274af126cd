/* kmsc bench: load a KMS host and measure it.
 *
 * One thread, one epoll set, CONCURRENCY connections in flight. By default
 * every activation is a whole client visit: TCP connect, bind, one
 * request, verification of the answer, close. --keepalive binds once per
 * connection and repeats requests on it instead. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

#define SLOT_BUF 1024

enum slot_state { CONNECTING, WAIT_ACK, WAIT_RESPONSE };
enum error_kind { ERR_CONNECT, ERR_TIMEOUT, ERR_REFUSED, ERR_INVALID, ERR_PROTOCOL, ERR_KINDS };
static const char *const error_names[ERR_KINDS] = { "connect", "timeout", "refused", "invalid",
						      "protocol" };

typedef struct slot {
	int fd;
	enum slot_state state;
	uint64_t started_ns, deadline_ns;
	uint16_t context;
	rpc_syntax_kind syntax;
	bool reused;                  /* keep-alive: this request follows an answer */
	kms_client_secret secret;
	uint8_t buf[SLOT_BUF];
	size_t have;
} slot;

typedef struct bench {
	struct addrinfo *addr;
	const kms_sku *sku;
	int version, concurrency, timeout_ms;
	bool keepalive, json, progress, verify;
	bool stopping;                 /* the duration is over: finish what is in flight */
	double duration;
	uint64_t limit;                /* activations to do, 0: until duration */
	uint64_t machines;             /* distinct client machine ids sent, in turn */
	uint64_t first;                /* the first one's number (--first) */
	uint64_t started, done, errors[ERR_KINDS];
	uint64_t sent;                 /* requests sent, for choosing the machine */
	uint32_t *latency_us;
	size_t n_latency, cap_latency;
	uint8_t bind[512];
	size_t bind_len;
	int epfd;
} bench;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record_latency(bench *b, uint64_t ns)
{
	if (b->n_latency == b->cap_latency) {
		size_t cap = b->cap_latency ? b->cap_latency * 2 : 65536;
		uint32_t *p = realloc(b->latency_us, cap * sizeof *p);
		if (!p)
			return;
		b->latency_us = p;
		b->cap_latency = cap;
	}
	b->latency_us[b->n_latency++] = (uint32_t)(ns / 1000);
}

static bool slot_start(bench *b, slot *s)
{
	if (b->limit && b->started >= b->limit)
		return false;
	b->started++;
	memset(s, 0, offsetof(slot, buf));
	s->started_ns = now_ns();
	s->deadline_ns = s->started_ns + (uint64_t)b->timeout_ms * 1000000ull;
	s->fd = socket(b->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || (connect(s->fd, b->addr->ai_addr, b->addr->ai_addrlen) < 0 &&
			  errno != EINPROGRESS)) {
		if (s->fd >= 0)
			close(s->fd);
		s->fd = -1;
		b->errors[ERR_CONNECT]++;
		return true;
	}
	s->state = CONNECTING;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
	epoll_ctl(b->epfd, EPOLL_CTL_ADD, s->fd, &ev);
	return true;
}

static void slot_fail(bench *b, slot *s, enum error_kind kind)
{
	b->errors[kind]++;
	close(s->fd);
	s->fd = -1;
}

/* splitmix64's step: a bijection on 64 bits that scatters neighbouring
 * numbers (0 included, which the finalizer alone keeps at 0). */
static uint64_t scatter(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Real clients' ids are random GUIDs, spread over the whole key space of a
 * store's indexes; numbered ids side by side would hit the same few pages
 * and make a big store look cheaper than it is. The 64 bits of
 * scatter(machine) sit in bytes the version and variant leave alone, so
 * distinct machines always get distinct ids. */
void bench_machine_cmid(uint64_t machine, kms_guid *out)
{
	uint64_t id = scatter(machine), rest = scatter(id ^ 0x6b6d73632d62656eULL);
	for (int i = 0; i < 7; i++)
		out->b[i] = (uint8_t)(id >> (8 * i));
	out->b[9] = (uint8_t)(id >> 56);
	out->b[7] = (uint8_t)(0x80 | (rest & 0x0f));            /* version 8: vendor-made */
	out->b[8] = (uint8_t)(0x80 | ((rest >> 8) & 0x3f));     /* the RFC 9562 variant */
	for (int i = 10; i < 16; i++)
		out->b[i] = (uint8_t)(rest >> (8 * (i - 8)));
}

/* Real fleets' names (Windows' DESKTOP-XXXXXXX among them) land all over
 * the store's name index, numbered names side by side: six hex digits of
 * the scattered number come first, the number itself last, for people. */
void bench_machine_name(uint64_t machine, char *out, size_t len)
{
	snprintf(out, len, "bench-%06llx-%llu.kmsc.example",
		 (unsigned long long)(scatter(machine) >> 40), (unsigned long long)machine);
}

static bool send_request(bench *b, slot *s)
{
	const kms_group *g = sku_group(b->sku);
	kms_request r = { .major = (uint16_t)(b->version ? b->version : g->protocol),
			  .license_status = 2, .n_policy = g->n_policy,
			  .app_id = sku_app(b->sku)->id, .sku_id = b->sku->id, .kms_id = g->id };
	uint8_t rnd[32], msg[KMS_V5_REQUEST_LEN], pdu[512];
	size_t msg_len, pdu_len;
	random_bytes(rnd, sizeof rnd);
	/* machine i of --machines: the same ids every run, so benches add at
	 * most that many clients to a host's store and count */
	uint64_t machine = b->first + b->sent++ % b->machines;
	bench_machine_cmid(machine, &r.cmid);
	char name[48];
	bench_machine_name(machine, name, sizeof name);
	r.client_time = kms_filetime_from_unix((int64_t)time(NULL));
	kms_utf8_to_utf16(name, r.workstation, KMS_WORKSTATION_UNITS);
	if (kms_request_encode(&r, rnd + 16, msg, sizeof msg, &msg_len, &s->secret) != KMS_OK ||
	    rpc_request_encode(2, s->context, 0, s->syntax, msg, msg_len, pdu, sizeof pdu,
			       &pdu_len) != RPC_OK)
		return false;
	return send(s->fd, pdu, pdu_len, MSG_NOSIGNAL) == (ssize_t)pdu_len;
}

/* A whole PDU arrived in s->buf: act on it. */
static void on_pdu(bench *b, slot *s, size_t len)
{
	if (s->state == WAIT_ACK) {
		rpc_bind_ack ack;
		if (rpc_bind_ack_decode(s->buf, len, &ack) != RPC_OK)
			return slot_fail(b, s, ERR_PROTOCOL);
		s->syntax = RPC_SYNTAX_UNKNOWN;
		for (uint16_t i = 0; i < ack.n_results; i++) {
			rpc_syntax_kind k = rpc_syntax_classify(&ack.results[i].transfer, NULL);
			if (ack.results[i].result == RPC_RESULT_ACCEPT &&
			    (k == RPC_SYNTAX_NDR64 || s->syntax == RPC_SYNTAX_UNKNOWN)) {
				s->syntax = k;
				s->context = i;
			}
		}
		if (s->syntax == RPC_SYNTAX_UNKNOWN || !send_request(b, s))
			return slot_fail(b, s, ERR_PROTOCOL);
		s->state = WAIT_RESPONSE;
		return;
	}
	if (b->verify) {
		rpc_response r;
		const uint8_t *msg;
		size_t msg_len;
		uint32_t status;
		rpc_err e = rpc_response_decode(s->buf, len, s->syntax, &r, &msg, &msg_len, &status);
		if (e == RPC_ERR_FAULT || (e == RPC_OK && status))
			return slot_fail(b, s, ERR_REFUSED);
		if (e != RPC_OK)
			return slot_fail(b, s, ERR_PROTOCOL);
		kms_response resp;
		kms_verdict v;
		if (kms_response_verify(&s->secret, msg, msg_len, &resp, &v) != KMS_OK)
			return slot_fail(b, s, ERR_INVALID);
	}
	b->done++;
	uint64_t t = now_ns();
	record_latency(b, t - s->started_ns);
	if (b->keepalive && !b->stopping && (!b->limit || b->started < b->limit)) {
		b->started++;
		s->started_ns = t;
		s->deadline_ns = t + (uint64_t)b->timeout_ms * 1000000ull;
		s->reused = true;
		if (!send_request(b, s)) {
			/* the host closed after its per-connection limit: reconnect */
			close(s->fd);
			s->fd = -1;
			b->started--;
		}
		return;
	}
	close(s->fd);
	s->fd = -1;
}

static void on_event(bench *b, slot *s, uint32_t events)
{
	if (s->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || (events & EPOLLERR))
			return slot_fail(b, s, ERR_CONNECT);
		if (send(s->fd, b->bind, b->bind_len, MSG_NOSIGNAL) != (ssize_t)b->bind_len)
			return slot_fail(b, s, ERR_PROTOCOL);
		s->state = WAIT_ACK;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
		epoll_ctl(b->epfd, EPOLL_CTL_MOD, s->fd, &ev);
		return;
	}
	ssize_t n = recv(s->fd, s->buf + s->have, sizeof s->buf - s->have, 0);
	bool closed = n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE));
	if (closed && b->keepalive && s->state == WAIT_RESPONSE && s->have == 0 && s->reused) {
		/* the host's per-connection request limit: reconnect, and the
		 * unanswered request does not count */
		close(s->fd);
		s->fd = -1;
		b->started--;
		return;
	}
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		return slot_fail(b, s, ERR_PROTOCOL);
	}
	s->have += (size_t)n;
	size_t len;
	rpc_err e = RPC_ERR_SHORT;
	while (s->fd >= 0 && (e = rpc_frame(s->buf, s->have, &len)) == RPC_OK) {
		on_pdu(b, s, len);
		memmove(s->buf, s->buf + len, s->have - len);
		s->have -= len;
	}
	if (s->fd >= 0 && e != RPC_ERR_SHORT)
		slot_fail(b, s, ERR_PROTOCOL);
}

static int by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static double percentile(const bench *b, double p)
{
	if (!b->n_latency)
		return 0;
	size_t i = (size_t)(p * (double)(b->n_latency - 1) + 0.5);
	return b->latency_us[i] / 1000.0;
}

static void report(bench *b, const char *target, double elapsed)
{
	if (b->n_latency) /* the array is NULL until the first answer */
		qsort(b->latency_us, b->n_latency, sizeof *b->latency_us, by_value);
	uint64_t errors = 0;
	for (int k = 0; k < ERR_KINDS; k++)
		errors += b->errors[k];
	double rate = elapsed > 0 ? (double)b->done / elapsed : 0;
	if (b->json) {
		printf("{\"target\": \"%s\", \"concurrency\": %d, \"seconds\": %.3f, \"activations\": %llu, "
		       "\"per_second\": %.1f, \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
		       "\"max\": %.3f}, \"errors\": {", target, b->concurrency, elapsed,
		       (unsigned long long)b->done, rate, percentile(b, 0.5), percentile(b, 0.9),
		       percentile(b, 0.99), percentile(b, 1.0));
		for (int k = 0; k < ERR_KINDS; k++)
			printf("%s\"%s\": %llu", k ? ", " : "", error_names[k],
			       (unsigned long long)b->errors[k]);
		printf("}}\n");
		return;
	}
	printf("target        %s, concurrency %d, %.1f s%s\n", target, b->concurrency, elapsed,
	       b->keepalive ? ", keep-alive" : "");
	printf("activations   %llu (%.1f/s)\n", (unsigned long long)b->done, rate);
	printf("latency ms    p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", percentile(b, 0.5),
	       percentile(b, 0.9), percentile(b, 0.99), percentile(b, 1.0));
	printf("errors        %llu", (unsigned long long)errors);
	for (int k = 0; k < ERR_KINDS; k++)
		printf("%s%s %llu", k ? ", " : " (", error_names[k], (unsigned long long)b->errors[k]);
	printf(")\n");
}

/* 0 all valid; 1 some failed or were invalid; 3 all refused; 4 none got through. */
static int exit_code(const bench *b)
{
	uint64_t errors = 0;
	for (int k = 0; k < ERR_KINDS; k++)
		errors += b->errors[k];
	if (!errors)
		return b->done ? EXIT_VALID : EXIT_NETWORK;
	if (b->done || b->errors[ERR_INVALID])
		return EXIT_CHECKS;
	return b->errors[ERR_REFUSED] == errors ? EXIT_REFUSED : EXIT_NETWORK;
}

static const char usage[] =
	"usage: kmsc bench [options] HOST[:PORT]\n"
	"Load a KMS host and measure it. Every request is a client to the host: it\n"
	"is counted and recorded in its store like any other (as one of --machines\n"
	"machines, bench-H-N.kmsc.example; remove them with kmsc forget --bench).\n"
	"  -c, --concurrency N   connections in flight (default 8)\n"
	"  -d, --duration S      seconds to run (default 10)\n"
	"  -N, --requests N      stop after N activations instead\n"
	"  -4, -5, -6            protocol version (default: the product's)\n"
	"  -p, --product P       product (default Windows 10/11 Enterprise)\n"
	"  -m, --machines N      distinct client machines to send as, in turn; the\n"
	"                        same ids each run (default 10, at most 10^9)\n"
	"      --first N         number the machines from N (default 0): new ones\n"
	"                        for each run\n"
	"      --keepalive       many requests per connection instead of one\n"
	"      --timeout S       per-activation timeout (default 5)\n"
	"      --json            the summary as JSON\n"
	"      --no-verify       count any answer (for measuring a null server)\n"
	"Exit status: 0 every activation valid, 1 some failed or were invalid,\n"
	"2 usage, 3 the host refused every one, 4 none got through.\n";

int cmd_bench(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "concurrency", required_argument, NULL, 'c' }, { "duration", required_argument, NULL, 'd' },
		{ "requests", required_argument, NULL, 'N' },    { "product", required_argument, NULL, 'p' },
		{ "keepalive", no_argument, NULL, 'k' },         { "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },              { "help", no_argument, NULL, 'h' },
		{ "no-verify", no_argument, NULL, 'V' },         { "machines", required_argument, NULL, 'm' },
		{ "first", required_argument, NULL, 'F' },
		{ 0 }
	};
	bench b = { .concurrency = 8, .duration = 10, .timeout_ms = 5000, .verify = true,
		    .machines = 10 };
	const char *product = "73111121-5638-40f6-bc11-f1d7b0d64300";
	int opt;
	while ((opt = getopt_long(argc, argv, "c:d:N:p:m:456h", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (opt) {
		case 'c': b.concurrency = (int)strtol(optarg, &end, 10); break;
		case 'd': b.duration = strtod(optarg, &end); break;
		case 'N':
			b.limit = strtoull(optarg, &end, 10);
			end = optarg[0] == '-' ? optarg : end; /* strtoull would wrap it */
			break;
		case 'p': product = optarg; break;
		case 'm':
			b.machines = strtoull(optarg, &end, 10);
			if (optarg[0] == '-' || b.machines < 1 || b.machines > 1000000000)
				end = optarg;
			break;
		case 'F':
			b.first = strtoull(optarg, &end, 10);
			if (optarg[0] == '-' || b.first > 3000000000u)
				end = optarg;
			break;
		case '4': case '5': case '6': b.version = opt - '0'; break;
		case 'k': b.keepalive = true; break;
		case 't': b.timeout_ms = (int)(strtod(optarg, &end) * 1000); break;
		case 'j': b.json = true; break;
		case 'V': b.verify = false; break;
		case 'h': fputs(usage, stdout); return EXIT_VALID;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
		if (end && (end == optarg || *end)) {
			fprintf(stderr, "kmsc bench: bad value \"%s\"\n", optarg);
			return EXIT_USAGE;
		}
	}
	char host[256], port[8];
	if (argc - optind != 1 || b.concurrency < 1 || b.concurrency > 100000 || !(b.duration > 0) ||
	    b.duration > 1e6 || b.timeout_ms <= 0 || b.timeout_ms > 3600000 || !split_host_port(argv[optind], host, sizeof host, port, sizeof port)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!(b.sku = product_select(product)))
		return EXIT_USAGE;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	int rc = getaddrinfo(host, port, &hints, &b.addr);
	if (rc) {
		fprintf(stderr, "kmsc: %s: %s\n", host, gai_strerror(rc));
		return EXIT_NETWORK;
	}
	rpc_client_options ro = { true, true, true };
	rpc_bind_encode(RPC_BIND, 1, &ro, b.bind, sizeof b.bind, &b.bind_len);
	b.progress = !b.json && isatty(STDOUT_FILENO);
	b.epfd = epoll_create1(EPOLL_CLOEXEC);
	slot *slots = calloc((size_t)b.concurrency, sizeof *slots);
	if (!slots || b.epfd < 0) {
		fprintf(stderr, "kmsc: out of memory\n");
		free(slots);
		freeaddrinfo(b.addr);
		if (b.epfd >= 0)
			close(b.epfd);
		return EXIT_NETWORK;
	}

	uint64_t start = now_ns(), end = start + (uint64_t)(b.duration * 1e9), last_print = start;
	for (int i = 0; i < b.concurrency; i++)
		if (!slot_start(&b, &slots[i]))
			slots[i].fd = -1;
	struct epoll_event events[256];
	for (;;) {
		uint64_t t = now_ns();
		b.stopping = !b.limit && t >= end;
		bool active = false;
		for (int i = 0; i < b.concurrency; i++) {
			slot *s = &slots[i];
			if (s->fd >= 0 && t > s->deadline_ns)
				slot_fail(&b, s, ERR_TIMEOUT);
			if (s->fd < 0 && !b.stopping) {
				while (s->fd < 0 && slot_start(&b, s))
					;
			}
			active |= s->fd >= 0;
		}
		if (!active)
			break;
		if (b.progress && t - last_print >= 1000000000ull) {
			last_print = t;
			double secs = (double)(t - start) / 1e9;
			printf("\r  %6.1fs  %10llu activations  %9.0f/s   ", secs,
			       (unsigned long long)b.done, (double)b.done / secs);
			fflush(stdout);
		}
		int n = epoll_wait(b.epfd, events, 256, 50);
		for (int i = 0; i < n; i++) {
			slot *s = events[i].data.ptr;
			if (s->fd >= 0)
				on_event(&b, s, events[i].events);
		}
	}
	if (b.progress)
		printf("\r%60s\r", "");
	double elapsed = (double)(now_ns() - start) / 1e9;
	report(&b, argv[optind], elapsed);
	free(slots);
	free(b.latency_us);
	freeaddrinfo(b.addr);
	close(b.epfd);
	return exit_code(&b);
}
