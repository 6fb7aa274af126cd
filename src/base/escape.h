/* Text that came from a client, made safe for one line of a log, syslog or
 * a terminal table.
 *
 * The one rule for every client-supplied string (workstation names, ...):
 * printable UTF-8 passes; a backslash and a double quote get a backslash;
 * \n, \r and \t are written as such; every other control character (ESC
 * included), DEL, the C1 controls and each byte that is not part of valid
 * UTF-8 become \xNN. The result never contains a line break or a terminal
 * escape, and a quoted field cannot be closed from inside. JSON, CSV and
 * HTML output keep their own escaping. */
#ifndef KMSD_BASE_ESCAPE_H
#define KMSD_BASE_ESCAPE_H

#include <stddef.h>

/* Worst case: every byte becomes \xNN. */
#define TEXT_ESCAPED_MAX(n) (4 * (n) + 1)

/* Escape the NUL-terminated `in` into out[cap] (always terminated; cut at
 * a whole escape when it does not fit). Returns the length written. */
size_t text_escape(char *out, size_t cap, const char *in);

#endif
