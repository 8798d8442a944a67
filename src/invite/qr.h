/* qr.h — a QR code for a survey link, as an SVG image.
 *
 * Owner: src/invite/qr.c, on libqrencode (fukuchi.org/works/qrencode).
 * Pure apart from allocation: no I/O. Used for printed QR codes of
 * touchpoint open links (counter, receipt, poster) and in invitations.
 */
#ifndef KS_INVITE_QR_H
#define KS_INVITE_QR_H

#include "core/buf.h"
#include "core/error.h"

#define QR_TEXT_MAX 1000  /* bytes of text; a URL longer than this is a bug */
#define QR_QUIET_ZONE 4   /* modules of white border (ISO/IEC 18004 requires 4) */

/* Append to out a standalone SVG image (starting with "<svg", no XML
 * declaration, so it can be inlined in HTML) of text encoded as a QR code:
 * error-correction level M (about 15% of the symbol restorable), 8-bit mode,
 * case-sensitive, the smallest version that fits. The image is
 * viewBox="0 0 W W" with W = symbol width + 2 * QR_QUIET_ZONE, one unit per
 * module; a white background rect, then a single black <path> of merged
 * horizontal runs, shape-rendering="crispEdges" and a <title> for screen
 * readers (the text, HTML-escaped). No width/height: it scales to its box.
 *
 * text must be non-empty and at most QR_TEXT_MAX bytes: KS_ERR_INVALID /
 * KS_ERR_RANGE otherwise. KS_ERR_TOOBIG when out's cap is reached,
 * KS_ERR_NOMEM on allocation failure. On error out is left as it was.
 * out must be initialised (buf_init) and stays owned by the caller. */
ks_err qr_svg(const char *text, ks_buf *out);

#endif
