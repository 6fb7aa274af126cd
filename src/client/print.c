#include "client/client.h"

#include <time.h>

#include "kms/kms.h"

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

void hex_string(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

const char *hresult_text(uint32_t hr)
{
	switch (hr) {
	case 0: return "success";
	case 0x8007000Du: return "the data is invalid";
	case 0xC004F038u: return "the count reported by the KMS host is too low";
	case 0xC004F039u: return "the KMS host did not answer";
	case 0xC004F041u: return "the KMS host is not activated";
	case 0xC004F042u: return "the KMS host cannot activate this product";
	case 0xC004F06Cu: return "the client's time is out of range for the KMS host";
	case 0xC004F074u: return "no KMS host could be contacted";
	case 0x1C010002u: return "nca_op_rng_error: unknown operation";
	case 0x1C010003u: return "nca_unk_if: unknown interface or context";
	case 0x1C01000Bu: return "nca_proto_error: protocol error";
	case 0x000006F7u: return "the stub received bad data";
	}
	return "unknown code";
}

void format_filetime(uint64_t ft, char *out, size_t len)
{
	time_t t = (time_t)kms_unix_from_filetime(ft);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, len, "(invalid time)");
}
