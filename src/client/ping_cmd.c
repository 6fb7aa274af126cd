/* kmsc ping: is a KMS host answering? Connects and binds the KMS interface,
 * then closes. No activation request is sent, so the host counts no machine
 * and logs no activation: a probe a container health check can run every
 * minute. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/activate.h"

static const char usage[] =
	"usage: kmsc ping [--timeout SECONDS] [HOST[:PORT]]\n"
	"  connect and bind the KMS interface, send no request; exit 0 if the\n"
	"  host accepts the bind. HOST defaults to 127.0.0.1, PORT to 1688.\n";

int cmd_ping(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	activate_options o = { .rpc = { true, true, true }, .timeout_ms = 5000 };
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		char *end;
		long v;
		switch (opt) {
		case 'o':
			v = strtol(optarg, &end, 10);
			if (*end || v < 1 || v > 3600) {
				fprintf(stderr, "kmsc ping: --timeout: 1 to 3600 seconds\n");
				return EXIT_USAGE;
			}
			o.timeout_ms = (int)v * 1000;
			break;
		case 'h': fputs(usage, stdout); return EXIT_VALID;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	session s = { .fd = -1 };
	if (!split_host_port(optind < argc ? argv[optind] : "127.0.0.1", s.host, sizeof s.host, s.port,
			     sizeof s.port)) {
		fprintf(stderr, "kmsc ping: bad address %s\n", argv[optind]);
		return EXIT_USAGE;
	}
	char err[256] = "";
	int rc = session_open(&s, &o, err, sizeof err);
	if (s.fd >= 0)
		close(s.fd);
	if (rc != EXIT_VALID) {
		fprintf(stderr, "kmsc ping: %s:%s: %s\n", s.host, s.port, err);
		return rc;
	}
	printf("%s:%s: bind accepted\n", s.host, s.port);
	return EXIT_VALID;
}
