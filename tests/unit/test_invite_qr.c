/* test_invite_qr.c — QR code SVG (src/invite/qr.c).
 *
 * The SVG is checked against libqrencode's own matrix: the path is parsed
 * back into modules and compared, module for module, with QRcode.data, so
 * the picture is the symbol a scanner would decode.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>

#include "invite/qr.h"

#define URL "https://example.org/s/abc"

/* Parse the d attribute of the one <path> into a w x w grid (w includes the
 * quiet zone). Returns the number of runs, -1 on anything unexpected. */
static int parse_path(const char *svg, int w, unsigned char *grid)
{
	const char *d = strstr(svg, " d=\"");
	if (d == NULL)
		return -1;
	d += 4;
	int runs = 0;
	while (*d == 'M') {
		int x, y, run, run2, used = 0;
		if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used) != 4 || used == 0)
			return -1;
		if (run != run2 || run <= 0 || y < 0 || y >= w || x < 0 || x + run > w)
			return -1;
		for (int i = 0; i < run; i++)
			grid[y * w + x + i]++;
		d += used;
		runs++;
	}
	return *d == '"' ? runs : -1;
}

static void test_svg_shape(void **state)
{
	(void)state;
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(qr_svg(URL, &b), KS_OK);
	assert_non_null(b.data);
	assert_int_equal(strncmp(b.data, "<svg", 4), 0);
	assert_non_null(strstr(b.data, "xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(b.data, "shape-rendering=\"crispEdges\""));
	assert_non_null(strstr(b.data, "<title>" URL "</title>"));
	assert_non_null(strstr(b.data, "fill=\"#fff\""));
	assert_non_null(strstr(b.data, "<path fill=\"#000\" d=\"M"));
	/* exactly one path */
	const char *p = strstr(b.data, "<path");
	assert_null(strstr(p + 1, "<path"));
	assert_non_null(strstr(b.data, "</svg>"));
	buf_free(&b);
}

/* 25 bytes in 8-bit mode need version 2 at level M (version 1-M holds 14
 * bytes, 2-M 26; ISO/IEC 18004 table 7): 17 + 4 * 2 = 25 modules, plus 2 x 4
 * of quiet zone = 33. */
static void test_svg_matches_symbol(void **state)
{
	(void)state;
	QRcode *q = QRcode_encodeString(URL, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	assert_non_null(q);
	assert_int_equal(q->version, 2);
	assert_int_equal(q->width, 25);

	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(qr_svg(URL, &b), KS_OK);
	int w = q->width + 2 * QR_QUIET_ZONE;
	assert_int_equal(w, 33);
	assert_non_null(strstr(b.data, "viewBox=\"0 0 33 33\""));
	assert_non_null(strstr(b.data, "<rect width=\"33\" height=\"33\""));

	unsigned char *grid = calloc((size_t)w * (size_t)w, 1);
	assert_non_null(grid);
	int runs = parse_path(b.data, w, grid);
	assert_true(runs > 0);
	int dark = 0;
	for (int y = 0; y < w; y++) {
		for (int x = 0; x < w; x++) {
			int sx = x - QR_QUIET_ZONE, sy = y - QR_QUIET_ZONE;
			bool inside = sx >= 0 && sy >= 0 && sx < q->width && sy < q->width;
			int want = inside ? (q->data[sy * q->width + sx] & 1) : 0;
			assert_int_equal(grid[y * w + x], want);  /* also: no module drawn twice */
			dark += want;
		}
	}
	/* Runs are merged: fewer rects than dark modules. */
	assert_true(runs < dark);
	/* The finder pattern's top row: 7 dark modules at the top-left corner. */
	assert_non_null(strstr(b.data, "d=\"M4 4h7v1h-7z"));
	free(grid);
	buf_free(&b);
	QRcode_free(q);
}

static void test_title_escaped_and_appends(void **state)
{
	(void)state;
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(buf_puts(&b, "<p>"), KS_OK);
	assert_int_equal(qr_svg("a<b>&\"c'", &b), KS_OK);
	assert_int_equal(strncmp(b.data, "<p><svg", 7), 0);
	assert_non_null(strstr(b.data, "<title>a&lt;b&gt;&amp;&quot;c&#39;</title>"));
	buf_free(&b);
}

static void test_bad_input(void **state)
{
	(void)state;
	ks_buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(qr_svg("", &b), KS_ERR_INVALID);
	assert_int_equal(qr_svg(NULL, &b), KS_ERR_INVALID);
	assert_int_equal(b.len, 0);

	char big[QR_TEXT_MAX + 2];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';  /* 1001 bytes */
	assert_int_equal(qr_svg(big, &b), KS_ERR_RANGE);
	assert_int_equal(b.len, 0);
	big[QR_TEXT_MAX] = '\0';     /* 1000 bytes fit */
	assert_int_equal(qr_svg(big, &b), KS_OK);
	assert_int_equal(strncmp(b.data, "<svg", 4), 0);
	buf_free(&b);
}

/* A cap too small for the image: KS_ERR_TOOBIG, earlier content kept. */
static void test_cap(void **state)
{
	(void)state;
	ks_buf b;
	buf_init(&b, 300);
	assert_int_equal(buf_puts(&b, "keep"), KS_OK);
	assert_int_equal(qr_svg(URL, &b), KS_ERR_TOOBIG);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "keep");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_shape),
		cmocka_unit_test(test_svg_matches_symbol),
		cmocka_unit_test(test_title_escaped_and_appends),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
