#!/usr/bin/env bash
# Files and directories created in the mount reach the remote byte for byte
# (with their modes) after a sync; nothing else appears in the remote.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M"
step "create"
echo "hello world" >"$M/small.txt"
head -c 3M /dev/urandom | tee "$T/big.src" >"$M/big.bin"	# plain writes
random_file "$T/copy.src" 1M
cp "$T/copy.src" "$M/copy.bin"		# whatever path cp takes
: >"$M/empty"
mkdir "$M/newdir"
echo nested >"$M/newdir/nested.txt"
chmod 640 "$M/small.txt"
chmod 750 "$M/newdir"

step "sync"
cd_sync "$M"
assert_eq "$(stat_of "$M" uploads_pending)" 0 "uploads_pending after sync"
assert_eq "$(cat "$R/small.txt")" "hello world" "remote small.txt"
assert_file_eq "$R/big.bin" "$T/big.src"
assert_file_eq "$R/copy.bin" "$T/copy.src"
assert_file_eq "$M/copy.bin" "$T/copy.src"
assert_eq "$(stat -c %s "$R/empty")" 0 "remote size of empty"
assert_eq "$(cat "$R/newdir/nested.txt")" nested "remote nested.txt"
for p in small.txt big.bin empty newdir newdir/nested.txt; do
	assert_eq "$(stat -c '%F %a' "$R/$p")" "$(stat -c '%F %a' "$M/$p")" \
		"remote type and mode of $p"
done

step "the remote holds exactly these names (no temp files left over)"
names() { (cd "$1" && find . -mindepth 1 | sort); }
assert_eq "$(names "$R")" "$(names "$M")" "remote names"

step "states and counters"
assert_eq "$(state_of "$M/big.bin")" hydrated "state of big.bin after upload"
up=$(stat_of "$M" uploaded_bytes)
[ "$up" -ge $((3 * 1024 * 1024 + 12)) ] || die "uploaded_bytes $up too small"
