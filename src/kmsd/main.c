/* kmsd: the KMS host daemon.
 *
 * The main thread loads the configuration, binds the listeners, drops
 * privileges, starts one worker loop per core and then only waits for
 * signals: SIGHUP reloads (listeners included), SIGTERM/SIGINT stop after
 * the answers already computed are sent. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kmsd/kmsd.h"
#include "server/settings.h"
#include "server/start_check.h"

/* kmsd -t: everything a start would check, without starting. */
static int check_config(const command_line *cl, kmsd_config *cfg)
{
	char why[256];
	snapshot s;
	memset(&s, 0, sizeof s);
	if (!settings_build(cfg, time(NULL), NULL, &s, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	host_settings_free(&s.host);
	if (!start_check(cfg, true, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	if (!dns_publish_check(cfg, why, sizeof why)) {
		fprintf(stderr, "kmsd: %s\n", why);
		return 1;
	}
	if (cl->verbose)
		config_dump(cfg, stdout);
	printf("kmsd: configuration OK\n");
	return 0;
}

int main(int argc, char **argv)
{
	command_line cl = { 0 };
	kmsd_config cfg;
	config_error err;
	int rc = command_line_parse(argc, argv, &cl);
	bool parsed = rc == 0;
	if (rc == 0 && !load_config(&cl, &cfg, &err)) {
		fprintf(stderr, "kmsd: %s\n", err.message);
		rc = 1;
	} else if (rc == 0 && cl.check_only) {
		for (const char *p = err.warnings; *p;) {
			size_t n = strcspn(p, "\n");
			fprintf(stderr, "kmsd: warning: %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
		rc = check_config(&cl, &cfg);
	} else if (rc == 0) {
		cl.foreground = cfg.foreground;
		rc = run(&cl, &cfg, &err);
	}
	if (parsed)
		config_free(&cfg);
	command_line_free(&cl);
	return rc;
}
