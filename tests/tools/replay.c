/* kms-replay: send a recorded client stream (NAME.c2s.bin) to a host and
 * verify every answer with the client-side verifier.
 *
 *   kms-replay [--chunk N] [--repeat K] [--no-ndr64] [--no-btfn] HOST PORT FILE
 *
 * --chunk N   write the stream N bytes at a time (1 = byte by byte)
 * --repeat K  send the recorded request K times on the one connection
 * The host options tell which contexts the host accepts, so the expected
 * transfer syntax of each answer is known. Exit 0 when every answer passes
 * every check; prints one line per answer. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/bytes.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

#define MAX_STREAM (64 * 1024 + 8192)
#define MAX_REQUESTS 1024

static uint8_t stream[MAX_STREAM * 2];
static uint8_t answer[MAX_STREAM * 8];

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype, 0);
		if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	struct timeval tv = { 5, 0 };
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

int main(int argc, char **argv)
{
	size_t chunk = 0;
	int repeat = 1;
	rpc_host_options host = { .ndr64 = true, .btfn = true };
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			chunk = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			repeat = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-ndr64"))
			host.ndr64 = false;
		else if (!strcmp(argv[i], "--no-btfn"))
			host.btfn = false;
		else
			break;
	}
	if (argc - i != 3 || repeat < 1 || repeat > MAX_REQUESTS) {
		fprintf(stderr, "usage: kms-replay [--chunk N] [--repeat K] [--no-ndr64] [--no-btfn] HOST PORT FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[i + 2], "rb");
	if (!f) {
		perror(argv[i + 2]);
		return 2;
	}
	size_t len = fread(stream, 1, MAX_STREAM, f);
	fclose(f);

	/* walk the client's PDUs: contexts as the host will see them, and the
	 * secret of every request so its answer can be verified */
	rpc_contexts contexts = { 0 };
	kms_client_secret secrets[MAX_REQUESTS];
	rpc_syntax_kind syntaxes[MAX_REQUESTS];
	int n_requests = 0;
	size_t off = 0, pdu_len, request_at = 0, request_len = 0;
	while (off < len && rpc_frame(stream + off, len - off, &pdu_len) == RPC_OK) {
		const uint8_t *pdu = stream + off;
		if (pdu[2] == RPC_BIND || pdu[2] == RPC_ALTER_CONTEXT) {
			rpc_bind b;
			rpc_bind_ack ack;
			if (rpc_bind_decode(pdu, pdu_len, &b) == RPC_OK)
				rpc_bind_negotiate(&b, &host, &contexts, &ack);
		} else if (pdu[2] == RPC_REQUEST) {
			rpc_request r;
			const uint8_t *msg;
			size_t msg_len;
			kms_request req;
			kms_request_secret rs;
			if (rpc_request_decode(pdu, pdu_len, &r) != RPC_OK)
				return 4;
			syntaxes[0] = rpc_contexts_syntax(&contexts, r.context_id);
			if (syntaxes[0] == RPC_SYNTAX_UNKNOWN && r.context_id == 0) {
				/* the recording host took this context and ours rejects
				 * it (NDR64 won): move it to NDR32 with an alter_context
				 * first, as vlmcs itself does against such a host */
				uint8_t alter[256];
				size_t alter_len;
				rpc_client_options ndr32 = { .ndr32 = true };
				rpc_bind b;
				rpc_bind_ack ack;
				if (rpc_bind_encode(RPC_ALTER_CONTEXT, 1, &ndr32, alter, sizeof alter,
						    &alter_len) != RPC_OK ||
				    rpc_bind_decode(alter, alter_len, &b) != RPC_OK)
					return 4;
				rpc_bind_negotiate(&b, &host, &contexts, &ack);
				memmove(stream + off + alter_len, stream + off, len - off);
				memcpy(stream + off, alter, alter_len);
				len += alter_len;
				off += alter_len;
				pdu = stream + off;
				syntaxes[0] = rpc_contexts_syntax(&contexts, r.context_id);
				if (rpc_request_decode(pdu, pdu_len, &r) != RPC_OK)
					return 4;
			}
			if (rpc_stub_decode(syntaxes[0], r.stub, r.stub_len, &msg, &msg_len) != RPC_OK ||
			    kms_request_decode(msg, msg_len, &req, &rs) != KMS_OK)
				return 4;
			kms_client_secret *cs = &secrets[0];
			*cs = (kms_client_secret){ .major = rs.major, .minor = rs.minor,
						   .cmid = req.cmid, .client_time = req.client_time };
			memcpy(cs->iv, rs.iv, 16);
			memcpy(cs->decrypted_iv, rs.decrypted_iv, 16);
			request_at = off;
			request_len = pdu_len;
			n_requests = 1;
		}
		off += pdu_len;
	}
	if (n_requests == 0) {
		fprintf(stderr, "no request in %s\n", argv[i + 2]);
		return 4;
	}
	for (int k = 1; k < repeat; k++) {
		memcpy(stream + len, stream + request_at, request_len);
		len += request_len;
		secrets[k] = secrets[0];
		syntaxes[k] = syntaxes[0];
	}
	n_requests = repeat;

	int fd = dial(argv[i], argv[i + 1]);
	if (fd < 0) {
		fprintf(stderr, "cannot connect to %s port %s\n", argv[i], argv[i + 1]);
		return 4;
	}
	size_t step = chunk ? chunk : len;
	for (size_t sent = 0; sent < len; sent += step) {
		size_t n = len - sent < step ? len - sent : step;
		if (write(fd, stream + sent, n) != (ssize_t)n) {
			perror("write");
			return 4;
		}
		if (chunk)
			usleep(200);
	}

	/* read until every request is answered */
	size_t have = 0, at = 0;
	int answered = 0, failures = 0;
	while (answered < n_requests) {
		rpc_err e = rpc_frame(answer + at, have - at, &pdu_len);
		if (e == RPC_ERR_SHORT) {
			ssize_t n = read(fd, answer + have, sizeof answer - have);
			if (n <= 0) {
				fprintf(stderr, "connection ended after %d answers\n", answered);
				return 4;
			}
			have += (size_t)n;
			continue;
		}
		if (e != RPC_OK) {
			fprintf(stderr, "bad answer PDU: %s\n", rpc_strerror(e));
			return 4;
		}
		const uint8_t *pdu = answer + at;
		at += pdu_len;
		if (pdu[2] == RPC_BIND_ACK || pdu[2] == RPC_ALTER_CONTEXT_RESP)
			continue;
		rpc_response r;
		const uint8_t *msg;
		size_t msg_len;
		uint32_t status;
		e = rpc_response_decode(pdu, pdu_len, syntaxes[answered], &r, &msg, &msg_len, &status);
		kms_response resp;
		kms_verdict v = { 0 };
		kms_err ke = KMS_ERR_SHORT;
		if (e == RPC_OK && status == 0)
			ke = kms_response_verify(&secrets[answered], msg, msg_len, &resp, &v);
		if (e != RPC_OK || status != 0 || ke != KMS_OK) {
			printf("answer %d: FAIL rpc=%s status=0x%08X kms=%s failed-checks=", answered + 1,
			       rpc_strerror(e), status, kms_strerror(ke));
			for (int c = 0; c < KMS_CHECK_COUNT_; c++)
				if (v.failed & (1u << c))
					printf("%s,", kms_check_name((enum kms_check)c));
			printf("\n");
			failures++;
		} else {
			char epid[130];
			kms_utf16_to_utf8(resp.epid, KMS_EPID_MAX_UNITS, epid, sizeof epid);
			printf("answer %d: ok v%u count=%u epid=%s\n", answered + 1, resp.major,
			       resp.count, epid);
		}
		answered++;
	}
	close(fd);
	return failures ? 1 : 0;
}
