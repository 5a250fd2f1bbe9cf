#!/usr/bin/env bash
# -o ro: files read normally; every change fails with EROFS and the remote
# stays untouched, also through the control socket (clonedrive cp, pin,
# unpin, free) and the xattrs that do the same: the CLI's operations go
# through the filter stack, where the mount's read-only state is kept.
. "$(dirname "$0")/../../lib.sh"

echo data >"$R/f"
mkdir "$R/d"
cd_mount "$R" "$M" -o ro
assert_eq "$(cat "$M/f")" data "content"
assert_fails "Read-only file system" sh -c "echo x >'$M/new'"
assert_fails "Read-only file system" sh -c "echo x >>'$M/f'"
assert_fails "Read-only file system" mkdir "$M/d2"
assert_fails "Read-only file system" rm "$M/f"
assert_fails "Read-only file system" mv "$M/f" "$M/g"
assert_fails "Read-only file system" chmod 600 "$M/f"
assert_fails "Read-only file system" setfattr -n user.x -v 1 "$M/f"
echo copy >"$T/src"
assert_fails "Read-only file system" "$CD_BIN" cp "$T/src" "$M/copied"
assert_fails "No such file" stat "$M/copied"
assert_fails "Read-only file system" "$CD_BIN" pin "$M/f"
assert_fails "Read-only file system" "$CD_BIN" unpin "$M/f"
assert_fails "Read-only file system" "$CD_BIN" free "$M/f"
assert_fails "Read-only file system" setfattr -n user.clonedrive.pin \
	-v pinned "$M/f"
assert_fails "Read-only file system" setfattr -n user.clonedrive.free \
	-v 1 "$M/f"
assert_eq "$(getfattr --only-values -n user.clonedrive.pin "$M/f")" \
	unspecified "pin state"
# reading stays allowed: hydrate fetches, it changes nothing
"$CD_BIN" hydrate "$M/f" | grep -q "all local" || die "hydrate on ro"
cd_unmount "$M"
assert_eq "$(cd "$R" && find . | sort | tr '\n' ' ')" ". ./d ./f " "remote names"
assert_eq "$(cat "$R/f")" data "remote content"
