#!/usr/bin/env bash
# getxattr security.capability gives ENODATA ("No such attribute"), never EIO,
# on placeholders, local files, directories and the root; writes (for which
# the kernel asks for it) work.
. "$(dirname "$0")/../../lib.sh"

echo data >"$R/placeholder"
mkdir "$R/d"
cd_mount "$R" "$M"
echo new >"$M/created"

for f in "$M/placeholder" "$M/created" "$M/d" "$M"; do
	assert_fails "No such attribute" getfattr -n security.capability "$f"
	python3 - "$f" <<'PY'
import errno, os, sys
try:
    os.getxattr(sys.argv[1], "security.capability")
except OSError as e:
    if e.errno != errno.ENODATA:
        sys.exit(f"{sys.argv[1]}: getxattr security.capability: {e}")
else:
    sys.exit(f"{sys.argv[1]}: getxattr security.capability succeeded")
PY
done

step "writes work"
echo more >>"$M/placeholder"
cd_sync "$M"
assert_eq "$(cat "$R/placeholder")" "data
more" "remote content after append"
