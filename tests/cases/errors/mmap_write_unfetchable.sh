#!/usr/bin/env bash
# An mmap write into pages the kernel still caches of a file whose local
# data was freed, while the remote is away: the page goes back to the
# daemon as a write that needs the old bytes, which cannot be fetched,
# and msync says EIO. The bytes were not stored; the mount must not go on
# showing them from the kernel's page cache (before, it did while the
# remote was away, and for a while after: a check of the mount and the
# remote then found the mount with bytes the remote never got).
. "$(dirname "$0")/../../lib.sh"
need_root

random_file "$R/f" 14675
cd_mount "$R" "$M" --upload-delay 0
cat "$M/f" >/dev/null			# hydrated, and in the page cache
"$CD_BIN" free "$M/f" >/dev/null || die "free failed"

step "the remote away, an mmap write and msync: EIO"
mv "$R" "$R.away"
rc=0
/usr/bin/python3 - "$M/f" <<'PY' || rc=$?
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
mm = mmap.mmap(fd, 14675 - 12288, offset=12288)
mm[13699 - 12288:13699 - 12288 + 64] = b"\xab" * 64
try:
    mm.flush()
except OSError as e:
    sys.exit(3 if e.errno == errno.EIO else 4)
sys.exit(0)
PY
assert_eq "$rc" 3 "exit of the mmap writer (3: msync said EIO)"

step "a read there, the remote still away: EIO or the old bytes, not those"
old=$(od -An -tx1 -j 13699 -N 64 "$R.away/f" | tr -d ' \n')
not_new() {
	local got
	got=$(od -An -tx1 -j 13699 -N 64 "$M/f" 2>/dev/null | tr -d ' \n') ||
		return 0			# EIO: cannot be fetched
	[ "$got" = "$old" ]
}
wait_for 3 not_new

step "the remote back: the mount and the remote agree"
mv "$R.away" "$R"
cmp "$M/f" "$R/f" || die "the mount shows bytes msync failed to store"
cd_sync "$M"
assert_file_eq "$M/f" "$R/f"
