/* product-data = PATH: a KmsDataBase.xml that replaces the product table
 * compiled in, read at start and at every reload with the parser the build
 * uses (kms/product_data.h). */
#ifndef KMSD_SERVER_PRODUCT_FILE_H
#define KMSD_SERVER_PRODUCT_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Make the table of `path` the one in use ("" or NULL: the built-in one).
 * False with a message when the file cannot be read or is not usable
 * product data: the table in use then stays. Reading the same contents
 * again changes nothing. Tables replaced are kept (answers in flight and
 * older settings may point into them): one per distinct file read. */
bool product_file_use(const char *path, char *err, size_t err_len);

#endif
