/* kmsc activate output: every field sent and received, each check a client
 * makes and why a failed one matters, as text or one JSON object. */
#include "client/activate.h"

#include <ctype.h>
#include <string.h>

#include "base/escape.h"

static const char *syntax_name(rpc_syntax_kind k)
{
	return k == RPC_SYNTAX_NDR64 ? "NDR64" : "NDR32";
}

static const char *outcome_name(enum outcome o)
{
	static const char *const names[] = { "valid", "invalid", "refused", "fault", "protocol-error",
					     "network-error" };
	return names[o];
}

/* What a failed check means for a client, so the line names the host's mistake. */
static const char *check_failure(enum kms_check c, unsigned major)
{
	switch (c) {
	case KMS_CHECK_SIZE: return "length does not fit the version and ePID size";
	case KMS_CHECK_VERSION: return "version differs from the request's";
	case KMS_CHECK_EPID: return "ePID size odd, out of range or not NUL-terminated";
	case KMS_CHECK_CMID: return "client machine id not echoed";
	case KMS_CHECK_TIME: return "client time not echoed";
	case KMS_CHECK_MAC: return "V4 MAC does not match the message";
	case KMS_CHECK_PADDING: return "PKCS#7 padding malformed after decryption";
	case KMS_CHECK_IV:
		return major == 5 ? "IV is not the request's (V5 must echo it)"
				  : "IV repeats the request's (clients take that for an emulator)";
	case KMS_CHECK_HASH: return "hash is not SHA-256 of RandomXoredIVs xor the request IV";
	case KMS_CHECK_XORED_IVS: return "XoredIVs is not the decrypted request IV";
	case KMS_CHECK_HMAC: return "HMAC wrong for the echoed client time (slot -1..+1)";
	case KMS_CHECK_COUNT_: break;
	}
	return "";
}

/* PPPPP-GGGGG-KKK-KKKKKK-03-LLLL-BBBB[B].0000-DDDYYYY, as real hosts send. */
static bool epid_looks_real(const char *e)
{
	static const char *const shape[] = { "99999-", "99999-", "999-", "999999-", "03-", "9999-" };
	for (size_t i = 0; i < sizeof shape / sizeof shape[0]; i++)
		for (const char *p = shape[i]; *p; p++, e++)
			if (*p == '9' ? !isdigit((unsigned char)*e) : *e != *p)
				return false;
	size_t build = strspn(e, "0123456789");
	if (build < 4 || build > 5 || strncmp(e + build, ".0000-", 6) != 0)
		return false;
	e += build + 6;
	return strspn(e, "0123456789") == 7 && !e[7];
}

/* The most a real host reports: 2 x the highest N of the request's pool
 * (docs/protocol.md section 5), 2 x N for an application we do not know. */
static uint64_t pool_cap(const kms_request *r)
{
	const kms_app *app = kms_app_find(&kms_product_table, &r->app_id);
	return app ? kms_app_max_count(&kms_product_table, app) : 2ull * r->n_policy;
}

/* Things a client accepts but an administrator should know; up to 4. */
static int notes(const exchange *x, const char *epid, const char *out[4])
{
	int n = 0;
	uint64_t count = x->got.count, want = x->sent.n_policy;
	if (count > pool_cap(&x->sent) && count > 2 * want)
		out[n++] = "count is above 2 x the pool's highest N policy, which no real host reports";
	else if (count > want && count < 2 * want)
		out[n++] = "count is between N and 2 x N: unusual, some tools flag it";
	if (!kms_interval_valid(x->got.activation_interval))
		out[n++] = "activation interval outside Microsoft's range (15 to 43200 minutes)";
	if (!kms_interval_valid(x->got.renewal_interval))
		out[n++] = "renewal interval outside Microsoft's range (15 to 43200 minutes)";
	if (!epid_looks_real(epid))
		out[n++] = "the ePID does not have the shape real hosts send";
	return n;
}

static void print_sent(const activate_options *o, const session *s, const exchange *x)
{
	const kms_request *r = &x->sent;
	char id[GUID_TEXT_LEN], when[32], text[200];
	printf("Request %d to %s port %s (KMS V%u.%u, %s)\n", x->number, s->host, s->port, r->major,
	       r->minor, syntax_name(s->syntax));
	if (x->fell_back)
		printf("  note                the host dropped the connection after an NDR64 request;\n"
		       "                      sent again over NDR32 on a new connection\n");
	printf("  product             %s\n", o->sku->name);
	guid_format(&r->sku_id, id);
	printf("  SKU id              %s\n", id);
	guid_format(&r->kms_id, id);
	printf("  KMS id              %s (%s)\n", id, sku_group(o->sku)->name);
	guid_format(&r->cmid, id);
	format_filetime(r->client_time, when, sizeof when);
	printf("  client machine id   %s\n  client time         %s UTC\n", id, when);
	kms_utf16_to_utf8(r->workstation, KMS_WORKSTATION_UNITS, text, sizeof text);
	char shown[TEXT_ESCAPED_MAX(sizeof text)];
	text_escape(shown, sizeof shown, text);
	printf("  workstation         %s\n  N policy            %u\n", shown, r->n_policy);
	printf("  license status      %u\n", r->license_status);
}

