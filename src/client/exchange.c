/* kmsc activate on the wire: bind, then requests, each answer judged
 * strictly enough to name what a broken host does wrong. */
#include "client/activate.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/crypto.h"

void hexdump(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes):\n", what, n);
	for (size_t i = 0; i < n; i += 16) {
		fprintf(stderr, "  %04zx ", i);
		for (size_t k = i; k < i + 16 && k < n; k++)
			fprintf(stderr, " %02x", p[k]);
		fputc('\n', stderr);
	}
}

int outcome_exit_code(enum outcome o)
{
	switch (o) {
	case OUTCOME_VALID: return EXIT_VALID;
	case OUTCOME_INVALID: return EXIT_CHECKS;
	case OUTCOME_REFUSED:
	case OUTCOME_FAULT: return EXIT_REFUSED;
	case OUTCOME_PROTOCOL:
	case OUTCOME_NETWORK: break;
	}
	return EXIT_NETWORK;
}

/* The bind offers one context per enabled syntax in this order, with
 * context ids counting from 0 (rpc_bind_encode's contract). */
static int offered_syntaxes(const rpc_client_options *opt, rpc_syntax_kind out[3])
{
	int n = 0;
	if (opt->ndr32)
		out[n++] = RPC_SYNTAX_NDR32;
	if (opt->ndr64)
		out[n++] = RPC_SYNTAX_NDR64;
	if (opt->btfn)
		out[n++] = RPC_SYNTAX_BTFN;
	return n;
}

static const char *syntax_label(rpc_syntax_kind k)
{
	return k == RPC_SYNTAX_NDR64 ? "NDR64" : k == RPC_SYNTAX_NDR32 ? "NDR32"
					     : k == RPC_SYNTAX_BTFN ? "BTFN" : "an unknown syntax";
}

/* Pick the context the host accepted (NDR64 over NDR32, as Windows does)
 * after checking the ack answers exactly what was offered. */
static int choose_context(session *s, const rpc_client_options *opt, const rpc_bind_ack *ack,
			  char *err, size_t err_len)
{
	rpc_syntax_kind offered[3];
	int n_offered = offered_syntaxes(opt, offered);
	if (ack->hdr.ptype != RPC_BIND_ACK) {
		snprintf(err, err_len, "the host answered the bind with PDU type %u, not bind_ack",
			 ack->hdr.ptype);
		return EXIT_NETWORK;
	}
	if (ack->hdr.call_id != s->call_id) {
		snprintf(err, err_len, "bind_ack call_id %u, the bind's was %u", ack->hdr.call_id,
			 s->call_id);
		return EXIT_NETWORK;
	}
	if (ack->n_results != n_offered) {
		snprintf(err, err_len, "bind_ack has %u results for %d offered contexts",
			 ack->n_results, n_offered);
		return EXIT_NETWORK;
	}
	s->syntax = RPC_SYNTAX_UNKNOWN;
	for (uint16_t i = 0; i < ack->n_results; i++) {
		if (ack->results[i].result != RPC_RESULT_ACCEPT)
			continue;
		rpc_syntax_kind k = rpc_syntax_classify(&ack->results[i].transfer, NULL);
		if (k != offered[i] || k == RPC_SYNTAX_BTFN) {
			snprintf(err, err_len, "bind_ack accepts context %u (%s offered) with %s", i,
				 syntax_label(offered[i]), syntax_label(k));
			return EXIT_NETWORK;
		}
		if (k == RPC_SYNTAX_NDR64 || s->syntax == RPC_SYNTAX_UNKNOWN) {
			s->syntax = k;
			s->context = i;
		}
	}
	if (s->syntax == RPC_SYNTAX_UNKNOWN) {
		snprintf(err, err_len, "the host accepted none of the offered transfer syntaxes");
		return EXIT_REFUSED;
	}
	return EXIT_VALID;
}

