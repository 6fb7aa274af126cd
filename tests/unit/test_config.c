/* kmsd.conf parsing: defaults, every setting, errors with file:line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "server/config.h"
#include "server/config_setting.h"
#include "dns/dns_publish.h"

static bool load(kmsd_config *cfg, const char *text, config_error *err)
{
	config_defaults(cfg);
	return config_load_buffer(cfg, "test.conf", text, strlen(text), err);
}

static void expect_error(const char *text, const char *message)
{
	kmsd_config cfg;
	config_error err;
	CHECK(!load(&cfg, text, &err));
	if (!strstr(err.message, message))
		printf("  got \"%s\", wanted \"%s\"\n", err.message, message);
	CHECK(strstr(err.message, message) != NULL);
}

TEST(config_defaults_are_documented_values)
{
	kmsd_config cfg;
	config_defaults(&cfg);
	CHECK_EQ(cfg.n_listen, 2);
	CHECK_STR(cfg.listen[0].text, "0.0.0.0:1688");
	CHECK_STR(cfg.listen[1].text, "[::]:1688");
	CHECK(!cfg.count_real);
	CHECK_EQ(cfg.activation_interval, 120);
	CHECK_EQ(cfg.renewal_interval, 10080);
	CHECK_EQ(cfg.lcid, 1033);
	CHECK(cfg.hwid_auto); /* generated per host, not vlmcsd's published one */
	CHECK(cfg.ndr64 && cfg.btfn);
	CHECK_EQ(cfg.scope, KMS_SERVE_ALL);
	CHECK_STR(cfg.store, "sqlite:/var/lib/kmsd/clients.db");
}

TEST(config_sample_file_parses_to_defaults)
{
	kmsd_config cfg, defaults;
	config_error err;
	config_defaults(&cfg);
	CHECK(config_load_file(&cfg, "contrib/kmsd.conf", false, &err));
	config_defaults(&defaults);
	/* the sample shows every default: parsing it changes nothing */
	char a[4096] = "", b[4096] = "";
	FILE *fa = fmemopen(a, sizeof a, "w"), *fb = fmemopen(b, sizeof b, "w");
	config_dump(&cfg, fa);
	config_dump(&defaults, fb);
	fclose(fa);
	fclose(fb);
	CHECK_STR(a, b);
}

