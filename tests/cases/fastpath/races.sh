#!/usr/bin/env bash
# A cache file with an open on the kernel's fast path is never cut under
# it: clonedrive free refuses it and says why; a change on the remote
# leaves the open reading the version it opened (never zeros), and is
# taken at the last close; eviction (--cache-max) passes it by. Its data
# stays whole all along.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

random_file "$R/f" 3000000
random_file "$R/g" 3000000
cp "$R/f" "$T/old"
cd_mount "$R" "$M" --cache-max 4M
need_fast_path "$M"
cat "$M/f" >/dev/null
assert_eq "$(state_of "$M/f")" hydrated "after a full read"

step "free while open on the fast path: refused, with the reason"
exec 5<"$M/f"
fast_open "$M/f" || die "not on the fast path: $(fastpath_of "$M/f")"
rc=0
out=$("$CD_BIN" free "$M/f" 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || die "free of a file open on the fast path succeeded"
grep -q "open on the fast path" <<<"$out" || die "free says no reason"
assert_eq "$(state_of "$M/f")" hydrated "after the refused free"
cmp /proc/self/fd/5 "$T/old" || die "the fast reader's data changed"

step "eviction passes it by"
cat "$M/g" >/dev/null
assert_eq "$(state_of "$M/f")" hydrated "f, open, after g filled the cache"
cmp /proc/self/fd/5 "$T/old" || die "the fast reader's data changed"

step "the remote changes while it is open: read as opened, taken at the close"
random_file "$T/new" 2000000
cp "$T/new" "$R/f.tmp"
mv "$R/f.tmp" "$R/f"
cd_refresh "$M"
wait_for 20 grep -q "while open on the fast path" "$T/daemon.log"
cmp /proc/self/fd/5 "$T/old" || die "the fast reader read a cut or changed file"
exec 5<&-
wait_for 20 cmp -s "$M/f" "$T/new"
assert_eq "$(stat -c %s "$M/f")" 2000000 "size after the close"
step "and a new open of it takes the fast path again, on the new data"
cat "$M/f" >/dev/null
exec 5<"$M/f"
fast_open "$M/f" || die "not on the fast path: $(fastpath_of "$M/f")"
cmp /proc/self/fd/5 "$T/new" || die "the new version read wrong"
exec 5<&-
"$CD_BIN" free "$M/f"
assert_eq "$(state_of "$M/f")" placeholder "free once closed"