static void print_received(const exchange *x, const char *epid)
{
	const kms_response *g = &x->got;
	unsigned major = x->sent.major;
	char id[GUID_TEXT_LEN], when[32], hex[80];
	printf("Response (%zu bytes)\n", g->size);
	printf("  version             %u.%u\n", g->major, g->minor);
	printf("  ePID                %s (%u bytes declared)\n", epid, g->epid_size);
	if (major == 6) {
		hex_string(hex, g->hwid, sizeof g->hwid);
		printf("  HwId                %s\n", hex);
	}
	guid_format(&g->cmid, id);
	format_filetime(g->client_time, when, sizeof when);
	printf("  client machine id   %s\n  client time         %s UTC\n", id, when);
	printf("  current count       %u\n", g->count);
	printf("  activation interval %u minutes\n  renewal interval    %u minutes\n",
	       g->activation_interval, g->renewal_interval);
	if (major >= 5) {
		hex_string(hex, g->iv, sizeof g->iv);
		printf("  IV                  %s\n  padding             %u bytes\n", hex, g->pad_len);
	}
	if (x->verify_err != KMS_OK && x->verify_err != KMS_ERR_VERIFY)
		printf("  (decoding stopped: %s)\n", kms_strerror(x->verify_err));
}

void report_text(const activate_options *o, const session *s, const exchange *x)
{
	print_sent(o, s, x);
	if (!x->answered) {
		if (x->outcome == OUTCOME_REFUSED || x->outcome == OUTCOME_FAULT)
			printf("Verdict: %s 0x%08X (%s)\n",
			       x->outcome == OUTCOME_FAULT ? "RPC fault" : "the host refused with",
			       x->status, hresult_text(x->status));
		else
			printf("Verdict: %s: %s\n", x->outcome == OUTCOME_PROTOCOL ? "protocol error"
										   : "no answer", x->error);
		return;
	}
	char epid[200];
	kms_utf16_to_utf8(x->got.epid, KMS_EPID_MAX_UNITS, epid, sizeof epid);
	print_received(x, epid);
	printf("Checks\n");
	for (int c = 0; c < KMS_CHECK_COUNT_; c++) {
		if (!(x->verdict.ran & (1u << c)))
			continue;
		const char *name = kms_check_name((enum kms_check)c);
		bool failed = x->verdict.failed & (1u << c);
		int dots = 15 - (int)strlen(name);
		printf("  check %s %.*s %s%s%s\n", name, dots > 1 ? dots : 1, "...............",
		       failed ? "fail" : "pass", failed ? "  " : "",
		       failed ? check_failure((enum kms_check)c, x->sent.major) : "");
	}
	const char *note[4];
	for (int i = 0, n = notes(x, epid, note); i < n; i++)
		printf("Note: %s\n", note[i]);
	uint32_t count = x->got.count, want = x->sent.n_policy;
	if (x->verdict.failed)
		printf("Verdict: INVALID answer: the client would reject it\n");
	else if (count < want)
		printf("Verdict: valid, but count %u is below the N policy %u: the client would "
		       "get 0xC004F038 and retry\n", count, want);
	else
		printf("Verdict: valid, activated (count %u >= %u)\n", count, want);
}

static void json_hex(const char *name, const uint8_t *p, size_t n)
{
	char hex[80];
	hex_string(hex, p, n);
	printf(", \"%s\": \"%s\"", name, hex);
}

