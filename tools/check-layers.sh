#!/bin/sh
# Enforce the layering: a source file under src/LAYER/ may include headers
# of its own layer and of the layers below it, never of one above.
# Order, bottom up: base crypto rpc kms store {server client} web.
# A program's main.c is where the layers are put together, so it may
# include any of them.
set -eu
rank() {
	case "$1" in
	base) echo 0 ;; crypto) echo 1 ;; rpc) echo 2 ;; kms) echo 3 ;;
	store) echo 4 ;; server|client) echo 5 ;; web) echo 6 ;; *) echo 99 ;;
	esac
}
bad=0
for f in $(find src -name '*.[ch]'); do
	layer=$(echo "$f" | cut -d/ -f2)
	mine=$(rank "$layer")
	[ "$(basename "$f")" = main.c ] && mine=7
	for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*"/\1/p' "$f"); do
		theirs=$(rank "$inc")
		if [ "$theirs" -gt "$mine" ] || { [ "$theirs" -eq "$mine" ] && [ "$inc" != "$layer" ]; }; then
			echo "layering: $f includes $inc/ (above or beside $layer/)" >&2
			bad=1
		fi
	done
done
[ "$bad" -eq 0 ] && echo "layers: ok"
exit "$bad"