TEST(config_every_setting)
{
	kmsd_config cfg;
	config_error err;
	const char *text =
		"listen = 127.0.0.1:1700   # a comment\n"
		"listen = [::1]:1701\n"
		"listen = 10.0.0.1\n"
		"epid = windows 03612-00206-568-381813-03-1033-17763.0000-2652018\n"
		"epid = 85b5f61b-320b-4be3-814a-b76b2bfafc82 06401-00206-456-865118-03-1033-9600.0000-2802018\n"
		"hwid = 0011223344556677\n"
		"lcid = 2052\n"
		"host-build = 17763\n"
		"activation-interval = 2h\n"
		"renewal-interval = 3d\n"
		"count = real\n"
		"count-window = 7d\n"
		"serve = Office 2019\n"
		"serve = 58e2134f-8e11-4d17-9cb2-91069c151148\n"
		"refuse-retail = yes\n"
		"refuse-preview = on\n"
		"client-time-check = true\n"
		"max-time-skew = 1h\n"
		"max-n-policy = 50\n"
		"ndr64 = no\n"
		"btfn = off\n"
		"max-connections = 5\n"
		"idle-timeout = 5m\n"
		"max-requests-per-connection = 0\n"
		"threads = 3\n"
		"log = \"file:/var/log/kmsd.log\"\n"
		"log-level = debug\n"
		"user = nobody\n"
		"group = nogroup\n"
		"allow-root = no\n"
		"pidfile = /run/kmsd.pid\n"
		"foreground = yes\n"
		"store = none\n";
	CHECK(load(&cfg, text, &err));
	CHECK_EQ(cfg.n_listen, 3);
	CHECK_STR(cfg.listen[1].text, "[::1]:1701");
	CHECK_STR(cfg.listen[2].text, "10.0.0.1:1688");
	CHECK_EQ(cfg.listen[0].addr.ss_family, AF_INET);
	CHECK_EQ(ntohs(((struct sockaddr_in *)&cfg.listen[0].addr)->sin_port), 1700);
	CHECK_EQ(cfg.n_epids, 2);
	CHECK_EQ(cfg.hwid[7], 0x77);
	CHECK_EQ(cfg.lcid, 2052);
	CHECK_EQ(cfg.host_build, 17763);
	CHECK_EQ(cfg.activation_interval, 120);
	CHECK_EQ(cfg.renewal_interval, 3 * 1440);
	CHECK(cfg.count_real);
	CHECK_EQ(cfg.count_window, 7 * 86400);
	CHECK_EQ(cfg.scope, KMS_SERVE_LISTED);
	CHECK_EQ(cfg.n_served, 2);
	CHECK(cfg.refuse_retail && cfg.refuse_preview && cfg.client_time_check);
	CHECK_EQ(cfg.max_time_skew, 3600);
	CHECK_EQ(cfg.max_n_policy, 50);
	CHECK(!cfg.ndr64 && !cfg.btfn);
	CHECK_EQ(cfg.max_connections, 5);
	CHECK_EQ(cfg.idle_timeout, 300);
	CHECK_EQ(cfg.max_requests, 0);
	CHECK_EQ(cfg.threads, 3);
	CHECK_STR(cfg.log_target, "file:/var/log/kmsd.log");
	CHECK_EQ(cfg.log_level, 3);
	CHECK_STR(cfg.user, "nobody");
	CHECK_STR(cfg.group, "nogroup");
	CHECK_STR(cfg.pidfile, "/run/kmsd.pid");
	CHECK(cfg.foreground);
	CHECK_STR(cfg.store, "none");
}

TEST(config_errors_name_file_and_line)
{
	expect_error("# ok\n\ncount = sometimes\n", "test.conf:3: count: \"sometimes\" is not real or always");
	expect_error("colour = blue\n", "test.conf:1: colour: unknown setting");
	expect_error("idle-timeout = 5x\n", "test.conf:1: idle-timeout: \"5x\" is not a duration");
	expect_error("idle-timeout = 0\n", "out of range");
	expect_error("max-connections = -1\n", "out of range");
	expect_error("threads = many\n", "is not a whole number");
	expect_error("listen = 1.2.3.4:99999\n", "port must be 1 to 65535");
	expect_error("listen = ::1:1688\n", "brackets");
	expect_error("listen = [::1\n", "unterminated");
	expect_error("listen = example.com:1688\n", "not a numeric IPv4 address");
	expect_error("hwid = 12345\n", "16 hexadecimal digits");
	expect_error("epid = windows 1234\n", "ePID shape");
	expect_error("epid = linux 03612-00206-568-381813-03-1033-17763.0000-2652018\n",
		     "not windows, office2010, office2013");
	expect_error("host-build = 12345\n", "not a KMS host build");
	expect_error("serve = Windows\n", "matches");
	expect_error("serve = Amiga\n", "no product group matches");
	expect_error("ndr64 = maybe\n", "not yes or no");
	expect_error("log = /tmp/x\n", "file:/ABSOLUTE/PATH");
	expect_error("log-level = loud\n", "not error, warning, info or debug");
	expect_error("store = mysql://x\n", "not none, sqlite:/PATH or postgresql://");
	expect_error("count\n", "test.conf:1: expected \"key = value\"");
	expect_error("count =\n", "missing value");
	expect_error("= real\n", "missing setting name");
	expect_error("user = \"nobody\n", "unterminated quoted value");
	expect_error("renewal-interval = 10\n", "out of range"); /* 10 minutes < 15 */
}

