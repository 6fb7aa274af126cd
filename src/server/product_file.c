#include "server/product_file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kms/product_data.h"
#include "base/log.h"

#define PRODUCT_FILE_MAX (16u << 20) /* the public file is ~150 KiB */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t loaded_hash;         /* of the file whose table is in use; 0: built-in */
/* every table read, newest first: never freed (see the header) */
static struct kept {
	kms_product_data *data;
	uint64_t hash;
	struct kept *next;
} *kept;

static uint64_t fnv1a(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h | 1; /* never 0, which means the built-in table */
}

static char *read_whole(const char *path, size_t *len, char *err, size_t err_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, err_len, "product-data %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > PRODUCT_FILE_MAX) {
		snprintf(err, err_len, "product-data %s: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 16 MiB" : "not a regular file");
		close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t n = 0;
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf || n != (size_t)st.st_size) {
		snprintf(err, err_len, "product-data %s: cannot read it", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void log_data_warning(void *ctx, const char *message)
{
	log_debug("product-data %s: %s", (const char *)ctx, message);
}

bool product_file_use(const char *path, char *err, size_t err_len)
{
	if (!path || !*path) {
		pthread_mutex_lock(&lock);
		if (loaded_hash)
			log_info("product data: the built-in table again");
		loaded_hash = 0;
		kms_products_use(NULL);
		pthread_mutex_unlock(&lock);
		return true;
	}
	size_t len;
	char *xml = read_whole(path, &len, err, err_len);
	if (!xml)
		return false;
	uint64_t hash = fnv1a(xml, len);
	pthread_mutex_lock(&lock);
	bool ok = true;
	const struct kept *k = kept;
	while (k && k->hash != hash)
		k = k->next;
	if (hash != loaded_hash && k) {
		/* back to a file read before: its table, not one more copy */
		kms_products_use(kms_product_data_table(k->data));
		loaded_hash = hash;
		log_info("product data %s: the table read before", path);
	} else if (hash != loaded_hash) {
		char why[256];
		struct kept *node = malloc(sizeof *node);
		kms_product_data *d = node ? kms_product_data_read(xml, len, log_data_warning,
								   (void *)path, why, sizeof why)
					   : NULL;
		if (!d) {
			snprintf(err, err_len, "product-data %s: %s", path, node ? why : "out of memory");
			free(node);
			ok = false;
		} else {
			*node = (struct kept){ d, hash, kept };
			kept = node;
			const kms_products *t = kms_product_data_table(d);
			/* kept for the rest of the process, see the header */
			kms_products_use(t);
			loaded_hash = hash;
			log_info("product data %s: %zu applications, %zu KMS ids, %zu SKUs, %zu host "
				 "keys (%u entries skipped or corrected: log-level = debug shows them)",
				 path, t->n_apps, t->n_groups, t->n_skus, t->n_csvlks,
				 kms_product_data_warnings(d));
		}
	}
	pthread_mutex_unlock(&lock);
	free(xml);
	return ok;
}
