#!/bin/sh
# Enforce the layering: a source file under src/LAYER/ may include headers
# of its own layer and of the layers below it, never of one above or
# beside it. Order, bottom up:
#   base crypto rpc kms store {server client} {dns web} kmsd
# src/kmsd/ is the daemon's composition root, the one folder that puts the
# layers together; it is a layer like the others (ranked on top), so no
# file is exempt by its name.
# Then: no include circle, between files or between layers (tsort finds
# any loop in the graph of who includes whom).
set -eu
rank() {
	case "$1" in
	base) echo 0 ;; crypto) echo 1 ;; rpc) echo 2 ;; kms) echo 3 ;;
	store) echo 4 ;; server|client) echo 5 ;; dns|web) echo 6 ;; kmsd) echo 7 ;;
	*) echo 99 ;;
	esac
}
bad=0
edges=$(mktemp)
trap 'rm -f "$edges" "$edges.err"' EXIT
for f in $(find src -name '*.[ch]' | sort); do
	layer=$(echo "$f" | cut -d/ -f2)
	mine=$(rank "$layer")
	if [ "$mine" -eq 99 ]; then
		echo "layering: $f is in src/$layer/, which is no layer" >&2
		bad=1
	fi
	for inc in $(sed -n 's/^#include "\([a-z]*\/[a-z0-9_.]*\)"/\1/p' "$f"); do
		theirs=$(rank "${inc%%/*}")
		if [ "$theirs" -gt "$mine" ] || { [ "$theirs" -eq "$mine" ] && [ "${inc%%/*}" != "$layer" ]; }; then
			echo "layering: $f includes $inc (above or beside $layer/)" >&2
			bad=1
		fi
		# a header's file, or a source file's own header: the graph is
		# of headers, each .c being the leaf that includes them
		case "$f" in *.h) echo "${f#src/} $inc" >>"$edges" ;; esac
	done
done
if ! tsort "$edges" >/dev/null 2>"$edges.err"; then
	echo "layering: include circle among headers:" >&2
	sed 's/^tsort: /  /' "$edges.err" >&2
	bad=1
fi
[ "$bad" -eq 0 ] && echo "layers: ok (no exemption, no include circle)"
exit "$bad"
