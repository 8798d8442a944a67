/* fuzz_util.h — helpers shared by the libFuzzer harnesses (fuzz/fuzz_*.c).
 *
 * Header-only on purpose: each harness is one translation unit linked
 * against the product's objects (fuzz/fuzz.mk), and nothing here is product
 * code. See fuzz/README.md for what each harness covers and how to run it.
 *
 * An oracle that fails calls fz_fail(): it prints what went wrong and
 * aborts, which libFuzzer reports as a crash and saves the input.
 */
#ifndef KS_FUZZ_UTIL_H
#define KS_FUZZ_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

__attribute__((format(printf, 1, 2), noreturn, unused)) static void fz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("\nfuzz oracle failed: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* The input as a NUL-terminated copy (owned by the caller: free). An
 * embedded NUL ends the C string early, as it would for the product. */
__attribute__((unused)) static char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Cut the next field off *p (up to sep, which becomes NUL) and return it;
 * at the end of the text every further field is "". */
__attribute__((unused)) static char *fz_field(char **p, char sep)
{
	char *f = *p;
	char *end = strchr(f, sep);
	if (end == NULL) {
		*p = f + strlen(f);
		return f;
	}
	*end = '\0';
	*p = end + 1;
	return f;
}

/* Consume one byte of *data as a number (0 when empty). */
__attribute__((unused)) static unsigned fz_byte(const uint8_t **data, size_t *size)
{
	if (*size == 0)
		return 0;
	unsigned b = **data;
	(*data)++;
	(*size)--;
	return b;
}

/* Is s (n bytes) valid UTF-8 (no overlong forms, no surrogates)? */
__attribute__((unused)) static bool fz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (s[i + j] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

#endif
