/* fuzz_csv.c — the CSV export's key cells (api_csv_field in
 * src/api/api_metrics.c, static there: this harness includes that file, and
 * fuzz.mk leaves its object out of the link). The figures beside the keys
 * are numbers written by metrics_csv_fields; the keys are names and labels
 * that users typed (teams, cities, segments).
 *
 * Input: the text of one key cell.
 * Oracles (RFC 4180 and OWASP "CSV Injection"): the field read back by an
 * RFC 4180 reader is the text, with a leading ' exactly when the text
 * starts with = + - @, tab or CR; an unquoted field holds no comma,
 * quote, CR, LF or tab; and no field read back starts a formula.
 */
#include "api/api_metrics.c"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	ks_buf b;
	buf_init(&b, 1u << 20);
	if (api_csv_field(&b, s) != KS_OK)
		fz_fail("api_csv_field failed");
	/* Read the field back. */
	ks_buf got;
	buf_init(&got, 1u << 20);
	const char *p = b.data ? b.data : "", *end = p + b.len;
	if (p < end && *p == '"') {
		for (p++; p < end; p++) {
			if (*p == '"') {
				if (p + 1 < end && p[1] == '"') {
					buf_append(&got, "\"", 1);
					p++;
					continue;
				}
				break;
			}
			buf_append(&got, p, 1);
		}
		if (p != end - 1)
			fz_fail("quoted field %.*s does not end with its closing quote", (int)b.len, b.data);
	} else {
		for (; p < end; p++) {
			if (strchr(",\"\r\n\t", *p))
				fz_fail("unquoted field holds 0x%02x", (unsigned char)*p);
			buf_append(&got, p, 1);
		}
	}
	bool danger = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
	size_t off = danger ? 1 : 0;
	if (danger && (got.len == 0 || got.data[0] != '\''))
		fz_fail("%.40s kept without its leading '", s);
	if (got.len != strlen(s) + off || (got.len > off && memcmp(got.data + off, s, got.len - off) != 0))
		fz_fail("field %.*s does not read back as %.40s", (int)b.len, b.data, s);
	if (got.len && strchr("=+-@\t\r", got.data[0]))
		fz_fail("field starts a formula: %.40s", s);
	buf_free(&got);
	buf_free(&b);
	free(s);
	return 0;
}
