#!/usr/bin/env bash
# Each open that does not get the kernel's fast path says why, as Windows
# filters veto BypassIO with a reason: a file not all here (partially
# hydrated), a program under the hydration policy, an open while the file
# is open in cached mode, a new file (created by that open), a writer of an
# empty file the clone filter checks, the trace filter, --passthrough off,
# a writer while the cache has little room left.
# Each reason is produced on purpose and read back from
# user.clonedrive.fastpath, clonedrive status and the stats.
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/lib.sh"
need_root

# veto_is FILE REASON: FILE's only open is cached, for REASON.
veto_is()
{
	assert_eq "$(fastpath_of "$1")" "cached: $2" "the open of $1"
	grep -qF "open: cached: $2" <<<"$("$CD_BIN" status "$1")" ||
		die "status of $1 does not say: cached: $2"
}

# counted MNT SLUG: the stats count the reason SLUG at least once.
counted()
{
	local n
	n=$(stat_of "$1" "fastpath_veto.$2") || die "no stats line for $2"
	[ "$n" -ge 1 ] || die "fastpath_veto.$2=$n"
}

random_file "$R/big" 4000000
random_file "$R/small" 100000
cd_mount "$R" "$M" --no-hydrate-for python3
need_fast_path "$M"

step "partially hydrated: a placeholder opened"
exec 5<"$M/big"
veto_is "$M/big" "partially hydrated"
exec 5<&-
counted "$M" partially_hydrated

step "in cached mode: a program under the policy holds it, another opens it"
cat "$M/small" >/dev/null
# python3 itself opens it: the policy knows a program by its own name
python3 -c 'import sys, time; f = open(sys.argv[1]); time.sleep(60)' \
	"$M/small" &
holder=$!
# fastpath_has FILE LINE: one of FILE's opens is LINE
fastpath_has() { grep -qxF "$2" <<<"$(fastpath_of "$1")"; }
wait_for 10 fastpath_has "$M/small" "cached: program under a hydration policy"
exec 6<"$M/small"
fastpath_has "$M/small" "cached: open in cached mode" ||
	die "second open: $(fastpath_of "$M/small")"
exec 6<&-
kill "$holder"
wait "$holder" 2>/dev/null || true
counted "$M" program_under_a_hydration_policy
counted "$M" open_in_cached_mode
step "once the cached open is gone, the next one is fast"
wait_for 10 fastpath_has "$M/small" "not open"
exec 6<"$M/small"
assert_eq "$(fastpath_of "$M/small")" passthrough "after the cached open"
exec 6<&-

step "a new file: created by the open; then a writer of it, empty: clone check"
exec 7>"$M/new"
veto_is "$M/new" "new file (created by this open)"
exec 8>>"$M/new"
fastpath_has "$M/new" "cached: clone check pending (new file)" ||
	die "writer: $(fastpath_of "$M/new")"
exec 7>&- 8>&-
counted "$M" new_file_created_by_this_open
counted "$M" clone_check_pending_new_file
assert_eq "$(stat_of "$M" fastpath_vetoes)" 6 "vetoes counted"
cd_unmount "$M"

step "--trace: the trace filter vetoes every open"
cd_mount "$R" "$M" --trace
cat "$M/small" >/dev/null
exec 5<"$M/small"
veto_is "$M/small" "trace filter on"
exec 5<&-
counted "$M" trace_filter_on
grep -q "trace: fastpath ino=[0-9]* pid=[0-9]*: vetoed: trace filter on" \
	"$T/daemon.log" || die "--trace logs no veto"
cd_unmount "$M"

step "--passthrough off"
cd_mount "$R" "$M" -o passthrough=off
exec 5<"$M/small"
veto_is "$M/small" "passthrough off"
exec 5<&-
counted "$M" passthrough_off
assert_eq "$(stat_of "$M" fastpath_opens)" 0 "fast opens with it off"
cd_unmount "$M"

step "cache near its limit: a writer goes through the drive, a reader not"
# the kernel writes a fast writer's bytes with no admission: with less
# than 1 GiB of room under --cache-max, writers are kept in cached mode
cd_mount "$R" "$M" --cache-max 512M
cat "$M/small" >/dev/null
exec 5<>"$M/small"
veto_is "$M/small" "cache near its limit"
exec 5<&-
counted "$M" cache_near_its_limit
exec 5<"$M/small"
assert_eq "$(fastpath_of "$M/small")" passthrough "a reader then"
exec 5<&-
printf 'abc' | dd of="$M/small" conv=notrunc status=none
cd_sync "$M"
assert_eq "$(head -c 3 "$R/small")" abc "a cached writer's bytes uploaded"
