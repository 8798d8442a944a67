/* csv.h — moved to src/core/csv.h (issue 16): the server reads CSV too.
 * This forwarding header keeps code written against the old path building
 * while the parts of issue 16 land; remove it once nothing includes it. */
#include "core/csv.h"
