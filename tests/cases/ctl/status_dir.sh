#!/usr/bin/env bash
# status of a directory describes it as one: what it holds (files,
# directories, symlinks; listed from the remote first if it never was), the
# bytes of its files held locally, its pin state; in text and JSON. A
# directory is not "hydrated", and has no state of a file's.
. "$(dirname "$0")/../../lib.sh"

mkdir -p "$R/d/sub"
random_file "$R/d/big" $((3 * 1024 * 1024))
echo small >"$R/d/small"
ln -s big "$R/d/link"
cd_mount "$R" "$M"

step "a directory never listed"
out=$("$CD_BIN" status "$M/d")
echo "$out"
assert_eq "$out" \
	"d: directory, 2 files, 1 directory, 1 symlink; 0 of 3145734 bytes of its files local, unspecified" \
	"status of a directory"

step "after a read of one file, and a pin of the tree"
head -c 4096 "$M/d/big" >/dev/null
"$CD_BIN" pin --no-progress "$M/d/sub"
"$CD_BIN" status "$M/d"
"$CD_BIN" status --json "$M/d" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["type"] == "directory", s
assert (s["files"], s["directories"], s["symlinks"]) == (2, 1, 1), s
assert s["size"] == 3 * 1024 * 1024 + 6, s
assert 4096 <= s["local_bytes"] < s["size"], s
assert s["pin"] == "unspecified" and s["last_error"] is None, s
assert "state" not in s, s'
out=$("$CD_BIN" status "$M/d/sub")
echo "$out"
assert_eq "$out" \
	"d/sub: directory, 0 files, 0 directories; 0 of 0 bytes of its files local, pinned" \
	"status of an empty pinned directory"
"$CD_BIN" pin --no-progress "$M/d"
out=$("$CD_BIN" status "$M/d/sub")
[[ $out == *", pinned (inherited)" ]] || die "inherited pin not shown: $out"

step "a file is still a file"
"$CD_BIN" status --json "$M/d/small" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["type"] == "file" and s["state"] == "hydrated" and s["size"] == 6, s'
