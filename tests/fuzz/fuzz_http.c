/* libFuzzer target: the HTTP API's parameter handling. The input is a
 * query string, split on '&' and '=' as the HTTP library would after
 * decoding; every pair goes through the clients parameters, the since and
 * minutes parsers, and the escapers every answer uses. */
#include <stdlib.h>
#include <string.h>

#include "web/buf.h"
#include "web/params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	web_clients_params p;
	web_param_error err;
	web_clients_params_init(&p);
	char *save = NULL;
	for (char *pair = strtok_r(text, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(pair, '=');
		const char *value = "";
		if (eq) {
			*eq = 0;
			value = eq + 1;
		}
		web_clients_param(&p, pair, value, 1795000000, &err);
		int64_t since;
		int minutes;
		web_parse_since(value, 1795000000, &since);
		web_parse_minutes(value, &minutes);
		buf b;
		buf_init(&b);
		buf_html(&b, value);
		buf_json_string(&b, value);
		buf_label(&b, value);
		buf_url(&b, value);
		buf_free(&b);
	}
	web_clients_params_finish(&p);
	free(text);
	return 0;
}
