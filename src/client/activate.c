/* kmsc activate: act as a KMS client and judge the host's every answer.
 * This file is the command line and the flow; exchange.c does the wire
 * work and report.c the output. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/activate.h"
#include "crypto/crypto.h"

static const char usage[] =
	"usage: kmsc activate [options] [HOST[:PORT]]\n"
	"Act as a KMS client and check the host's answer field by field. Without a\n"
	"host, find one through the DNS SRV record _vlmcs._tcp.DOMAIN.\n"
	"  -p, --product P        SKU name fragment, GUID or number (kmsc products);\n"
	"                         default Windows 10/11 Enterprise\n"
	"  -4, -5, -6             KMS protocol version (default: the product's)\n"
	"      --ndr32, --ndr64   offer only this transfer syntax (default both)\n"
	"      --no-btfn          do not offer bind-time feature negotiation\n"
	"      --cmid GUID|random client machine id (default one stable id for this\n"
	"                         machine, from /etc/machine-id, so repeated probes\n"
	"                         count once; random: a new one per request)\n"
	"      --workstation NAME (at most 63 characters; default a random name)\n"
	"      --app-id GUID      application id to send instead of the product's\n"
	"      --kms-id GUID      KMS counted id to send instead of the product's\n"
	"      --n-policy N       clients the product needs (default the product's)\n"
	"      --time T           client time, 'YYYY-MM-DD HH:MM:SS' UTC or Unix seconds\n"
	"      --license-status N (default 2, out-of-box grace)\n"
	"  -n, --count N          requests on the one connection (default 1)\n"
	"      --stub-padding N   N bytes (0-64) after the message in the stub, as\n"
	"                         py-kms sends (default 0)\n"
	"      --timeout SECONDS  (default 10)\n"
	"      --domain D         DNS domain to discover hosts in\n"
	"      --dns-server IP[:PORT]  resolver to ask instead of the system's;\n"
	"                         IPv6 as [ADDR]:PORT\n"
	"      --json             one JSON object per request\n"
	"  -v, --verbose          hex dumps of the PDUs, the SRV targets in order\n"
	"Exit status: 0 every answer valid and enough to activate, 1 a check failed,\n"
	"2 usage, 3 the host refused (HRESULT, RPC fault, bind rejected), 4 network\n"
	"or protocol failure, 5 a valid answer whose count is below the N policy\n"
	"(the client would not activate yet).\n";

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

/* This machine's client machine id: a name-based UUID (version 8, from
 * SHA-256) of /etc/machine-id, so every probe from one machine is one
 * machine to the host, and the machine id itself is not disclosed. Falls
 * back to D-Bus's copy, then to the host name. */
static void machine_cmid(kms_guid *out)
{
	static const char *const files[] = { "/etc/machine-id", "/var/lib/dbus/machine-id" };
	char seed[300] = "kmsc activate\n";
	size_t used = strlen(seed);
	bool found = false;
	for (size_t i = 0; i < sizeof files / sizeof files[0] && !found; i++) {
		FILE *f = fopen(files[i], "re");
		if (!f)
			continue;
		size_t n = fread(seed + used, 1, 64, f);
		fclose(f);
		found = n >= 32;
		if (found)
			used += n;
	}
	if (!found && gethostname(seed + used, sizeof seed - used - 1) == 0)
		used += strlen(seed + used);
	uint8_t digest[32];
	if (!sha256(seed, used, digest))
		memset(digest, 0x5a, sizeof digest);
	memcpy(out->b, digest, 16);
	/* version 8 (Data3's top nibble; Data3 is little-endian on the wire) and
	 * the RFC 4122 variant */
	out->b[7] = (uint8_t)((out->b[7] & 0x0f) | 0x80);
	out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);
}

