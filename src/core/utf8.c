/* utf8.c — see utf8.h. */
#include "core/utf8.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

bool utf8_valid(const char *s, size_t n, size_t *bad)
{
	size_t i = 0;
	while (i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
						      (utf8proc_ssize_t)(n - i), &cp);
		if (k <= 0) {
			if (bad)
				*bad = i;
			return false;
		}
		i += (size_t)k;
	}
	return true;
}

bool utf8_text_ok(const char *s, bool no_c1)
{
	size_t n = strlen(s);
	if (!utf8_valid(s, n, NULL))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p < 0x20 && *p != '\t' && *p != '\r' && *p != '\n') || *p == 0x7F)
			return false;
		/* U+0080..U+009F are C2 80..C2 9F: in valid UTF-8 a C2 byte always
		 * starts a character, so p[1] is its second byte */
		if (no_c1 && *p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			return false;
	}
	return true;
}

bool utf8_copy(char *out, size_t n, const char *s)
{
	size_t len = s ? strlen(s) : 0;
	bool cut = len >= n;
	if (cut) {
		len = n - 1;
		/* back off over continuation bytes to the start of the character
		 * that does not fit whole */
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	if (len)
		memcpy(out, s, len);
	out[len] = '\0';
	return cut;
}

void utf8_append(char *out, size_t n, size_t *used, const char *s)
{
	if (*used + 1 >= n)
		return;
	utf8_copy(out + *used, n - *used, s);
	*used += strlen(out + *used);
}

char *utf8_clean(const char *s)
{
	if (s == NULL)
		s = "";
	size_t len = strlen(s), bad = 0;
	if (utf8_valid(s, len, &bad))
		return strdup(s);
	/* at most every byte becomes the 3 bytes of U+FFFD */
	char *out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	size_t o = 0, i = 0;
	while (i < len) {
		if (utf8_valid(s + i, len - i, &bad))
			bad = len - i;
		memcpy(out + o, s + i, bad);
		o += bad;
		i += bad;
		if (i < len) {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
	}
	out[o] = '\0';
	return out;
}