int session_open(session *s, const activate_options *o, char *err, size_t err_len)
{
	s->fd = net_connect(s->address[0] ? s->address : s->host, s->port, o->timeout_ms, err,
			    err_len);
	if (s->fd < 0)
		return EXIT_NETWORK;
	uint8_t buf[RPC_MAX_PDU];
	size_t len;
	if (rpc_bind_encode(RPC_BIND, ++s->call_id, &o->rpc, buf, sizeof buf, &len) != RPC_OK) {
		snprintf(err, err_len, "cannot build the bind");
		return EXIT_USAGE;
	}
	if (o->verbose)
		hexdump("bind", buf, len);
	if (!net_send(s->fd, buf, len, o->timeout_ms)) {
		snprintf(err, err_len, "cannot send the bind");
		return EXIT_NETWORK;
	}
	long n = net_read_pdu(s->fd, buf, sizeof buf, o->timeout_ms, err, err_len);
	if (n == 0)
		snprintf(err, err_len, "the host closed the connection after the bind");
	if (n <= 0)
		return EXIT_NETWORK;
	if (o->verbose)
		hexdump("bind_ack", buf, (size_t)n);
	rpc_bind_ack ack;
	rpc_err e = rpc_bind_ack_decode(buf, (size_t)n, &ack);
	if (e == RPC_ERR_BIND_REJECTED) {
		snprintf(err, err_len, "the host rejected the bind (bind_nak, reason %u)",
			 n >= 18 ? (unsigned)(buf[16] | buf[17] << 8) : 0u);
		return EXIT_REFUSED;
	}
	if (e != RPC_OK) {
		snprintf(err, err_len, "malformed bind answer: %s", rpc_strerror(e));
		return EXIT_NETWORK;
	}
	return choose_context(s, &o->rpc, &ack, err, err_len);
}

static void random_guid(kms_guid *g)
{
	random_bytes(g->b, sizeof g->b);
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40); /* version 4 */
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

/* Looks like a domain member, so hosts that log names get something usual. */
static void random_workstation(char *out, size_t len)
{
	uint8_t r[4];
	random_bytes(r, sizeof r);
	snprintf(out, len, "PC-%02X%02X%02X%02X.corp.example", r[0], r[1], r[2], r[3]);
}

static void build_request(const activate_options *o, kms_request *r)
{
	const kms_group *g = sku_group(o->sku);
	memset(r, 0, sizeof *r);
	r->major = (uint16_t)(o->version ? o->version : g->protocol);
	r->license_status = o->license_status;
	r->binding_expiration = 43200;
	r->app_id = o->fixed_app_id ? o->app_id : sku_app(o->sku)->id;
	r->sku_id = o->sku->id;
	r->kms_id = o->fixed_kms_id ? o->kms_id : g->id;
	if (o->fixed_cmid)
		r->cmid = o->cmid;
	else
		random_guid(&r->cmid);
	r->n_policy = (uint32_t)(o->n_policy >= 0 ? o->n_policy : g->n_policy);
	r->client_time = kms_filetime_from_unix(o->time ? o->time : (int64_t)time(NULL));
	char ws[128];
	if (o->workstation[0])
		snprintf(ws, sizeof ws, "%s", o->workstation);
	else
		random_workstation(ws, sizeof ws);
	kms_utf8_to_utf16(ws, r->workstation, KMS_WORKSTATION_UNITS);
}

static void fail(exchange *x, enum outcome o, const char *why)
{
	x->outcome = o;
	snprintf(x->error, sizeof x->error, "%s", why);
}

/* Everything below the KMS message: the PDU must be the response to this
 * call, on this context, in this syntax. */
