/* The TSIG secret file rules of dns-publish. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "dns/dns_update.h"

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

TEST(dns_secret_file_must_be_private_base64)
{
	char dir[4096], path[4200], secret[DNS_SECRET_MAX], err[512];
	CHECK(test_temp_dir(dir, sizeof dir));
	snprintf(path, sizeof path, "%s/secret", dir);

	write_file(path, "  c2VjcmV0IHNlY3JldCBzZWNyZXQ=\n", 0600);
	CHECK(dns_secret_load(path, secret, sizeof secret, err, sizeof err));
	CHECK_STR(secret, "c2VjcmV0IHNlY3JldCBzZWNyZXQ=");
	write_file(path, "c2VjcmV0IHNlY3JldCBzZWNyZXQ=\n", 0400);
	CHECK(dns_secret_load(path, secret, sizeof secret, err, sizeof err));

	static const mode_t loose[] = { 0640, 0604, 0660, 0620, 0602 };
	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		write_file(path, "c2VjcmV0\n", loose[i]);
		CHECK(!dns_secret_load(path, secret, sizeof secret, err, sizeof err));
		CHECK(strstr(err, "group or others may read or write it") != NULL);
	}
	static const char *const bad[] = { "", "\n", "not base64!\n", "c2VjcmV0=a\n", "abc\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(path, bad[i], 0600);
		CHECK(!dns_secret_load(path, secret, sizeof secret, err, sizeof err));
		CHECK(strstr(err, "not a base64 secret") != NULL);
	}
	CHECK(!dns_secret_load(dir, secret, sizeof secret, err, sizeof err));
	CHECK(strstr(err, "not a regular file") != NULL || strstr(err, "group or others") != NULL);
}

TEST(dns_srv_records_compare_names_without_case)
{
	dns_srv a = { .zone = "example.com", .ttl = 60, .priority = 1, .weight = 2, .port = 1688,
		      .target = "KMS1.example.com" };
	dns_srv b = a;
	snprintf(b.target, sizeof b.target, "kms1.EXAMPLE.com");
	CHECK(dns_srv_equal(&a, &b));
	b.port = 1689;
	CHECK(!dns_srv_equal(&a, &b));
}
