#!/usr/bin/env bash
# A writer on the fast path marks a clean file dirty when it opens, for a
# crash. A chown made just before, whose op the journal came to while the
# writer was open, skipped the remote (the file's upload was to bring
# it), and when the writer closed having written nothing the file was
# clean again: no upload came, the remote kept the old owner, and the
# next poll took that back into the mount. (Found by the stress tester in
# CI.)
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

pending() {
	getfattr --absolute-names --only-values -n user.clonedrive.pending "$M"
}

paused() { grep -q "test: pause at journal-setattr (f)" "$T/daemon.log"; }

random_file "$R/f" 100000
# the journal holds each setattr 2 s before it performs it
CLONEDRIVE_TEST_PAUSE_AT=journal-setattr:2000 cd_mount "$R" "$M" --clone off
need_fast_path "$M"
cat "$M/f" >/dev/null

step "a chown; a writer on the fast path opens before its op is done"
chown 0:1000 "$M/f"
wait_for 10 paused
exec {fd}<>"$M/f"
fast_open "$M/f" || die "the writer is not on the fast path: $(fastpath_of "$M/f")"
wait_for 10 eval '[ -z "$(pending)" ]'	# the op is done with
exec {fd}>&-

step "closed without a write: the remote has the group, and so has the mount"
cd_sync "$M"
assert_eq "$(stat -c %g "$R/f")" 1000 "group on the remote"
cd_sync "$M"	# a poll, the journal empty: the remote's word counts
assert_eq "$(stat -c %g "$M/f")" 1000 "group in the mount"
cd_unmount "$M"
