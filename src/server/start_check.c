#include "server/start_check.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/secret_file.h"
#include "store/store.h"
#include "store/store_uri.h"

/* The uid kmsd will have once started (after dropping to `user`). */
static bool running_uid(const kmsd_config *cfg, uid_t *uid, char *err, size_t err_len)
{
	uid_t euid = geteuid();
	*uid = euid;
	if (!cfg->user[0]) {
		if (euid == 0 && !cfg->allow_root) {
			snprintf(err, err_len, "refusing to run as root: set user = NAME (or "
				 "allow-root = yes)");
			return false;
		}
		return true;
	}
	const struct passwd *pw = getpwnam(cfg->user);
	if (!pw) {
		snprintf(err, err_len, "user = %s: no such user", cfg->user);
		return false;
	}
	/* user = root (or any name for uid 0) would drop nothing */
	if (pw->pw_uid == 0 && euid == 0 && !cfg->allow_root) {
		snprintf(err, err_len, "refusing to run as root: user = %s is root; set an "
			 "unprivileged user (or allow-root = yes)", cfg->user);
		return false;
	}
	/* started as that user already (User= of a unit): nothing to switch */
	if (euid != 0 && pw->pw_uid != euid) {
		snprintf(err, err_len, "user = %s: only root can switch to it (kmsd runs as uid %u)",
			 cfg->user, (unsigned)euid);
		return false;
	}
	*uid = pw->pw_uid;
	return true;
}

bool start_check(const kmsd_config *cfg, bool starting, char *err, size_t err_len)
{
	uid_t uid;
	if (!running_uid(cfg, &uid, err, err_len))
		return false;
	const struct group *gr = cfg->group[0] ? getgrnam(cfg->group) : NULL;
	if (cfg->group[0] && !gr) {
		snprintf(err, err_len, "group = %s: no such group", cfg->group);
		return false;
	}
	if (gr && geteuid() != 0 && gr->gr_gid != getegid()) {
		snprintf(err, err_len, "group = %s: only root can switch to it", cfg->group);
		return false;
	}
	/* the token is read before privileges are dropped, the others after */
	if (starting && cfg->web && cfg->web_token_file[0]) {
		char token[128];
		if (!secret_read("web-token-file", cfg->web_token_file, token, sizeof token, err,
				 err_len))
			return false;
		size_t n = strlen(token);
		explicit_bzero(token, sizeof token);
		if (n < 16) {
			snprintf(err, err_len, "web-token-file %s: the token needs at least 16 characters "
				 "on the first line", cfg->web_token_file);
			return false;
		}
	}
	if (cfg->dns.enabled && cfg->dns.tsig_secret_file[0] &&
	    !secret_check("dns-tsig-secret-file", cfg->dns.tsig_secret_file, uid, err, err_len))
		return false;
	char why[256];
	if (!store_uri_check(cfg->store, why, sizeof why)) {
		snprintf(err, err_len, "store: %s", why);
		return false;
	}
	if (cfg->store_password_file[0]) {
		if (store_spec_kind(cfg->store) != STORE_KIND_SHARED) {
			snprintf(err, err_len, "store-password-file: only a postgresql:// store has a "
				 "password");
			return false;
		}
		if (!secret_check("store-password-file", cfg->store_password_file, uid, err, err_len))
			return false;
	}
	return true;
}