TEST(config_dns_settings)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	CHECK(!cfg.dns.enabled);
	CHECK_EQ(cfg.dns.ttl, 3600);
	CHECK_STR(cfg.dns.tsig_algorithm, "hmac-sha256");
	const char *text =
		"dns-publish = on\n"
		"dns-zone = Example.COM.\n"
		"dns-server = [2001:db8::53]:5353\n"
		"dns-ttl = 2h\n"
		"dns-priority = 10\n"
		"dns-weight = 65535\n"
		"dns-host = kms1.example.com\n"
		"dns-port = 1700\n"
		"dns-tsig-name = kmsd-key\n"
		"dns-tsig-algorithm = HMAC-SHA512\n"
		"dns-tsig-secret-file = /etc/kmsd/tsig.secret\n";
	CHECK(load(&cfg, text, &err));
	CHECK(cfg.dns.enabled);
	CHECK_STR(cfg.dns.zone, "Example.COM");
	CHECK_STR(cfg.dns.server, "[2001:db8::53]:5353");
	CHECK_EQ(cfg.dns.ttl, 7200);
	CHECK_EQ(cfg.dns.priority, 10);
	CHECK_EQ(cfg.dns.weight, 65535);
	CHECK_STR(cfg.dns.host, "kms1.example.com");
	CHECK_EQ(cfg.dns.port, 1700);
	CHECK_STR(cfg.dns.tsig_name, "kmsd-key");
	CHECK_STR(cfg.dns.tsig_algorithm, "hmac-sha512");
	CHECK_STR(cfg.dns.tsig_secret_file, "/etc/kmsd/tsig.secret");

	/* the dump reads back to the same settings */
	char a[8192] = "", b[8192] = "";
	FILE *fa = fmemopen(a, sizeof a, "w");
	config_dump(&cfg, fa);
	fclose(fa);
	CHECK(strstr(a, "dns-server = [2001:db8::53]:5353\n") != NULL);
	kmsd_config again;
	CHECK(load(&again, a, &err));
	FILE *fb = fmemopen(b, sizeof b, "w");
	config_dump(&again, fb);
	fclose(fb);
	CHECK_STR(a, b);

	uint16_t port;
	char host[64];
	CHECK(dns_split_server("ns1.example.com", host, sizeof host, &port));
	CHECK_STR(host, "ns1.example.com");
	CHECK_EQ(port, 53);
	CHECK(dns_split_server("127.0.0.1:5300", host, sizeof host, &port));
	CHECK_STR(host, "127.0.0.1");
	CHECK_EQ(port, 5300);
	CHECK(dns_split_server("[::1]", host, sizeof host, &port));
	CHECK_STR(host, "::1");
	CHECK_EQ(port, 53);
}

TEST(config_dns_errors)
{
	expect_error("dns-publish = maybe\n", "test.conf:1: dns-publish: \"maybe\" is not yes or no");
	expect_error("\ndns-zone = exa mple.com\n", "test.conf:2: dns-zone: \"exa mple.com\" is not a DNS name");
	expect_error("dns-zone = a..b\n", "is not a DNS name");
	expect_error("dns-host = .\n", "is not a DNS name");
	expect_error("dns-host = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com\n",
		     "is not a DNS name"); /* a 64-character label */
	expect_error("dns-server = ::1\n", "dns-server: \"::1\" is not ADDRESS");
	expect_error("dns-server = [::1\n", "is not ADDRESS");
	expect_error("dns-server = 10.0.0.1:0\n", "is not ADDRESS");
	expect_error("dns-server = 10.0.0.1:x\n", "is not ADDRESS");
	expect_error("dns-ttl = 9s\n", "dns-ttl: \"9s\" is out of range");
	expect_error("dns-priority = 65536\n", "out of range");
	expect_error("dns-weight = -1\n", "out of range");
	expect_error("dns-port = 0\n", "out of range");
	expect_error("dns-tsig-algorithm = hmac-sha3\n", "is not hmac-md5");
	expect_error("dns-tsig-secret-file = tsig.secret\n", "not an absolute path");
	expect_error("dns-colour = blue\n", "test.conf:1: dns-colour: unknown setting");

	/* what needs the whole configuration, or the file system */
	kmsd_config cfg;
	char why[512];
	config_defaults(&cfg);
	CHECK(dns_publish_check(&cfg, why, sizeof why)); /* off: nothing needed */
	cfg.dns.enabled = true;
	CHECK(!dns_publish_check(&cfg, why, sizeof why));
	CHECK(strstr(why, "needs dns-zone") != NULL);
	snprintf(cfg.dns.zone, sizeof cfg.dns.zone, "example.com");
	CHECK(dns_publish_check(&cfg, why, sizeof why));
	snprintf(cfg.dns.tsig_name, sizeof cfg.dns.tsig_name, "kmsd-key");
	CHECK(!dns_publish_check(&cfg, why, sizeof why));
	CHECK(strstr(why, "go together") != NULL);
	snprintf(cfg.dns.tsig_secret_file, sizeof cfg.dns.tsig_secret_file, "/nonexistent/secret");
	CHECK(!dns_publish_check(&cfg, why, sizeof why));
	CHECK(strstr(why, "/nonexistent/secret: No such file") != NULL);
}

