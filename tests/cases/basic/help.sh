#!/usr/bin/env bash
# --help works on the tool and on every command: exit 0, usage on stdout.
# Unknown commands and a mount without arguments fail cleanly.
. "$(dirname "$0")/../../lib.sh"

step "clonedrive --help"
top=$("$CD_BIN" --help) || die "clonedrive --help exited $?"
echo "$top"
for cmd in mount unmount; do
	grep -qw -- "$cmd" <<<"$top" || die "clonedrive --help does not list $cmd"
done

step "clonedrive mount --help"
h=$("$CD_BIN" mount --help) || die "clonedrive mount --help exited $?"
echo "$h"
for opt in --cache-dir --poll-interval --upload-delay --pid-file --log-file \
	--foreground --trace --debug --cache-max --min-free --no-hydrate-for \
	--clone; do
	grep -q -- "$opt" <<<"$h" || die "mount --help does not document $opt"
done

step "clonedrive unmount --help"
h=$("$CD_BIN" unmount --help) || die "clonedrive unmount --help exited $?"
echo "$h"
for opt in --force --timeout; do
	grep -q -- "$opt" <<<"$h" || die "unmount --help does not document $opt"
done

# Every other command the top-level help lists has a --help of its own.
for cmd in status sync free pin unpin hydrate cp; do
	grep -qw -- "$cmd" <<<"$top" || continue
	step "clonedrive $cmd --help"
	h=$("$CD_BIN" "$cmd" --help) || die "clonedrive $cmd --help exited $?"
	[ -n "$h" ] || die "clonedrive $cmd --help printed nothing on stdout"
done

step "bad usage fails, without crashing"
# bad_usage ARGS...: must exit non-zero, but not from a signal.
bad_usage()
{
	local rc=0
	"$CD_BIN" "$@" || rc=$?
	if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then
		die "clonedrive $*: exit $rc"
	fi
}
bad_usage no-such-command
bad_usage mount
bad_usage mount "$R"
! is_mounted "$M" || die "something got mounted"
