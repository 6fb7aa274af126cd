/* kms-badhost: a KMS host that gets one thing wrong, on purpose.
 *
 *   kms-badhost PORT FAULT
 *
 * It answers binds and requests with the project's own host code, then
 * damages its answer the way FAULT says, so tests can check that kmsc names
 * exactly the check a broken host fails. FAULT is one of: none, version,
 * epid, cmid, time, mac, padding, iv, hash, xored-ivs, hmac, size, refuse,
 * fault, drop-ndr64 (close the connection on any NDR64 request) and
 * vlmcsd-ndr64 (close it, as vlmcsd -N1 does, when an NDR64 request's body
 * is longer than 24 + 260 bytes). The ePID and HwId are those of a recorded vlmcsd answer. Serves
 * connections one at a time until killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bytes.h"
#include "crypto/crypto.h"
#include "kms/keys.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

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

static size_t answer(const uint8_t *msg, size_t msg_len, uint8_t *out, size_t cap, uint32_t *status)
{
	kms_request req;
	kms_request_secret secret;
	*status = 0;
	if (is("refuse") || kms_request_decode(msg, msg_len, &req, &secret) != KMS_OK) {
		*status = 0xC004F042u;
		return 0;
	}
	const char *epid = "55041-00206-553-078527-03-1091-6002.0000-1162026";
	kms_answer a = { .epid = epid, .count = 2 * req.n_policy, .activation_interval = 120,
			 .renewal_interval = 10080,
			 .hwid = { 0x3A, 0x1C, 0x04, 0x96, 0x00, 0xB6, 0x00, 0x76 } };
	if (is("intervals")) { /* valid answers, intervals Microsoft's host cannot have */
		a.activation_interval = 0;
		a.renewal_interval = 100000;
	}
	uint8_t random[KMS_RANDOM_LEN];
	random_bytes(random, sizeof random);
	if (is("iv") && secret.major == 6)
		memcpy(random + 16, secret.iv, 16); /* the encoder refuses to echo it... */
	size_t len;
	if (kms_response_encode(&req, &secret, &a, random, out, cap, &len) != KMS_OK)
		return 0;
	size_t epid_size = 2 * (strlen(epid) + 1);
	if (secret.major == 4) {
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
		if (secret.major == 5) {
			out[4] ^= 1;
		} else {
			/* ...so put the request's IV in by hand */
			const aes_key *key = kms_version_key(6);
			static const uint8_t zero[16];
			aes_cbc_decrypt(key, zero, out + 4, len - 4);
			memcpy(out + 4, secret.iv, 16);
			aes_cbc_encrypt(key, zero, out + 4, len - 4);
		}
	} else {
		damage_plaintext(secret.major, out, len, epid_size);
	}
	if (is("size"))
		len += 16; /* a trailing block of garbage */
	return len;
}

static void serve(int fd)
{
	uint8_t in[8192], out[8192];
	size_t have = 0, pdu_len;
	rpc_contexts ctx = { 0 };
	rpc_host_options opt = { .ndr64 = true, .btfn = true };
	for (;;) {
		ssize_t n = read(fd, in + have, sizeof in - have);
		if (n <= 0)
			return;
		have += (size_t)n;
		while (rpc_frame(in, have, &pdu_len) == RPC_OK) {
			size_t len = 0;
			if (in[2] == RPC_BIND || in[2] == RPC_ALTER_CONTEXT) {
				rpc_bind b;
				rpc_bind_ack ack;
				if (rpc_bind_decode(in, pdu_len, &b) != RPC_OK)
					return;
				rpc_bind_negotiate(&b, &opt, &ctx, &ack);
				ack.assoc_group_id = 0x1234;
				snprintf(ack.secondary_address, sizeof ack.secondary_address, "1688");
				rpc_bind_ack_encode(&ack, out, sizeof out, &len);
			} else if (in[2] == RPC_REQUEST) {
				rpc_request r;
				const uint8_t *msg;
				size_t msg_len;
				uint32_t status;
				if (rpc_request_decode(in, pdu_len, &r) != RPC_OK)
					return;
				rpc_syntax_kind s = rpc_contexts_syntax(&ctx, r.context_id);
				if (s == RPC_SYNTAX_NDR64 &&
				    (is("drop-ndr64") ||
				     (is("vlmcsd-ndr64") && pdu_len - RPC_HEADER_LEN > 24 + 260)))
					return;
				if (is("fault") || rpc_stub_decode(s, r.stub, r.stub_len, &msg, &msg_len) != RPC_OK) {
					rpc_fault_encode(r.hdr.call_id, r.context_id, RPC_NCA_UNK_IF, out,
							 sizeof out, &len);
				} else {
					uint8_t kms[512];
					size_t k = answer(msg, msg_len, kms, sizeof kms, &status);
					rpc_response_encode(r.hdr.call_id, r.context_id, s, kms, k, status, out,
							    sizeof out, &len);
				}
			}
			if (len && write(fd, out, len) != (ssize_t)len)
				return;
			memmove(in, in + pdu_len, have - pdu_len);
			have -= pdu_len;
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
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s, 16) < 0) {
		perror("kms-badhost");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		serve(c);
		close(c);
	}
}
