#!/usr/bin/env bash
# A mount that fails says why on the terminal, not only in the log, and
# leaves no cache directory behind: neither the default one nor one given
# that it had to make. A cache directory that was there before stays, with
# what is in it; so does the log, which has the cause too.
. "$(dirname "$0")/../../lib.sh"

export XDG_CACHE_HOME=$T/xdg-cache XDG_STATE_HOME=$T/xdg-state
echo hello >"$T/file"

# fails WHAT ARGS...: clonedrive mount ARGS must fail, saying WHAT on the
# terminal, with nothing mounted at $M.
fails()
{
	local what=$1 rc=0
	shift
	echo "+ $CD_BIN mount $*"
	timeout 60 "$CD_BIN" mount "$@" >"$T/mount.out" 2>&1 || rc=$?
	cat "$T/mount.out"
	[ $rc -ne 0 ] || { cd_adopt "$M"; die "the mount succeeded: $*"; }
	! is_mounted "$M" || { cd_track_mount "$M"; die "$M mounted after a failure"; }
	grep -qF -- "$what" "$T/mount.out" ||
		die "the terminal does not say why ('$what'): $(cat "$T/mount.out")"
}

step "a bad bucket name: the cause on the terminal, no default cache dir"
fails "is not a bucket name" s3://x "$M"
[ ! -e "$XDG_CACHE_HOME" ] || die "left behind: $(find "$XDG_CACHE_HOME")"
log=$(find "$XDG_STATE_HOME" -name '*.log')
[ -n "$log" ] || die "no log"
grep -q "is not a bucket name" "$log" || die "the log does not say why"

step "a remote that is a file: the same"
fails "is not a directory" "$T/file" "$M"
[ ! -e "$XDG_CACHE_HOME" ] || die "left behind: $(find "$XDG_CACHE_HOME")"

step "in the foreground: the same"
fails "is not a directory" -f "$T/file" "$M"
[ ! -e "$XDG_CACHE_HOME" ] || die "left behind: $(find "$XDG_CACHE_HOME")"

step "--cache-dir that had to be made: removed up to what was there"
fails "is not a directory" --cache-dir "$T/new/deep/cache" "$T/file" "$M"
[ ! -e "$T/new" ] || die "left behind: $(find "$T/new")"

step "--cache-dir that was there: kept, with what is in it"
mkdir "$T/cache"
echo mine >"$T/cache/keep"
fails "is not a directory" --cache-dir "$T/cache" "$T/file" "$M"
assert_eq "$(cat "$T/cache/keep")" mine "a file of the cache dir that was there"

step "a refused mountpoint leaves no cache dir either"
echo x >"$M/x"
fails "is not empty" "$R" "$M"
[ ! -e "$XDG_CACHE_HOME" ] || die "left behind: $(find "$XDG_CACHE_HOME")"
rm "$M/x"

step "the same mount, right, works"
cd_mount "$R" "$M"
