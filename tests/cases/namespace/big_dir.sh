#!/usr/bin/env bash
# A remote directory of 100,000 entries lists fully, each name once, without
# fetching data, and the daemon's peak RSS stays under 100 MiB.
. "$(dirname "$0")/../../lib.sh"

n=100000
step "create $n files in the remote"
python3 - "$R/big" $n <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.mkdir(d)
for i in range(n):
    os.close(os.open(f"{d}/file-{i:06d}-with-a-longer-name",
                     os.O_CREAT | os.O_WRONLY, 0o644))
PY

cd_mount "$R" "$M"
# entries DIR: what ls -f (unsorted, every entry) lists, less . and ..
# shellcheck disable=SC2010 # plain names; ls -f is the point
entries() { ls -f "$1" | grep -vxE '\.\.?'; }

step "ls -f"
entries "$M/big" | sort >"$T/got"
entries "$R/big" | sort >"$T/want"
assert_eq "$(wc -l <"$T/got")" $n "entries listed"
assert_file_eq "$T/got" "$T/want"
step "ls -f again (from the local store)"
assert_eq "$(entries "$M/big" | wc -l)" $n "entries listed again"
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "fetched_bytes after listing"

step "peak RSS"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$(cd_pid)/status")
echo "VmHWM: $hwm kB"
if is_sanitized; then
	echo "sanitizer build: RSS limit not checked"
else
	assert_le "$hwm" $((100 * 1024)) "daemon peak RSS in kB"
fi