static void judge_pdu(const session *s, exchange *x, const uint8_t *pdu, size_t len,
		      const kms_client_secret *secret)
{
	rpc_response resp;
	const uint8_t *msg;
	size_t msg_len;
	rpc_err e = rpc_response_decode(pdu, len, s->syntax, &resp, &msg, &msg_len, &x->status);
	if (e == RPC_ERR_FAULT) {
		fail(x, OUTCOME_FAULT, "RPC fault");
		return;
	}
	if (e != RPC_OK) {
		snprintf(x->error, sizeof x->error, "malformed response: %s", rpc_strerror(e));
		x->outcome = OUTCOME_PROTOCOL;
		return;
	}
	if (resp.hdr.call_id != s->call_id || resp.context_id != s->context) {
		snprintf(x->error, sizeof x->error,
			 "response for call %u context %u, the request was call %u context %u",
			 resp.hdr.call_id, resp.context_id, s->call_id, s->context);
		x->outcome = OUTCOME_PROTOCOL;
		return;
	}
	if (x->status != 0) {
		fail(x, OUTCOME_REFUSED, msg_len ? "refused, with a message too" : "refused");
		return;
	}
	if (msg_len == 0) {
		fail(x, OUTCOME_PROTOCOL, "empty answer with return code 0");
		return;
	}
	x->answered = true;
	x->verify_err = kms_response_verify(secret, msg, msg_len, &x->got, &x->verdict);
	if (x->verify_err != KMS_OK && x->verify_err != KMS_ERR_VERIFY) {
		/* not even decodable: the size is what is wrong */
		x->verdict.ran |= 1u << KMS_CHECK_SIZE;
		x->verdict.failed |= 1u << KMS_CHECK_SIZE;
	}
	x->outcome = x->verify_err == KMS_OK ? OUTCOME_VALID : OUTCOME_INVALID;
}

/* Send one request PDU and read its answer; the length read, or 0 / <0 as
 * net_read_pdu says (with x->error set). */
static long send_and_read(const activate_options *o, session *s, exchange *x,
			  const uint8_t *msg, size_t msg_len, uint8_t *pdu, size_t cap)
{
	size_t pdu_len;
	if (rpc_request_encode_padded(++s->call_id, s->context, 0, s->syntax, msg, msg_len,
				      (size_t)o->stub_padding, pdu, cap, &pdu_len) != RPC_OK) {
		fail(x, OUTCOME_PROTOCOL, "cannot build the request");
		return NET_MALFORMED;
	}
	if (o->verbose)
		hexdump("request", pdu, pdu_len);
	if (!net_send(s->fd, pdu, pdu_len, o->timeout_ms)) {
		fail(x, OUTCOME_NETWORK, "cannot send the request");
		return NET_FAILED;
	}
	long n = net_read_pdu(s->fd, pdu, cap, o->timeout_ms, x->error, sizeof x->error);
	if (n == 0)
		fail(x, OUTCOME_NETWORK, "the host closed the connection");
	return n;
}

void exchange_run(const activate_options *o, session *s, exchange *x)
{
	kms_client_secret secret;
	uint8_t iv[16], msg[KMS_V5_REQUEST_LEN], pdu[RPC_MAX_PDU];
	size_t msg_len;
	build_request(o, &x->sent);
	random_bytes(iv, sizeof iv);
	if (kms_request_encode(&x->sent, iv, msg, sizeof msg, &msg_len, &secret) != KMS_OK) {
		fail(x, OUTCOME_PROTOCOL, "cannot build the request");
		return;
	}
	long n = send_and_read(o, s, x, msg, msg_len, pdu, sizeof pdu);
	if (n <= 0 && n != NET_MALFORMED && s->syntax == RPC_SYNTAX_NDR64 && o->rpc.ndr32) {
		/* some hosts (vlmcsd -N1) drop an NDR64 request they cannot read:
		 * bind again offering NDR32 only and send the same request */
		activate_options ndr32 = *o;
		ndr32.rpc.ndr64 = false;
		ndr32.rpc.ndr32 = true;
		char err[180];
		close(s->fd);
		if (session_open(s, &ndr32, err, sizeof err) != EXIT_VALID) {
			snprintf(x->error, sizeof x->error,
				 "the host dropped the NDR64 request, and NDR32: %s", err);
			x->outcome = OUTCOME_NETWORK;
			return;
		}
		x->fell_back = true;
		n = send_and_read(o, s, x, msg, msg_len, pdu, sizeof pdu);
	}
	if (n <= 0) {
		if (n < 0)
			x->outcome = n == NET_MALFORMED ? OUTCOME_PROTOCOL : OUTCOME_NETWORK;
		return;
	}
	if (o->verbose)
		hexdump("response", pdu, (size_t)n);
	judge_pdu(s, x, pdu, (size_t)n, &secret);
}
