/* Reading KmsDataBase.xml: the one parser of the product data, used by
 * tools/gen-products at build time (to write the table compiled in) and
 * by kmsd and kmsc at run time (product-data = PATH, --product-data).
 *
 * Every entry is validated: unusable ones are skipped with a warning, and
 * every KMS counted id is given a CSVLK an ePID can be built from. Reading
 * fails only when the XML cannot be parsed or a table the host cannot work
 * without ends up empty. A pure function of the bytes given (libxml2 reads
 * them from memory, never from the network). */
#ifndef KMSD_KMS_PRODUCT_DATA_H
#define KMSD_KMS_PRODUCT_DATA_H

#include <stddef.h>

#include "kms/products.h"

typedef struct kms_product_data kms_product_data;

/* Called with each warning (one line, no newline). */
typedef void (*kms_product_warn_fn)(void *ctx, const char *message);

/* Parse and validate `len` bytes of XML. NULL with a message in err when
 * the data is unusable. */
kms_product_data *kms_product_data_read(const char *xml, size_t len, kms_product_warn_fn warn,
					void *ctx, char *err, size_t err_len);

/* The table read; valid until kms_product_data_free. */
const kms_products *kms_product_data_table(const kms_product_data *d);
unsigned kms_product_data_warnings(const kms_product_data *d);

void kms_product_data_free(kms_product_data *d);

#endif
