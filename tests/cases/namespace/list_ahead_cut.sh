#!/usr/bin/env bash
# A first listing applies a large directory a batch at a time. One cut
# after a batch (the ahead worker stopped by an unmount, a remote error,
# a crash) leaves the directory not yet listed, with those names in: the
# next first listing of it takes them as they are and brings in the rest,
# where it failed on the names already there and the directory could no
# longer be listed at all.
. "$(dirname "$0")/../../lib.sh"

mkdir "$R/big"
(cd "$R/big" && seq -f 'f%04g' 1 1200 | xargs touch)

# every full batch of a listing waits 3 s first
CLONEDRIVE_TEST_PAUSE_AT=list-batch:3000 cd_mount "$R" "$M" --poll-interval 1h

pauses() { grep -c "test: pause at list-batch (big)" "$T/daemon.log" || true; }
paused() { test "$(pauses)" -ge "$1"; }

step "the root's listing queues big; the ahead worker lists it"
assert_eq "$(ls "$M")" big "root"
# the first batch applied, the worker paused before the second
wait_for 20 paused 2

step "unmounted while the worker lists big"
cd_unmount "$M"

step "remounted: big lists whole"
cd_mount "$R" "$M" --poll-interval 1h
n=$(ls "$M/big" | wc -l) || die "big cannot be listed"
assert_eq "$n" 1200 "names in big"
test -e "$M/big/f1200" || die "f1200 is missing"
test -e "$M/big/f0001" || die "f0001 is missing"