TEST(config_command_line_overrides_and_replaces_listen)
{
	kmsd_config cfg;
	config_error err;
	CHECK(load(&cfg, "listen = 127.0.0.1:1700\nlisten = 127.0.0.1:1701\ncount = real\n", &err));
	CHECK_EQ(cfg.n_listen, 2);
	CHECK(config_apply_option(&cfg, "count=always", "-o", 1, &err));
	CHECK(!cfg.count_real);
	CHECK(config_apply_option(&cfg, "listen = [::1]:1800", "-o", 2, &err));
	CHECK_EQ(cfg.n_listen, 1);
	CHECK(config_apply_option(&cfg, "listen=*:1801", "-o", 3, &err));
	CHECK_EQ(cfg.n_listen, 3);
	CHECK_STR(cfg.listen[2].text, "[::]:1801");
	CHECK(!config_apply_option(&cfg, "threads=lots", "-o", 4, &err));
	CHECK(strstr(err.message, "-o:4: threads:") != NULL);
}

TEST(config_missing_file)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	CHECK(config_load_file(&cfg, "/nonexistent/kmsd.conf", true, &err));
	CHECK(!config_load_file(&cfg, "/nonexistent/kmsd.conf", false, &err));
	CHECK(strstr(err.message, "/nonexistent/kmsd.conf") != NULL);
}

TEST(config_hostile_text_is_refused_cleanly)
{
	kmsd_config cfg;
	config_error err;
	char line[2048];
	memset(line, 'a', sizeof line - 1);
	line[sizeof line - 1] = 0;
	CHECK(!load(&cfg, line, &err));
	CHECK(strstr(err.message, "longer than") != NULL);
	config_defaults(&cfg);
	CHECK(!config_load_buffer(&cfg, "nul.conf", "count = real\0x", 14, &err));
	/* too many listen lines */
	char many[4096] = "";
	for (int i = 0; i < 40; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many), "listen = 127.0.0.1:%d\n",
			 2000 + i);
	CHECK(!load(&cfg, many, &err));
	CHECK(strstr(err.message, "too many listen") != NULL);
}

