/* qr.c — QR code to SVG. See qr.h. */
#include "invite/qr.h"

#include <errno.h>
#include <string.h>

#include <qrencode.h>

/* libqrencode: bit 0 of each data byte is 1 for a dark module
 * (qrencode.h, "QRcode class"). */
static int qr_dark(const QRcode *q, int x, int y)
{
	return q->data[(size_t)y * (size_t)q->width + (size_t)x] & 1;
}

/* One rect per horizontal run of dark modules in row y: "M x y h n v1 h-n z". */
static ks_err qr_row(const QRcode *q, int y, ks_buf *out)
{
	int x = 0;
	while (x < q->width) {
		if (!qr_dark(q, x, y)) {
			x++;
			continue;
		}
		int start = x;
		while (x < q->width && qr_dark(q, x, y))
			x++;
		int run = x - start;
		ks_err rc = buf_printf(out, "M%d %dh%dv1h-%dz", start + QR_QUIET_ZONE,
		                       y + QR_QUIET_ZONE, run, run);
		if (rc)
			return rc;
	}
	return KS_OK;
}

static ks_err qr_render(const QRcode *q, const char *text, ks_buf *out)
{
	int w = q->width + 2 * QR_QUIET_ZONE;
	ks_err rc = buf_printf(out,
	                       "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	                       "shape-rendering=\"crispEdges\" role=\"img\"><title>",
	                       w, w);
	if (!rc)
		rc = buf_html(out, text);
	if (!rc)
		rc = buf_printf(out, "</title><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
		                     "<path fill=\"#000\" d=\"", w, w);
	for (int y = 0; !rc && y < q->width; y++)
		rc = qr_row(q, y, out);
	if (!rc)
		rc = buf_puts(out, "\"/></svg>\n");
	return rc;
}

static ks_err qr_errno(int err)
{
	switch (err) {
	case ENOMEM: return KS_ERR_NOMEM;
	case ERANGE: return KS_ERR_RANGE;  /* beyond version 40 */
	default: return KS_ERR_INVALID;
	}
}

ks_err qr_svg(const char *text, ks_buf *out)
{
	if (text == NULL || text[0] == '\0')
		return KS_ERR_INVALID;
	if (strlen(text) > QR_TEXT_MAX)
		return KS_ERR_RANGE;
	errno = 0;
	/* version 0 = smallest that fits; casesensitive = 1. */
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return qr_errno(errno);
	size_t mark = out->len;
	ks_err rc = qr_render(q, text, out);
	QRcode_free(q);
	if (rc) {
		out->len = mark;
		if (out->data)
			out->data[mark] = '\0';
	}
	return rc;
}
