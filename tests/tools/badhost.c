/* kms-badhost: a KMS host that gets one thing wrong, on purpose.
 *
 *   kms-badhost PORT FAULT
 *
 * It answers with the host's own answerer (server/answer.h), then damages
 * that answer the way FAULT says, so tests can check that kmsc names
 * exactly the check a broken host fails. FAULT is one of: none, version,
 * epid, cmid, time, mac, padding, iv, hash, xored-ivs, hmac, size, refuse,
 * fault, intervals (valid answers with intervals Microsoft's host cannot
 * have), drop-ndr64 (close the connection on any NDR64 request) and
 * vlmcsd-ndr64 (close it, as vlmcsd -N1 does, when an NDR64 request's body
 * is longer than 24 + 260 bytes). The ePID and HwId are those of a
 * recorded vlmcsd answer. Serves connections one at a time until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "kms/keys.h"
#include "kms/kms.h"
#include "rpc/rpc.h"
#include "server/answer.h"

static const char *fault;

static bool is(const char *name)
{
	return strcmp(fault, name) == 0;
}

/* Decrypt a V5/V6 answer, change its plaintext, encrypt it again. */
static void damage_plaintext(uint16_t major, uint8_t *msg, size_t len, size_t epid_size)
{
	const aes_key *key = kms_version_key(major);
	static const uint8_t zero[16];
	uint8_t iv[16];
	uint8_t *plain = msg + (major == 5 ? 20 : 4);
	size_t n = len - (size_t)(plain - msg);
	memcpy(iv, major == 5 ? msg + 4 : zero, 16);
	aes_cbc_decrypt(key, iv, plain, n);
	uint8_t *base = plain + (major == 6 ? 16 : 0);
	uint8_t *tail = base + 8 + epid_size;      /* cmid, time, count, intervals */
	uint8_t *extra = tail + 36;                /* RandomXoredIVs, hash, HwId, XoredIVs, HMAC */
	if (is("version"))
		base[2] ^= 1;
	else if (is("epid"))
		base[8 + epid_size - 2] = 'x';     /* no NUL at the end */
	else if (is("cmid"))
		tail[0] ^= 1;
	else if (is("time"))
		tail[16] ^= 1;
	else if (is("padding"))
		plain[n - 1] ^= 0x20;
	else if (is("hash"))
		extra[16] ^= 1;
	else if (is("xored-ivs"))
		extra[56] ^= 1;
	else if (is("hmac"))
		extra[72] ^= 1;
	aes_cbc_encrypt(key, iv, plain, n);
}

static const char *const vlmcsd_epid = "55041-00206-553-078527-03-1091-6002.0000-1162026";

/* The settings of a host that answers every request it can decode, as
 * vlmcsd does, or refuses every one ("refuse"). */
static bool settings_make(host_settings *s)
{
	static const uint8_t hwid[KMS_HWID_LEN] = { 0x3A, 0x1C, 0x04, 0x96, 0x00, 0xB6, 0x00, 0x76 };
	memset(s, 0, sizeof *s);
	s->table = kms_products_current();
	kms_policy_defaults(&s->policy);
	s->policy.scope = is("refuse") ? KMS_SERVE_LISTED : KMS_SERVE_ANY;
	s->activation_interval = is("intervals") ? 0 : 120;
	s->renewal_interval = is("intervals") ? 100000 : 10080;
	memcpy(s->hwid, hwid, sizeof hwid);
	s->rpc.ndr64 = s->rpc.btfn = true;
	/* one ePID whatever the product */
	s->epids = calloc(s->table->n_csvlks, sizeof *s->epids);
	if (!s->epids)
		return false;
	for (size_t i = 0; i < s->table->n_csvlks; i++)
		snprintf(s->epids[i], sizeof s->epids[i], "%s", vlmcsd_epid);
	return true;
}

/* The request's IV (V5 and V6 send it in clear after the version). */
static bool request_iv(const uint8_t *pdu, const answer_outcome *o, uint8_t iv[16])
{
	rpc_request r;
	const uint8_t *msg;
	size_t len;
	if (rpc_request_decode(pdu, o->used, &r) != RPC_OK ||
	    rpc_stub_decode(o->syntax, r.stub, r.stub_len, &msg, &len) != RPC_OK || len < 20)
		return false;
	memcpy(iv, msg + 4, 16);
	return true;
}

