/* libFuzzer target: kmsd.conf text, and each line as a -o option. */
#include <stdlib.h>
#include <string.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kmsd_config cfg;
	config_error err;
	config_defaults(&cfg);
	config_load_buffer(&cfg, "fuzz.conf", (const char *)data, size, &err);
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	config_defaults(&cfg);
	config_apply_option(&cfg, text, "-o", 1, &err);
	free(text);
	return 0;
}