TEST(config_web_settings_and_the_token_rule)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	CHECK(!cfg.web);
	CHECK_EQ(cfg.n_web_listen, 1);
	CHECK_STR(cfg.web_listen[0].text, "127.0.0.1:8688");
	CHECK(config_check(&cfg, &err));

	CHECK(load(&cfg, "web = yes\nweb-listen = [::1]:9000\nweb-listen = 127.0.0.2\n", &err));
	CHECK_EQ(cfg.n_web_listen, 2);
	CHECK_STR(cfg.web_listen[0].text, "[::1]:9000");
	CHECK_STR(cfg.web_listen[1].text, "127.0.0.2:8688");
	CHECK(config_check(&cfg, &err)); /* loopback: no token needed */

	CHECK(load(&cfg, "web = yes\nweb-listen = 0.0.0.0:8688\n", &err));
	CHECK(!config_check(&cfg, &err));
	CHECK(strstr(err.message, "web-listen 0.0.0.0:8688 is not a loopback address") != NULL);
	CHECK(load(&cfg, "web = yes\nweb-listen = 0.0.0.0\nweb-token = 0123456789abcdef\n", &err));
	CHECK(config_check(&cfg, &err));
	/* the rule holds only when the web side is on */
	CHECK(load(&cfg, "web = no\nweb-listen = 10.1.2.3:80\n", &err));
	CHECK(config_check(&cfg, &err));

	expect_error("web-token = short\n", "test.conf:1: web-token: a token needs at least 16");
	expect_error("web-token-file = relative/path\n", "not an absolute path");
	expect_error("web-listen = 1.2.3.4:0\n", "port must be 1 to 65535");
	expect_error("web-listen = ::1\n", "brackets");
	expect_error("web-listen = 127.0.0.1:1\nweb-listen = 127.0.0.1:2\nweb-listen = 127.0.0.1:3\n"
		     "web-listen = 127.0.0.1:4\nweb-listen = 127.0.0.1:5\n",
		     "test.conf:5: web-listen: too many web-listen addresses");
}

TEST(config_store_synchronous_and_broken)
{
	kmsd_config cfg;
	config_error err;
	CHECK(load(&cfg, "", &err));
	CHECK(!cfg.store_sync_full);
	CHECK_EQ(cfg.store_broken, 0); /* move-aside */
	CHECK(config_apply_option(&cfg, "store-synchronous=full", "-o", 1, &err));
	CHECK(cfg.store_sync_full);
	CHECK(config_apply_option(&cfg, "store-broken=run-without", "-o", 2, &err));
	CHECK_EQ(cfg.store_broken, 1);
	CHECK(config_apply_option(&cfg, "store-broken=exit", "-o", 3, &err));
	CHECK_EQ(cfg.store_broken, 2);
	CHECK(!config_apply_option(&cfg, "store-synchronous=extra", "-o", 4, &err));
	CHECK(strstr(err.message, "is not normal or full") != NULL);
	CHECK(!config_apply_option(&cfg, "store-broken=ignore", "-o", 5, &err));
	CHECK(strstr(err.message, "is not move-aside, run-without or exit") != NULL);
	config_free(&cfg);
}

TEST(config_byte_order_mark_is_skipped)
{
	kmsd_config cfg;
	config_error err;
	CHECK(load(&cfg, "\xEF\xBB\xBF" "count = real\n", &err));
	CHECK(cfg.count_real);
	/* only at the start of the file */
	expect_error("count = real\n\xEF\xBB\xBF" "lcid = 1033\n", "test.conf:2:");
}

TEST(config_repeated_keys)
{
	kmsd_config cfg;
	config_error err;
	/* a single setting twice: an error naming both lines */
	expect_error("count = real\n# later\ncount = always\n",
		     "test.conf:3: count: also set on line 1");
	/* list lines add up; the same line twice is a warning naming both */
	CHECK(load(&cfg, "listen = 127.0.0.1:1688\nlisten = 127.0.0.2:1688\n"
			 "listen = 127.0.0.1:1688\n", &err));
	CHECK_EQ(cfg.n_listen, 2);
	CHECK(strstr(err.warnings, "test.conf:3: listen: the same line as line 1") != NULL);
	CHECK(load(&cfg, "allow = 10.0.0.0/8\nallow = 10.1.0.0/16\n", &err));
	CHECK_STR(err.warnings, "");
	/* the command line overrides the file: not a repeat */
	CHECK(load(&cfg, "count = real\n", &err));
	CHECK(config_apply_option(&cfg, "count=always", "-o", 1, &err));
	CHECK(!cfg.count_real);
}

