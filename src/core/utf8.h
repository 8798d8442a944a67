/* utf8.h — checking text for valid UTF-8, one way for every intake.
 *
 * Valid means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing past U+10FFFF — what jansson and the browsers refuse too. The
 * decoding is utf8proc's (utf8proc_iterate), so no intake keeps a decoder
 * of its own. */
#ifndef KS_CORE_UTF8_H
#define KS_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Is s[0..n) valid UTF-8 (NUL counts as a character)? When it is not and
 * bad is not NULL, *bad is the offset of the first byte that does not
 * start a valid character. */
bool utf8_valid(const char *s, size_t n, size_t *bad);

/* Text as a person types it: NUL-terminated valid UTF-8 without control
 * characters other than tab, CR and LF (C0 and DEL); with no_c1 also
 * without U+0080..U+009F, the C1 controls, which print as nothing and in
 * an import mean a byte its encoding does not define. */
bool utf8_text_ok(const char *s, bool no_c1);

/* Cutting text to a buffer without splitting a character: a cut inside
 * one leaves bytes that jansson, cairo, libxlsxwriter and the mail check
 * all refuse, so fixed-size copies of names go through these. */

/* Copy s (NULL = "") into out (n >= 1 bytes), cut at a character boundary
 * when it does not fit. Returns true when it was cut. */
bool utf8_copy(char *out, size_t n, const char *s);
/* Append s to out (n bytes, NUL-terminated, its length *used) as far as it
 * fits, cut at a character boundary; *used is updated. */
void utf8_append(char *out, size_t n, size_t *used, const char *s);
/* A copy of s (NULL = "") in which every byte that does not start a valid
 * UTF-8 character (utf8_valid's rule) is replaced by U+FFFD; NULL when out
 * of memory. The caller frees it. */
char *utf8_clean(const char *s);

#endif
