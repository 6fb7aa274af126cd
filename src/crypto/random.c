/* Random bytes from the kernel. getrandom(2) blocks only until the pool is
 * initialised at boot, and never fails for small requests after that. */
#include "crypto/crypto.h"

#include <errno.h>
#include <sys/random.h>

bool random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}