TEST(config_listen_log_and_secret_settings)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	CHECK(!cfg.listen_failure_stop && !cfg.listen_freebind);
	CHECK(load(&cfg, "listen-failure = stop\nlisten-freebind = yes\nlog-facility = local3\n"
			 "store-password-file = credential:store-password\n"
			 "web-token-file = credential:web-token\n"
			 "dns-tsig-secret-file = /etc/kmsd/tsig.secret\n", &err));
	CHECK(cfg.listen_failure_stop && cfg.listen_freebind);
	CHECK_EQ(cfg.log_facility, 19 << 3); /* LOG_LOCAL3 */
	CHECK_STR(cfg.store_password_file, "credential:store-password");
	CHECK_STR(cfg.web_token_file, "credential:web-token");
	expect_error("listen-failure = maybe\n", "not warn or stop");
	expect_error("log-facility = kern\n", "not daemon, user, auth or local0");
	expect_error("web-token-file = token\n", "not an absolute path or credential:NAME");
	expect_error("store-password-file = credential:a/b\n", "one file name");
	expect_error("dns-tsig-secret-file = credential:\n", "one file name");
}

TEST(config_flood_limits_and_web_timeout)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	/* on by default, at values no real client meets */
	CHECK_EQ(cfg.rate_limit, 100);
	CHECK_EQ(cfg.max_per_address, 64);
	CHECK_EQ(cfg.max_per_prefix, 1024);
	CHECK_EQ(cfg.web_timeout, 20);
	static const char text[] = "max-connections-per-address = 0\n"
				   "max-connections-per-prefix = 300\n"
				   "rate-limit = 0\nweb-timeout = 2m\n";
	CHECK(config_load_buffer(&cfg, "t.conf", text, sizeof text - 1, &err));
	CHECK_EQ(cfg.max_per_address, 0);
	CHECK_EQ(cfg.max_per_prefix, 300);
	CHECK_EQ(cfg.rate_limit, 0);
	CHECK_EQ(cfg.web_timeout, 120);
	static const char bad[] = "max-connections-per-prefix = -1\n";
	CHECK(!config_load_buffer(&cfg, "t.conf", bad, sizeof bad - 1, &err));
	CHECK(strstr(err.message, "t.conf:1: max-connections-per-prefix") != NULL);
	static const char zero[] = "web-timeout = 0\n";
	CHECK(!config_load_buffer(&cfg, "t.conf", zero, sizeof zero - 1, &err));
}

/* What each row of the settings table promises: a unique name, a help
 * line, a default that parses, bounds that hold and words that read back. */
TEST(config_table_rows_are_whole)
{
	kmsd_config cfg;
	config_error err;
	char option[400], dumped[16384];
	CHECK(config_n_settings > 50);
	for (size_t i = 0; i < config_n_settings; i++) {
		const config_setting *row = &config_settings[i];
		CHECK(row->help && row->help[0]);
		CHECK(config_setting_find(row->name) == row); /* no name twice */
		CHECK(row->type != SETTING_SPECIAL || (row->parse && row->dump));
		config_defaults(&cfg);
		if (row->def && !(row->flags & SETTING_LIST)) {
			snprintf(option, sizeof option, "%s=%s", row->name, row->def);
			if (!config_apply_option(&cfg, option, "-o", 1, &err))
				printf("  %s: %s\n", option, err.message);
			CHECK(config_apply_option(&cfg, option, "-o", 1, &err));
		}
		if (row->type == SETTING_INTEGER || row->type == SETTING_DURATION) {
			snprintf(option, sizeof option, "%s=%lld%s", row->name, row->max + 1,
				 row->type == SETTING_DURATION ? "s" : "");
			CHECK(!config_apply_option(&cfg, option, "-o", 7, &err));
			snprintf(option, sizeof option, "-o:7: %s: ", row->name);
			CHECK(strstr(err.message, option) == err.message);
			CHECK(strstr(err.message, "out of range") != NULL);
		}
		for (size_t w = 0; row->type == SETTING_ENUM && w < row->n_words; w++) {
			snprintf(option, sizeof option, "%s=%s", row->name, row->words[w].word);
			CHECK(config_apply_option(&cfg, option, "-o", 1, &err));
			FILE *f = fmemopen(dumped, sizeof dumped, "w");
			config_dump(&cfg, f);
			fclose(f);
			snprintf(option, sizeof option, "\n%s = %s\n", row->name, row->words[w].word);
			CHECK(strstr(dumped, option) != NULL);
		}
	}
}

