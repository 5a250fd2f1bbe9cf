#!/usr/bin/env bash
# A directory listed for the first time has its subdirectories listed ahead
# of use, for a local remote two levels down and no further: a walker finds
# them listed, as the remote held them then. Polls still bring the remote's
# later changes into them.
. "$(dirname "$0")/../../lib.sh"

mkdir -p "$R/top/a/b/c" "$R/top/e"
echo 1 >"$R/top/a/fa"
echo 2 >"$R/top/a/b/fb"
echo 3 >"$R/top/a/b/c/fc"
echo 4 >"$R/top/e/fe"
echo 5 >"$R/top/ft"
cd_mount "$R" "$M" --poll-interval 1h
assert_eq "$(stat_of "$M" listed_ahead)" 0 "listed ahead before any listing"

step "the root's listing lists top, a and e ahead"
assert_eq "$(ls "$M")" top "root"
# the root is listed on demand, top one level below it, a and e two
wait_for 10 test "$(stat_of "$M" listed_ahead)" -ge 3

step "what they hold is what the remote held when listed ahead"
rm "$R/top/a/fa" "$R/top/e/fe" "$R/top/ft" "$R/top/a/b/fb"
echo new >"$R/top/a/fnew"
assert_eq "$(ls "$M/top")" "$(printf 'a\ne\nft')" "top, listed ahead"
assert_eq "$(ls "$M/top/a")" "$(printf 'b\nfa')" "a, listed ahead"
assert_eq "$(ls "$M/top/e")" fe "e, listed ahead"
assert_eq "$(stat_of "$M" listed_ahead)" 3 "directories listed ahead"
# three levels below the root's listing: listed when used, and seen as
# it is now
assert_eq "$(ls "$M/top/a/b")" c "b, listed when used"

step "a poll brings the remote's changes into them"
cd_refresh "$M"
wait_for 10 not test -e "$M/top/a/fa"
wait_for 10 test -e "$M/top/a/fnew"
wait_for 10 not test -e "$M/top/e/fe"
wait_for 10 not test -e "$M/top/ft"
assert_eq "$(cat "$M/top/a/fnew")" new "a file that came after"
