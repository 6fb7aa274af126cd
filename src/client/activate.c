/* kmsc activate: act as a KMS client and judge the host's every answer. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "crypto/crypto.h"
#include "kms/kms.h"
#include "rpc/rpc.h"

typedef struct activate_options {
	const kms_sku *sku;
	int version;                  /* 0: the product's own */
	rpc_client_options rpc;
	kms_guid cmid;
	bool fixed_cmid;
	char workstation[128];
	long n_policy;                /* -1: the product's */
	int64_t time;                 /* 0: now */
	uint32_t license_status;
	int count;
	int timeout_ms;
	bool json, verbose;
	const char *domain, *dns_server;
} activate_options;

typedef struct session {
	int fd;
	char address[64];             /* connect here when set (from DNS), else to host */
	uint16_t context;
	rpc_syntax_kind syntax;
	uint32_t call_id;
	char host[256], port[8];
} session;

static const char usage[] =
	"usage: kmsc activate [options] [HOST[:PORT]]\n"
	"Act as a KMS client and check the host's answer field by field. Without a\n"
	"host, find one through the DNS SRV record _vlmcs._tcp.DOMAIN.\n"
	"  -p, --product P        SKU name fragment, GUID or number (kmsc products);\n"
	"                         default Windows 10/11 Enterprise\n"
	"  -4, -5, -6             KMS protocol version (default: the product's)\n"
	"      --ndr32, --ndr64   offer only this transfer syntax (default both)\n"
	"      --no-btfn          do not offer bind-time feature negotiation\n"
	"      --cmid GUID        client machine id (default random, new per request)\n"
	"      --workstation NAME (default a random name)\n"
	"      --n-policy N       clients the product needs (default the product's)\n"
	"      --time T           client time, 'YYYY-MM-DD HH:MM:SS' UTC or Unix seconds\n"
	"      --license-status N (default 2, out-of-box grace)\n"
	"  -n, --count N          requests on the one connection (default 1)\n"
	"      --timeout SECONDS  (default 10)\n"
	"      --domain D         DNS domain to discover hosts in\n"
	"      --dns-server IP[:PORT]  resolver to ask instead of the system's\n"
	"      --json             one JSON object per request\n"
	"  -v, --verbose          hex dumps of the PDUs\n"
	"Exit status: 0 every answer valid, 1 a check failed, 2 usage, 3 the host\n"
	"refused (HRESULT or RPC fault), 4 network or protocol failure.\n";

static bool parse_time(const char *text, int64_t *out)
{
	struct tm tm = { 0 };
	char *end = strptime(text, "%Y-%m-%d %H:%M:%S", &tm);
	if (end && !*end) {
		*out = (int64_t)timegm(&tm);
		return true;
	}
	long long v = strtoll(text, &end, 10);
	if (*text && !*end && v > 0) {
		*out = v;
		return true;
	}
	return false;
}

static void random_guid(kms_guid *g)
{
	random_bytes(g->b, sizeof g->b);
	g->b[7] = (uint8_t)((g->b[7] & 0x0f) | 0x40); /* version 4 */
	g->b[8] = (uint8_t)((g->b[8] & 0x3f) | 0x80);
}

static void random_workstation(char *out, size_t len)
{
	uint8_t r[4];
	random_bytes(r, sizeof r);
	snprintf(out, len, "PC-%02X%02X%02X%02X.corp.example", r[0], r[1], r[2], r[3]);
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes):\n", what, n);
	for (size_t i = 0; i < n; i += 16) {
		fprintf(stderr, "  %04zx ", i);
		for (size_t k = i; k < i + 16 && k < n; k++)
			fprintf(stderr, " %02x", p[k]);
		fputc('\n', stderr);
	}
}

/* Connect and bind; pick the context the host accepted. */
static int open_session(session *s, const activate_options *o, char *err, size_t err_len)
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
	if (n <= 0) {
		if (n == 0)
			snprintf(err, err_len, "the host closed the connection after the bind");
		return EXIT_NETWORK;
	}
	if (o->verbose)
		hexdump("bind_ack", buf, (size_t)n);
	rpc_bind_ack ack;
	rpc_err e = rpc_bind_ack_decode(buf, (size_t)n, &ack);
	if (e != RPC_OK) {
		snprintf(err, err_len, "bad bind answer: %s", rpc_strerror(e));
		return EXIT_NETWORK;
	}
	/* our contexts are numbered in the order offered: NDR32, NDR64, BTFN */
	s->syntax = RPC_SYNTAX_UNKNOWN;
	for (uint16_t i = 0; i < ack.n_results; i++) {
		if (ack.results[i].result != RPC_RESULT_ACCEPT)
			continue;
		rpc_syntax_kind k = rpc_syntax_classify(&ack.results[i].transfer, NULL);
		if (k == RPC_SYNTAX_NDR64 || (k == RPC_SYNTAX_NDR32 && s->syntax == RPC_SYNTAX_UNKNOWN)) {
			s->syntax = k;
			s->context = i;
		}
	}
	if (s->syntax == RPC_SYNTAX_UNKNOWN) {
		snprintf(err, err_len, "the host accepted none of the offered transfer syntaxes");
		return EXIT_NETWORK;
	}
	return EXIT_VALID;
}

