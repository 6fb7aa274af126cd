/* kmsd's command line: options kept to be applied again over the file at
 * every reload, so -o and -l always win. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "kmsd/kmsd.h"

static const char usage[] =
	"usage: kmsd [-fthSV] [-c FILE] [-l ADDR:PORT]... [-o KEY=VALUE]...\n"
	"  -f             stay in the foreground\n"
	"  -c FILE        configuration file (default " DEFAULT_CONFIG ")\n"
	"  -l ADDR:PORT   listen address, repeatable; replaces the file's list\n"
	"  -o KEY=VALUE   any kmsd.conf setting, repeatable; overrides the file\n"
	"  -t             check the configuration and exit (-t -v also prints it)\n"
	"  -v             with -t, print the effective configuration\n"
	"  -S             list every setting: name, type, default, reload, help\n"
	"  -V             print the version\n"
	"  -h             this help\n";

int command_line_parse(int argc, char **argv, command_line *cl)
{
	int opt;
	cl->config_path = DEFAULT_CONFIG;
	while ((opt = getopt(argc, argv, "fc:l:o:tvSVh")) != -1) {
		switch (opt) {
		case 'f':
			cl->foreground = true;
			break;
		case 'c':
			cl->config_path = optarg;
			cl->config_path_given = true;
			break;
		case 'l':
		case 'o':
			if (cl->n_options == MAX_CLI_OPTIONS) {
				fprintf(stderr, "kmsd: too many -l/-o options\n");
				return 2;
			}
			if (opt == 'l') {
				size_t n = strlen(optarg) + sizeof "listen=";
				char *s = malloc(n);
				if (!s)
					return 2;
				snprintf(s, n, "listen=%s", optarg);
				cl->owned[cl->n_options] = s;
				cl->options[cl->n_options++] = s;
			} else {
				cl->options[cl->n_options++] = optarg;
			}
			break;
		case 't':
			cl->check_only = true;
			break;
		case 'v':
			cl->verbose = true;
			break;
		case 'S':
			config_list_settings(stdout);
			exit(0);
		case 'V':
			printf("kmsd %s\n", KMSD_VERSION);
			exit(0);
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	return 0;
}

void command_line_free(command_line *cl)
{
	for (int i = 0; i < cl->n_options; i++)
		free(cl->owned[i]);
}

bool load_config(const command_line *cl, kmsd_config *cfg, config_error *err)
{
	memset(err, 0, sizeof *err);
	config_defaults(cfg);
	if (!config_load_file(cfg, cl->config_path, !cl->config_path_given, err))
		return false;
	for (int i = 0; i < cl->n_options; i++)
		if (!config_apply_option(cfg, cl->options[i], "-o", i + 1, err))
			return false;
	cfg->foreground |= cl->foreground; /* -f: a reload reads the same */
	return config_check(cfg, err);
}

void log_config_warnings(const config_error *err)
{
	const char *p = err->warnings;
	while (*p) {
		size_t n = strcspn(p, "\n");
		log_warning("%.*s", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

bool open_log(const kmsd_config *cfg, char *err, size_t err_len)
{
	return log_open(cfg->log_target, (enum log_level)cfg->log_level, cfg->log_facility, err,
			err_len);
}