/* A whole decimal number in [min, max]; no trailing junk, no overflow. */
static bool parse_number(const char *text, long long min, long long max, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end == text || *end || errno || v < min || v > max)
		return false;
	*out = v;
	return true;
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
		{ "stub-padding", required_argument, NULL, 'Q' },
		{ "domain", required_argument, NULL, 'D' },  { "dns-server", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },          { "verbose", no_argument, NULL, 'v' },
		{ "app-id", required_argument, NULL, 'A' }, { "kms-id", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },          { 0 }
	};
	const char *product = "73111121-5638-40f6-bc11-f1d7b0d64300";
	int opt;
	long long v = 0;
	*o = (activate_options){ .rpc = { true, true, true }, .n_policy = -1, .license_status = 2,
				 .count = 1, .timeout_ms = 10000, .fixed_cmid = true };
	machine_cmid(&o->cmid);
	while ((opt = getopt_long(argc, argv, "p:456n:vjh", longopts, NULL)) != -1) {
		bool ok = true;
		switch (opt) {
		case 'p': product = optarg; break;
		case '4': case '5': case '6': o->version = opt - '0'; break;
		case 'N': o->rpc.ndr64 = false; o->rpc.ndr32 = true; break;
		case 'M': o->rpc.ndr32 = false; o->rpc.ndr64 = true; break;
		case 'B': o->rpc.btfn = false; break;
		case 'C':
			if (strcmp(optarg, "random") == 0)
				o->fixed_cmid = false;
			else
				ok = o->fixed_cmid = guid_parse(optarg, &o->cmid);
			break;
		case 'A': ok = o->fixed_app_id = guid_parse(optarg, &o->app_id); break;
		case 'K': ok = o->fixed_kms_id = guid_parse(optarg, &o->kms_id); break;
		case 'W':
			ok = strlen(optarg) < KMS_WORKSTATION_UNITS;
			snprintf(o->workstation, sizeof o->workstation, "%s", optarg);
			break;
		case 'P':
			if ((ok = parse_number(optarg, 0, UINT32_MAX, &v)))
				o->n_policy = (long)v;
			break;
		case 'T': ok = parse_time(optarg, &o->time); break;
		case 'L':
			if ((ok = parse_number(optarg, 0, UINT32_MAX, &v)))
				o->license_status = (uint32_t)v;
			break;
		case 'n':
			if ((ok = parse_number(optarg, 1, 100000, &v)))
				o->count = (int)v;
			break;
		case 'Q':
			if ((ok = parse_number(optarg, 0, 64, &v)))
				o->stub_padding = (int)v;
			break;
		case 'o':
			if ((ok = parse_number(optarg, 1, 3600, &v)))
				o->timeout_ms = (int)v * 1000;
			break;
		case 'D': o->domain = optarg; break;
		case 'S': o->dns_server = optarg; break;
		case 'j': o->json = true; break;
		case 'v': o->verbose = true; break;
		case 'h': fputs(usage, stdout); return -1;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
		if (!ok) {
			fprintf(stderr, "kmsc activate: bad value \"%s\" (see kmsc activate --help)\n",
				optarg);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	o->sku = product_select(product);
	return o->sku ? EXIT_VALID : EXIT_USAGE;
}

/* The hosts to try: the one given, or those DNS names in RFC 2782 order. */
static int find_targets(int argc, char **argv, const activate_options *o, srv_target *t, int max)
{
	char err[256];
	if (optind < argc) {
		if (!split_host_port(argv[optind], t[0].host, sizeof t[0].host, t[0].port,
				     sizeof t[0].port)) {
			fprintf(stderr, "kmsc: \"%s\" is not HOST[:PORT]\n", argv[optind]);
			return -EXIT_USAGE;
		}
		return 1;
	}
	int n = discover_hosts(o->domain, o->dns_server, t, max, err, sizeof err);
	if (n <= 0) {
		fprintf(stderr, "kmsc: no KMS host found: %s\n",
			n < 0 ? err : "the SRV record has no targets");
		return -EXIT_NETWORK;
	}
	for (int i = 0; o->verbose && i < n; i++)
		fprintf(stderr, "kmsc: SRV target %d: %s port %s, priority %u weight %u%s%s\n", i + 1,
			t[i].host, t[i].port, t[i].priority, t[i].weight, t[i].address[0] ? " at " : "",
			t[i].address);
	return n;
}

/* Which of two exit codes is worse: a count below the threshold is a
 * valid answer, better than any failure. */
static int severity(int rc)
{
	return rc == EXIT_BELOW ? 1 : rc == EXIT_VALID ? 0 : rc + 1;
}

int cmd_activate(int argc, char **argv)
{
	activate_options o;
	int rc = parse_options(argc, argv, &o);
	if (rc)
		return rc < 0 ? EXIT_VALID : rc;

	srv_target targets[32] = { 0 };
	int n_targets = find_targets(argc, argv, &o, targets, 32);
	if (n_targets < 0)
		return -n_targets;
	bool from_dns = optind == argc;

	/* the first target that takes the connection and the bind serves */
	session s;
	char err[256];
	rc = EXIT_NETWORK;
	for (int i = 0; i < n_targets; i++) {
		memset(&s, 0, sizeof s);
		memcpy(s.host, targets[i].host, sizeof s.host);
		memcpy(s.port, targets[i].port, sizeof s.port);
		memcpy(s.address, targets[i].address, sizeof s.address);
		rc = session_open(&s, &o, err, sizeof err);
		if (rc == EXIT_VALID) {
			if (from_dns)
				fprintf(stderr, "kmsc: using %s port %s (from DNS)\n", s.host, s.port);
			break;
		}
		if (from_dns)
			fprintf(stderr, "kmsc: %s port %s (from DNS): %s\n", s.host, s.port, err);
		else
			fprintf(stderr, "kmsc: %s\n", err);
		if (s.fd >= 0)
			close(s.fd);
	}
	if (rc != EXIT_VALID) {
		if (o.json)
			report_json_no_session(&s, rc, err);
		return rc;
	}

	int worst = EXIT_VALID;
	for (int n = 1; n <= o.count; n++) {
		exchange x = { .number = n };
		exchange_run(&o, &s, &x);
		if (o.json)
			report_json(&o, &s, &x);
		else
			report_text(&o, &s, &x);
		rc = outcome_exit_code(x.outcome);
		if (rc == EXIT_VALID && x.got.count < x.sent.n_policy)
			rc = EXIT_BELOW;
		if (severity(rc) > severity(worst))
			worst = rc;
		if (rc == EXIT_NETWORK)
			break;
	}
	close(s.fd);
	return worst;
}
