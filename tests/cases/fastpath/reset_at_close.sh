#!/usr/bin/env bash
# A change on the remote that waits for the last close on the fast path
# (a reader holds the file) reaches the kernel at that close: its size
# and bytes are the new version's at once, not what the kernel cached
# of the old one (attr-timeout is long), and a read never returns bytes
# past the new end. A writer that opens and closes it meanwhile, writing
# nothing, changes none of that.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

random_file "$R/f" 3000000
cd_mount "$R" "$M" --clone off --poll-interval 1h
need_fast_path "$M"
cat "$M/f" >/dev/null
assert_eq "$(state_of "$M/f")" hydrated "after a full read"

step "a reader on the fast path; the remote changes"
exec 5<"$M/f"
fast_open "$M/f" || die "not on the fast path: $(fastpath_of "$M/f")"
random_file "$T/new" 2000000
cp "$T/new" "$R/f.tmp"
mv "$R/f.tmp" "$R/f"
cd_refresh "$M"
wait_for 20 grep -q "while open on the fast path" "$T/daemon.log"
assert_eq "$(stat -c %s "$M/f")" 3000000 "size while it is open"

step "a writer opens and closes it, writing nothing"
exec 6<>"$M/f"
exec 6>&-

step "the reader closes: the kernel has the new version"
exec 5<&-
wait_for 10 test "$(fastpath_of "$M/f")" = "not open"
# the daemon tells the kernel from its notice thread: a moment at most
wait_for 5 test "$(stat -c %s "$M/f")" = 2000000
cmp "$M/f" "$T/new" || die "the first read after the close is not the new version"

step "and after a remount"
cd_unmount "$M"
cd_mount "$R" "$M" --clone off --poll-interval 1h
assert_eq "$(stat -c %s "$M/f")" 2000000 "size after a remount"
cmp "$M/f" "$T/new" || die "the file is not the remote's version"