static void build_request(const activate_options *o, kms_request *r)
{
	const kms_group *g = sku_group(o->sku);
	memset(r, 0, sizeof *r);
	r->major = (uint16_t)(o->version ? o->version : g->protocol);
	r->license_status = o->license_status;
	r->binding_expiration = 43200;
	r->app_id = sku_app(o->sku)->id;
	r->sku_id = o->sku->id;
	r->kms_id = g->id;
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

static const char *syntax_name(rpc_syntax_kind k)
{
	return k == RPC_SYNTAX_NDR64 ? "NDR64" : "NDR32";
}

static void print_text(const activate_options *o, const session *s, const kms_request *r,
		       const kms_response *resp, const kms_verdict *v, int n)
{
	char cmid[GUID_TEXT_LEN], id[GUID_TEXT_LEN], when[32], text[200], hex[80];
	guid_format(&r->cmid, cmid);
	format_filetime(r->client_time, when, sizeof when);
	kms_utf16_to_utf8(r->workstation, KMS_WORKSTATION_UNITS, text, sizeof text);
	printf("Request %d to %s port %s (KMS V%u.%u, %s)\n", n, s->host, s->port, r->major,
	       r->minor, syntax_name(s->syntax));
	printf("  product             %s\n", o->sku->name);
	guid_format(&r->sku_id, id);
	printf("  SKU id              %s\n", id);
	guid_format(&r->kms_id, id);
	printf("  KMS id              %s (%s)\n", id, sku_group(o->sku)->name);
	printf("  client machine id   %s\n  client time         %s UTC\n", cmid, when);
	printf("  workstation         %s\n  N policy            %u\n", text, r->n_policy);

	printf("Response (%zu bytes)\n", resp->size);
	printf("  version             %u.%u\n", resp->major, resp->minor);
	kms_utf16_to_utf8(resp->epid, KMS_EPID_MAX_UNITS, text, sizeof text);
	printf("  ePID                %s\n", text);
	if (r->major == 6) {
		hex_string(hex, resp->hwid, sizeof resp->hwid);
		printf("  HwId                %s\n", hex);
	}
	guid_format(&resp->cmid, id);
	format_filetime(resp->client_time, when, sizeof when);
	printf("  client machine id   %s\n  client time         %s UTC\n", id, when);
	printf("  current count       %u\n", resp->count);
	printf("  activation interval %u minutes\n  renewal interval    %u minutes\n",
	       resp->activation_interval, resp->renewal_interval);
	if (r->major >= 5) {
		hex_string(hex, resp->iv, sizeof resp->iv);
		printf("  IV                  %s\n", hex);
	}
	printf("Checks\n");
	for (int c = 0; c < KMS_CHECK_COUNT_; c++)
		if (v->ran & (1u << c))
			printf("  %-19s %s\n", kms_check_name((enum kms_check)c),
			       v->failed & (1u << c) ? "FAIL" : "pass");
	if (v->failed)
		printf("Verdict: INVALID answer: the client would reject it\n");
	else if (resp->count < r->n_policy)
		printf("Verdict: valid, but count %u is below the N policy %u: the client would "
		       "get 0xC004F038 and retry\n", resp->count, r->n_policy);
	else
		printf("Verdict: valid, activated (count %u >= %u)\n", resp->count, r->n_policy);
}

static void print_json(const activate_options *o, const session *s, const kms_request *r,
		       const kms_response *resp, const kms_verdict *v, int n, uint32_t status,
		       const char *error)
{
	char cmid[GUID_TEXT_LEN], id[GUID_TEXT_LEN], when[32], text[200], hex[80];
	guid_format(&r->cmid, cmid);
	printf("{\"request\": %d, \"host\": ", n);
	json_string(stdout, s->host);
	printf(", \"port\": %s, \"protocol\": \"%u.%u\", \"transfer_syntax\": \"%s\", \"product\": ",
	       s->port, r->major, r->minor, syntax_name(s->syntax));
	json_string(stdout, o->sku->name);
	guid_format(&r->sku_id, id);
	printf(", \"sku_id\": \"%s\"", id);
	guid_format(&r->kms_id, id);
	printf(", \"kms_id\": \"%s\", \"cmid\": \"%s\", \"client_time\": ", id, cmid);
	format_filetime(r->client_time, when, sizeof when);
	json_string(stdout, when);
	kms_utf16_to_utf8(r->workstation, KMS_WORKSTATION_UNITS, text, sizeof text);
	printf(", \"workstation\": ");
	json_string(stdout, text);
	printf(", \"n_policy\": %u, \"status\": \"0x%08X\"", r->n_policy, status);
	if (error) {
		printf(", \"error\": ");
		json_string(stdout, error);
	}
	if (resp) {
		kms_utf16_to_utf8(resp->epid, KMS_EPID_MAX_UNITS, text, sizeof text);
		printf(", \"response\": {\"size\": %zu, \"version\": \"%u.%u\", \"epid\": ", resp->size,
		       resp->major, resp->minor);
		json_string(stdout, text);
		hex_string(hex, resp->hwid, sizeof resp->hwid);
		guid_format(&resp->cmid, id);
		format_filetime(resp->client_time, when, sizeof when);
		printf(", \"hwid\": \"%s\", \"cmid\": \"%s\", \"client_time\": \"%s\"", hex, id, when);
		hex_string(hex, resp->iv, sizeof resp->iv);
		printf(", \"count\": %u, \"activation_interval\": %u, \"renewal_interval\": %u, "
		       "\"iv\": \"%s\"}", resp->count, resp->activation_interval,
		       resp->renewal_interval, hex);
		printf(", \"checks\": {");
		int k = 0;
		for (int c = 0; c < KMS_CHECK_COUNT_; c++)
			if (v->ran & (1u << c))
				printf("%s\"%s\": %s", k++ ? ", " : "", kms_check_name((enum kms_check)c),
				       v->failed & (1u << c) ? "false" : "true");
		printf("}, \"valid\": %s, \"activated\": %s", v->failed ? "false" : "true",
		       !v->failed && resp->count >= r->n_policy ? "true" : "false");
	}
	printf("}\n");
}

/* One request on the session; returns the exit code it earns. */
static int one_request(const activate_options *o, session *s, int n)
{
	kms_request r;
	kms_client_secret secret;
	uint8_t iv[16], msg[KMS_V5_REQUEST_LEN], pdu[RPC_MAX_PDU];
	size_t msg_len, pdu_len;
	char err[256] = "";
	build_request(o, &r);
	random_bytes(iv, sizeof iv);
	if (kms_request_encode(&r, iv, msg, sizeof msg, &msg_len, &secret) != KMS_OK ||
	    rpc_request_encode(++s->call_id, s->context, 0, s->syntax, msg, msg_len, pdu, sizeof pdu,
			       &pdu_len) != RPC_OK) {
		fprintf(stderr, "kmsc: cannot build the request\n");
		return EXIT_USAGE;
	}
	if (o->verbose)
		hexdump("request", pdu, pdu_len);
	if (!net_send(s->fd, pdu, pdu_len, o->timeout_ms)) {
		fprintf(stderr, "kmsc: cannot send the request\n");
		return EXIT_NETWORK;
	}
	long n_read = net_read_pdu(s->fd, pdu, sizeof pdu, o->timeout_ms, err, sizeof err);
	if (n_read <= 0) {
		fprintf(stderr, "kmsc: %s\n", n_read == 0 ? "the host closed the connection" : err);
		return EXIT_NETWORK;
	}
	if (o->verbose)
		hexdump("response", pdu, (size_t)n_read);

	rpc_response resp;
	const uint8_t *answer;
	size_t answer_len;
	uint32_t status;
	rpc_err e = rpc_response_decode(pdu, (size_t)n_read, s->syntax, &resp, &answer, &answer_len,
					&status);
	if (e == RPC_OK && resp.hdr.call_id != s->call_id)
		e = RPC_ERR_CALL_ID;
	if (e != RPC_OK || status != 0) {
		const char *why = e == RPC_ERR_FAULT ? "RPC fault" : e != RPC_OK ? rpc_strerror(e)
										  : "refused";
		snprintf(err, sizeof err, "%s: 0x%08X %s", why, status, hresult_text(status));
		if (o->json)
			print_json(o, s, &r, NULL, NULL, n, status, err);
		else
			printf("Request %d: the host answered %s\n", n, err);
		return e == RPC_OK || e == RPC_ERR_FAULT ? EXIT_REFUSED : EXIT_NETWORK;
	}
	kms_response kr;
	kms_verdict v;
	kms_err ke = kms_response_verify(&secret, answer, answer_len, &kr, &v);
	if (ke != KMS_OK && ke != KMS_ERR_VERIFY) {
		v.failed |= 1u << KMS_CHECK_SIZE;
		v.ran |= 1u << KMS_CHECK_SIZE;
	}
	if (o->json)
		print_json(o, s, &r, &kr, &v, n, 0, ke == KMS_OK ? NULL : kms_strerror(ke));
	else
		print_text(o, s, &r, &kr, &v, n);
	return ke == KMS_OK ? EXIT_VALID : EXIT_CHECKS;
}

static int parse_options(int argc, char **argv, activate_options *o)
{
	static const struct option longopts[] = {
		{ "product", required_argument, NULL, 'p' }, { "ndr32", no_argument, NULL, 'N' },
		{ "ndr64", no_argument, NULL, 'M' },         { "no-btfn", no_argument, NULL, 'B' },
		{ "cmid", required_argument, NULL, 'C' },    { "workstation", required_argument, NULL, 'W' },
		{ "n-policy", required_argument, NULL, 'P' }, { "time", required_argument, NULL, 'T' },
		{ "license-status", required_argument, NULL, 'L' },
		{ "count", required_argument, NULL, 'n' },   { "timeout", required_argument, NULL, 'o' },
		{ "domain", required_argument, NULL, 'D' },  { "dns-server", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },          { "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },          { 0 }
	};
	const char *product = "73111121-5638-40f6-bc11-f1d7b0d64300";
	int opt;
	*o = (activate_options){ .rpc = { true, true, true }, .n_policy = -1, .license_status = 2,
				 .count = 1, .timeout_ms = 10000 };
	while ((opt = getopt_long(argc, argv, "p:456n:vjh", longopts, NULL)) != -1) {
		char *end = NULL;
		switch (opt) {
		case 'p': product = optarg; break;
		case '4': case '5': case '6': o->version = opt - '0'; break;
		case 'N': o->rpc.ndr64 = false; o->rpc.ndr32 = true; break;
		case 'M': o->rpc.ndr32 = false; o->rpc.ndr64 = true; break;
		case 'B': o->rpc.btfn = false; break;
		case 'C':
			if (!guid_parse(optarg, &o->cmid))
				goto bad;
			o->fixed_cmid = true;
			break;
		case 'W': snprintf(o->workstation, sizeof o->workstation, "%s", optarg); break;
		case 'P': o->n_policy = strtol(optarg, &end, 10); if (*end || o->n_policy < 0) goto bad; break;
		case 'T': if (!parse_time(optarg, &o->time)) goto bad; break;
		case 'L': o->license_status = (uint32_t)strtoul(optarg, &end, 10); if (*end) goto bad; break;
		case 'n': o->count = atoi(optarg); if (o->count < 1 || o->count > 100000) goto bad; break;
		case 'o': o->timeout_ms = atoi(optarg) * 1000; if (o->timeout_ms <= 0) goto bad; break;
		case 'D': o->domain = optarg; break;
		case 'S': o->dns_server = optarg; break;
		case 'j': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
		continue;
bad:
		fprintf(stderr, "kmsc activate: bad value \"%s\" (see kmsc activate --help)\n", optarg);
		return EXIT_USAGE;
	}
	if (argc - optind > 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	o->sku = product_select(product);
	return o->sku ? EXIT_VALID : EXIT_USAGE;
}

int cmd_activate(int argc, char **argv)
{
	activate_options o;
	int rc = parse_options(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_VALID : rc;

	srv_target targets[32] = { 0 };
	int n_targets = 1;
	session s = { 0 };
	char err[256];
	if (optind < argc) {
		if (!split_host_port(argv[optind], targets[0].host, sizeof targets[0].host,
				     targets[0].port, sizeof targets[0].port)) {
			fprintf(stderr, "kmsc: \"%s\" is not HOST[:PORT]\n", argv[optind]);
			return EXIT_USAGE;
		}
	} else {
		n_targets = discover_hosts(o.domain, o.dns_server, targets, 32, err, sizeof err);
		if (n_targets <= 0) {
			fprintf(stderr, "kmsc: no KMS host found: %s\n",
				n_targets < 0 ? err : "the SRV record has no targets");
			return EXIT_NETWORK;
		}
	}

	/* try each target in order until one binds */
	rc = EXIT_NETWORK;
	for (int i = 0; i < n_targets; i++) {
		memset(&s, 0, sizeof s);
		memcpy(s.host, targets[i].host, sizeof s.host);
		memcpy(s.port, targets[i].port, sizeof s.port);
		memcpy(s.address, targets[i].address, sizeof s.address);
		rc = open_session(&s, &o, err, sizeof err);
		if (rc == EXIT_VALID) {
			if (n_targets > 1 || optind == argc)
				fprintf(stderr, "kmsc: using %s port %s (from DNS)\n", s.host, s.port);
			break;
		}
		fprintf(stderr, "kmsc: %s\n", err);
		if (s.fd > 0)
			close(s.fd);
	}
	if (rc != EXIT_VALID)
		return rc;

	int worst = EXIT_VALID;
	for (int n = 1; n <= o.count; n++) {
		rc = one_request(&o, &s, n);
		if (rc > worst)
			worst = rc;
		if (rc == EXIT_NETWORK)
			break;
	}
	close(s.fd);
	return worst;
}