/* -t -v prints a valid kmsd.conf that means what was read. */
TEST(config_dump_reads_back_every_setting)
{
	static const char text[] =
		"listen = 127.0.0.1:1700\nlisten-failure = stop\nlisten-freebind = yes\n"
		"epid = office2013 03612-00206-568-381813-03-1033-17763.0000-2652018\n"
		"hwid = 0011223344556677\nlcid = 2052\nhost-build = 17763\n"
		"activation-interval = 2h\nrenewal-interval = 3d\ncount = real\n"
		"count-window = 7d\nactivity-retention = 60d\nserve = Office 2019\n"
		"refuse-retail = yes\nrefuse-preview = on\nproduct-data = /tmp/p.xml\n"
		"client-time-check = true\nmax-time-skew = 1h\nmax-n-policy = 50\nndr64 = no\n"
		"btfn = off\nallow = 10.0.0.0/8\ndeny = 10.66.0.0/16\nrate-limit = 7\n"
		"max-connections = 5\nmax-connections-per-address = 3\n"
		"max-connections-per-prefix = 9\nidle-timeout = 5m\n"
		"max-requests-per-connection = 4\nthreads = 3\nlog = syslog\nlog-level = debug\n"
		"log-facility = local3\nuser = nobody\ngroup = nogroup\nallow-root = yes\n"
		"pidfile = /run/kmsd.pid\nforeground = yes\nstore = none\n"
		"store-synchronous = full\nstore-broken = exit\n"
		"store-password-file = /etc/pw\nweb = yes\nweb-listen = [::1]:9000\n"
		"web-token-file = /etc/tok\nweb-timeout = 2m\ndns-publish = on\n"
		"dns-zone = example.com\ndns-port = 1700\ndns-tsig-algorithm = hmac-md5\n";
	kmsd_config cfg, again;
	config_error err;
	char a[16384] = "", b[16384] = "";
	CHECK(load(&cfg, text, &err));
	FILE *fa = fmemopen(a, sizeof a, "w");
	config_dump(&cfg, fa);
	fclose(fa);
	if (!load(&again, a, &err))
		printf("  %s\n", err.message);
	CHECK(load(&again, a, &err));
	FILE *fb = fmemopen(b, sizeof b, "w");
	config_dump(&again, fb);
	fclose(fb);
	CHECK_STR(a, b);
	CHECK(memcmp(&cfg.dns, &again.dns, sizeof cfg.dns) == 0);
	CHECK(strstr(a, "\nactivation-interval = 120m\nrenewal-interval = 4320m\n") != NULL);
	CHECK(strstr(a, "\nlog-facility = local3\n") != NULL);
	CHECK(strstr(a, "\nlisten-freebind = yes\n") != NULL);
	CHECK(strstr(a, "\nepid = 0ff1ce15-a989-479d-af46-f275c6370663 ") != NULL);
}

TEST(config_restart_changes_names_what_a_reload_keeps)
{
	kmsd_config running, next;
	config_error err;
	char names[256];
	CHECK(load(&running, "threads = 2\nstore = none\nlog-level = info\n", &err));
	CHECK(load(&next, "threads = 2\nstore = none\nlog-level = debug\n", &err));
	CHECK_EQ(config_restart_changes(&running, &next, names, sizeof names), 0);
	CHECK_STR(names, "");
	CHECK(load(&next, "threads = 4\nstore = sqlite:/tmp/x.db\nuser = nobody\n", &err));
	CHECK_EQ(config_restart_changes(&running, &next, names, sizeof names), 3);
	CHECK_STR(names, "threads, user, store");
}
