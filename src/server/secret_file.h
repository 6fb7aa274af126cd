/* Secret files (web-token-file, dns-tsig-secret-file, store-password-file).
 *
 * A setting names either an absolute path or credential:NAME, a file that
 * systemd's LoadCredential= put in $CREDENTIALS_DIRECTORY. A secret file
 * must be a regular file that neither group nor others may access, owned
 * by the user who reads it (root reads any). */
#ifndef KMSD_SERVER_SECRET_FILE_H
#define KMSD_SERVER_SECRET_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SECRET_CREDENTIAL "credential:"

/* The syntax alone, for the parser: why is WHY_LEN long. */
bool secret_value_ok(const char *value, char *why, size_t why_len);

/* The file a value names; false when a credential is named and systemd
 * gave none. */
bool secret_path(const char *setting, const char *value, char *path, size_t cap, char *err,
		 size_t err_len);

/* Everything but the content: exists, regular, mode, owner. */
bool secret_check(const char *setting, const char *value, uid_t reader, char *err,
		  size_t err_len);

/* The first line, without its line end. */
bool secret_read(const char *setting, const char *value, char *out, size_t cap, char *err,
		 size_t err_len);

#endif