static void json_response(const exchange *x, const char *epid)
{
	const kms_response *g = &x->got;
	char id[GUID_TEXT_LEN], when[32];
	printf(", \"response\": {\"size\": %zu, \"version\": \"%u.%u\", \"epid\": ", g->size,
	       g->major, g->minor);
	json_string(stdout, epid);
	guid_format(&g->cmid, id);
	format_filetime(g->client_time, when, sizeof when);
	printf(", \"epid_size\": %u", g->epid_size);
	json_hex("hwid", g->hwid, sizeof g->hwid);
	printf(", \"cmid\": \"%s\", \"client_time\": \"%s\", \"count\": %u, "
	       "\"activation_interval\": %u, \"renewal_interval\": %u", id, when, g->count,
	       g->activation_interval, g->renewal_interval);
	json_hex("iv", g->iv, sizeof g->iv);
	json_hex("random_xored_ivs", g->random_xored_ivs, sizeof g->random_xored_ivs);
	json_hex("hash", g->hash, sizeof g->hash);
	json_hex("xored_ivs", g->xored_ivs, sizeof g->xored_ivs);
	json_hex("hmac", g->hmac, sizeof g->hmac);
	json_hex("mac", g->mac, sizeof g->mac);
	printf(", \"padding\": %u}", g->pad_len);
}

static void json_checks(const exchange *x, const char *epid)
{
	printf(", \"checks\": {");
	for (int c = 0, k = 0; c < KMS_CHECK_COUNT_; c++)
		if (x->verdict.ran & (1u << c))
			printf("%s\"%s\": %s", k++ ? ", " : "", kms_check_name((enum kms_check)c),
			       x->verdict.failed & (1u << c) ? "false" : "true");
	printf("}, \"failed\": [");
	for (int c = 0, k = 0; c < KMS_CHECK_COUNT_; c++)
		if (x->verdict.failed & (1u << c))
			printf("%s\"%s\"", k++ ? ", " : "", kms_check_name((enum kms_check)c));
	printf("], \"notes\": [");
	const char *note[4];
	for (int i = 0, n = notes(x, epid, note); i < n; i++) {
		printf("%s", i ? ", " : "");
		json_string(stdout, note[i]);
	}
	printf("]");
}

void report_json(const activate_options *o, const session *s, const exchange *x)
{
	const kms_request *r = &x->sent;
	char id[GUID_TEXT_LEN], when[32], text[200];
	printf("{\"request\": %d, \"host\": ", x->number);
	json_string(stdout, s->host);
	printf(", \"port\": %s, \"protocol\": \"%u.%u\", \"transfer_syntax\": \"%s\", \"product\": ",
	       s->port, r->major, r->minor, syntax_name(s->syntax));
	json_string(stdout, o->sku->name);
	if (x->fell_back)
		printf(", \"fell_back_to_ndr32\": true");
	guid_format(&r->sku_id, id);
	printf(", \"sku_id\": \"%s\"", id);
	guid_format(&r->kms_id, id);
	printf(", \"kms_id\": \"%s\"", id);
	guid_format(&r->cmid, id);
	format_filetime(r->client_time, when, sizeof when);
	printf(", \"cmid\": \"%s\", \"client_time\": \"%s\", \"workstation\": ", id, when);
	kms_utf16_to_utf8(r->workstation, KMS_WORKSTATION_UNITS, text, sizeof text);
	json_string(stdout, text);
	printf(", \"n_policy\": %u, \"license_status\": %u, \"outcome\": \"%s\", "
	       "\"status\": \"0x%08X\", \"status_text\": ", r->n_policy, r->license_status,
	       outcome_name(x->outcome), x->status);
	json_string(stdout, hresult_text(x->status));
	if (x->outcome >= OUTCOME_PROTOCOL || (x->answered && x->verify_err != KMS_OK &&
					      x->verify_err != KMS_ERR_VERIFY)) {
		printf(", \"error\": ");
		json_string(stdout, x->answered ? kms_strerror(x->verify_err) : x->error);
	}
	if (x->answered) {
		kms_utf16_to_utf8(x->got.epid, KMS_EPID_MAX_UNITS, text, sizeof text);
		json_response(x, text);
		json_checks(x, text);
		bool valid = !x->verdict.failed;
		printf(", \"valid\": %s, \"activated\": %s", valid ? "true" : "false",
		       valid && x->got.count >= r->n_policy ? "true" : "false");
	} else {
		printf(", \"valid\": false, \"activated\": false");
	}
	printf("}\n");
}

/* No request went out (no connection, or the bind failed): one object all
 * the same, so scripts reading --json always get an answer. */
void report_json_no_session(const session *s, int exit_code, const char *error)
{
	printf("{\"request\": 0, \"host\": ");
	json_string(stdout, s->host);
	printf(", \"port\": %s, \"outcome\": \"%s\", \"error\": ", s->port[0] ? s->port : "0",
	       exit_code == EXIT_REFUSED ? "bind-rejected" : "network-error");
	json_string(stdout, error);
	printf(", \"valid\": false, \"activated\": false}\n");
}