/* Damage a KMS response in place the way FAULT says; returns its length. */
static size_t damage(const uint8_t *pdu, const answer_outcome *o, uint8_t *out, size_t len)
{
	uint16_t major = o->act.req.major;
	size_t epid_size = 2 * (strlen(vlmcsd_epid) + 1);
	if (major == 4) {
		if (is("mac"))
			out[len - 1] ^= 1;
		else if (is("version"))
			out[2] ^= 1;
		else if (is("cmid"))
			out[8 + epid_size] ^= 1;
		else if (is("time"))
			out[8 + epid_size + 16] ^= 1;
		else if (is("epid"))
			out[8 + epid_size - 2] = 'x';
	} else if (is("iv")) {
		if (major == 5) {
			out[4] ^= 1;
		} else {
			/* the answerer never echoes the request's IV: put it in by hand */
			const aes_key *key = kms_version_key(6);
			static const uint8_t zero[16];
			uint8_t iv[16];
			if (request_iv(pdu, o, iv)) {
				aes_cbc_decrypt(key, zero, out + 4, len - 4);
				memcpy(out + 4, iv, 16);
				aes_cbc_encrypt(key, zero, out + 4, len - 4);
			}
		}
	} else {
		damage_plaintext(major, out, len, epid_size);
	}
	if (is("size"))
		len += 16; /* a trailing block of garbage */
	return len;
}

/* The answer to send for one request the answerer answered: its response
 * damaged, or a fault. Returns the PDU's length, 0 to close instead. */
static size_t bad_answer(const uint8_t *pdu, const answer_outcome *o, uint8_t *out,
			 size_t cap)
{
	if (o->syntax == RPC_SYNTAX_NDR64 &&
	    (is("drop-ndr64") || (is("vlmcsd-ndr64") && o->used - RPC_HEADER_LEN > 24 + 260)))
		return 0;
	size_t len = o->written;
	if (is("fault")) {
		rpc_fault_encode(o->call_id, o->context_id, RPC_NCA_UNK_IF, out, cap, &len);
		return len;
	}
	rpc_response resp;
	const uint8_t *msg;
	size_t msg_len;
	uint32_t status;
	uint8_t kms[KMS_MAX_RESPONSE_LEN + 16];
	if (o->act.status || rpc_response_decode(out, o->written, o->syntax, &resp, &msg, &msg_len,
						 &status) != RPC_OK || msg_len > KMS_MAX_RESPONSE_LEN)
		return len;
	memcpy(kms, msg, msg_len);
	msg_len = damage(pdu, o, kms, msg_len);
	if (rpc_response_encode(o->call_id, o->context_id, o->syntax, kms, msg_len, 0, out, cap,
				&len) != RPC_OK)
		return 0;
	return len;
}

static void serve(int fd, const host_settings *settings)
{
	static uint8_t in[RPC_MAX_PDU * 2], out[RPC_MAX_PDU * 2], stub[RPC_MAX_CALL_STUB];
	uint8_t random[KMS_RANDOM_LEN];
	size_t have = 0;
	answer_assoc assoc = { .assoc_group = 0x1234, .port = "1688" };
	answer_host host = { .settings = settings, .stub_store = stub };
	for (;;) {
		ssize_t n = read(fd, in + have, sizeof in - have);
		if (n <= 0)
			return;
		have += (size_t)n;
		for (;;) {
			answer_outcome o;
			host.now = time(NULL);
			host.random = random_bytes(random, sizeof random) ? random : NULL;
			answer_pdu(&assoc, &host, in, have, out, sizeof out, &o);
			if (o.kind == ANSWER_INCOMPLETE)
				break;
			size_t len = o.written;
			if (o.kind == ANSWER_REQUEST && !o.unsent &&
			    !(len = bad_answer(in, &o, out, sizeof out)))
				return;
			if (len && write(fd, out, len) != (ssize_t)len)
				return;
			if (o.close || !o.used)
				return;
			memmove(in, in + o.used, have - o.used);
			have -= o.used;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kms-badhost PORT FAULT\n");
		return 2;
	}
	fault = argv[2];
	host_settings settings;
	if (!settings_make(&settings)) {
		fprintf(stderr, "kms-badhost: out of memory\n");
		return 1;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0) {
		perror("kms-badhost");
		host_settings_free(&settings);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		serve(c, &settings);
		close(c);
	}
}
