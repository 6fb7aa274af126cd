/* The TSIG secret file. Whoever holds the secret can rewrite the zone's
 * records, so a file that others may read is refused rather than used. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dns_update.h"
#include "server/secret_file.h"
#include "server/system.h"

static bool is_base64(const char *s, size_t n)
{
	size_t pad = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '=')
			pad++;
		else if (pad || !(isalnum(c) || c == '+' || c == '/'))
			return false;
	}
	return n > 0 && n % 4 == 0 && pad <= 2;
}

bool dns_secret_load(const char *value, char *secret, size_t cap, char *err, size_t err_len)
{
	char path[512];
	if (!secret_path("dns-tsig-secret-file", value, path, sizeof path, err, err_len))
		return false;
	struct stat st;
	char why[300];
	int fd = system_open_regular(path, false, &st, why, sizeof why);
	if (fd < 0) {
		snprintf(err, err_len, "dns-tsig-secret-file %s", why);
		return false;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_len, "dns-tsig-secret-file %s: group or others may read or write "
			 "it (mode %04o); it must be readable only by kmsd's user: chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return false;
	}
	char text[DNS_SECRET_MAX + 2];
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	if (n < 0 || (size_t)n >= sizeof text - 1) {
		snprintf(err, err_len, "dns-tsig-secret-file %s: %s", path,
			 n < 0 ? strerror(errno) : "too long for a TSIG secret");
		return false;
	}
	/* the base64 text, whitespace around it (a final newline) ignored */
	size_t start = 0, end = (size_t)n;
	while (start < end && isspace((unsigned char)text[start]))
		start++;
	while (end > start && isspace((unsigned char)text[end - 1]))
		end--;
	bool ok = is_base64(text + start, end - start) && end - start < cap;
	if (ok) {
		memcpy(secret, text + start, end - start);
		secret[end - start] = 0;
	} else {
		snprintf(err, err_len, "dns-tsig-secret-file %s: not a base64 secret", path);
	}
	explicit_bzero(text, sizeof text);
	return ok;
}
