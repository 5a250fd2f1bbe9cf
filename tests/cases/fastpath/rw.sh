#!/usr/bin/env bash
# Opens of a hydrated file take the kernel's fast path (passthrough), and
# what is done through them (reads, writes, a mapped write, a truncate, an
# append, a size seen by stat while the writer is open) is what the remote
# has after clonedrive sync, byte for byte. The daemon sees no write of
# those bytes (written_bytes stays 0). A later open the fast path is
# denied (a program under the hydration policy) reads the new bytes, not
# pages the kernel cached before.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

random_file "$R/f" 3000000
cd_mount "$R" "$M" --clone off --no-hydrate-for head
need_fast_path "$M"

step "the first read (vetoed: partially hydrated) hydrates, through the page cache"
cmp "$M/f" "$R/f"
assert_eq "$(state_of "$M/f")" hydrated "state after a full read"
grep -q "fastpath_veto.partially_hydrated=1" \
	<<<"$(getfattr --only-values -n user.clonedrive.stats "$M")" ||
	die "the first open's veto is not counted"

step "a reader on the fast path"
exec 5<"$M/f"
assert_eq "$(fastpath_of "$M/f")" passthrough "the open's mode"
grep -q "open: passthrough" <<<"$("$CD_BIN" status "$M/f")" ||
	die "status does not show the open on the fast path"
cmp /proc/self/fd/5 "$R/f" || die "a fast read differs from the remote"
exec 5<&-
assert_eq "$(fastpath_of "$M/f")" "not open" "after the close"

step "writes, a mapped write, a truncate and an append on the fast path"
cp "$R/f" "$T/model"
python3 - "$M/f" "$T/model" <<'PY'
import mmap, os, sys
def apply(path, check_stat):
    fd = os.open(path, os.O_RDWR)
    os.pwrite(fd, b"A" * 5000, 100000)
    os.pwrite(fd, b"B" * 10, 2999995)
    m = mmap.mmap(fd, 0)
    m[4096:4096 + 6] = b"mapped"
    m.flush()
    m.close()
    os.ftruncate(fd, 2500000)
    os.close(fd)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"appended" * 1000)
    if check_stat:
        # the writer is open: stat must see the appended size already
        st = os.stat(path)
        assert st.st_size == 2508000, st.st_size
    os.close(fd)
apply(sys.argv[2], False)
apply(sys.argv[1], True)
PY
assert_eq "$(stat -c %s "$M/f")" 2508000 "size after the close"
cmp "$M/f" "$T/model" || die "the mount differs from the model"
assert_eq "$(stat_of "$M" written_bytes)" 0 \
	"bytes written through the daemon (all went on the fast path)"
[ "$(stat_of "$M" fastpath_opens)" -ge 3 ] ||
	die "fastpath_opens: $(stat_of "$M" fastpath_opens), not at least 3"

step "a cached open after the fast writes reads the new bytes"
head -c 2508000 "$M/f" | cmp - "$T/model" ||
	die "a cached read after fast writes returned stale data"
grep -q "fastpath_veto.program_under_a_hydration_policy=" \
	<<<"$(getfattr --only-values -n user.clonedrive.stats "$M")" ||
	die "the policy's veto is not counted"

step "sync: the remote has it"
cd_sync "$M"
assert_file_eq "$R/f" "$T/model"
assert_eq "$(state_of "$M/f")" hydrated "state after the upload"

step "a writer on the fast path that writes nothing leaves it clean"
uploads=$(stat_of "$M" uploads_done)
exec 5<>"$M/f"
assert_eq "$(state_of "$M/f")" dirty "while a fast writer has it open"
exec 5>&-
assert_eq "$(state_of "$M/f")" hydrated "after a close with no write"
cd_sync "$M"
assert_eq "$(stat_of "$M" uploads_done)" "$uploads" "uploads of it"

step "remounted: the store recorded the size and mtime the kernel wrote"
mtime=$(stat -c %Y "$M/f")
cd_unmount "$M"
cd_mount "$R" "$M" --clone off
assert_eq "$(stat -c %s "$M/f")" 2508000 "size after a remount"
assert_eq "$(stat -c %Y "$M/f")" "$mtime" "mtime after a remount"
cmp "$M/f" "$T/model" || die "the mount differs from the model after a remount"
