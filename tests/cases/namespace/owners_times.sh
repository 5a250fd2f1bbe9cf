#!/usr/bin/env bash
# Owners and times as a local disk keeps them (mounted by root, owners
# kept): chown and chgrp stick, a set-group-ID directory gives its group
# (and its bit to subdirectories), utimensat sets atime and mtime apart
# with nanoseconds, past 2038 and before 1970, ctime moves on every
# change, a directory's mtime moves with its entries; after a sync the
# remote has the owners, modes and times, directories' mtimes included,
# and a fresh cache reads them back. --owners mount shows everything as
# the mounting user's and refuses a chown to another owner.
. "$(dirname "$0")/../../lib.sh"
need_root
chmod 0755 "$T"		# other users reach the mount

cd_mount "$R" "$M" -o allow_other
# ns PATH atime|mtime|ctime: the time in nanoseconds (lstat)
ns()
{
	python3 -c 'import os, sys
print(getattr(os.lstat(sys.argv[1]), "st_" + sys.argv[2] + "_ns"))' "$@"
}

step "chown and chgrp of files and directories"
mkdir "$M/d"
echo data >"$M/d/f"
chown 1234:5678 "$M/d"
chown 4321:8765 "$M/d/f"
assert_eq "$(stat -c %u:%g "$M/d")" 1234:5678 "owner of d"
assert_eq "$(stat -c %u:%g "$M/d/f")" 4321:8765 "owner of d/f"
ln -s f "$M/d/l"
chown -h 42:43 "$M/d/l"
assert_eq "$(stat -c %u:%g "$M/d/l")" 42:43 "owner of the symlink"
setpriv --reuid 4321 --regid 8765 --clear-groups touch "$M/d/f" ||
	die "the new owner cannot write its file"

step "a set-group-ID directory gives its group"
mkdir "$M/g"
chgrp 777 "$M/g"
chmod 2775 "$M/g"
touch "$M/g/x"
mkdir "$M/g/sub"
assert_eq "$(stat -c %g "$M/g/x")" 777 "group of a file in g"
assert_eq "$(stat -c %g:%a "$M/g/sub")" 777:2755 "group and mode of g/sub"
setpriv --reuid 99 --regid 99 --clear-groups \
	sh -c ": >'$M/d/nope'" 2>/dev/null &&
	die "another user wrote into a directory it may not"

step "times: atime and mtime apart, nanoseconds, past 2038, before 1970"
touch -m -d @4102444800.123456789 "$M/d/f"	# 2100
touch -a -d @-1000000000.5 "$M/d/f"		# 1938
assert_eq "$(ns "$M/d/f" mtime)" 4102444800123456789 "mtime"
assert_eq "$(ns "$M/d/f" atime)" -1000000000500000000 "atime"
python3 -c 'import os, sys
os.utime(sys.argv[1], ns=(2**33 * 10**9, 1), follow_symlinks=False)' "$M/d/l"
assert_eq "$(ns "$M/d/l" mtime)" 1 "mtime of the symlink"

step "ctime moves on chmod, chown, setxattr, write; a directory's mtime with its entries"
c0=$(ns "$M/d/f" ctime)
chmod 600 "$M/d/f"
c1=$(ns "$M/d/f" ctime)
[ "$c1" -gt "$c0" ] || die "chmod left ctime at $c0"
chown 4321:8766 "$M/d/f"
c2=$(ns "$M/d/f" ctime)
[ "$c2" -gt "$c1" ] || die "chown left ctime at $c1"
setfattr -n user.note -v x "$M/d/f"
c3=$(ns "$M/d/f" ctime)
[ "$c3" -gt "$c2" ] || die "setxattr left ctime at $c2"
m0=$(ns "$M/d" mtime)
echo more >>"$M/d/f"
[ "$(ns "$M/d/f" ctime)" -gt "$c3" ] || die "a write left ctime"
touch "$M/d/new"
m1=$(ns "$M/d" mtime)
[ "$m1" -gt "$m0" ] || die "a new entry left d's mtime at $m0"
mv "$M/d/new" "$M/d/new2"
[ "$(ns "$M/d" mtime)" -gt "$m1" ] || die "a rename left d's mtime"
touch -m -d @1500000000 "$M/d/f"

step "the remote has owners, modes and times, directories' mtimes too"
cd_sync "$M"
assert_eq "$(stat -c %u:%g:%a "$R/d/f")" 4321:8766:600 "remote d/f"
assert_eq "$(stat -c %u:%g:%a "$R/d")" 1234:5678:755 "remote d"
assert_eq "$(stat -c %u:%g "$R/d/l")" 42:43 "remote symlink"
assert_eq "$(stat -c %g:%a "$R/g/sub")" 777:2755 "remote g/sub"
assert_eq "$(ns "$R/d/f" mtime)" 1500000000000000000 "remote mtime of d/f"
for dir in d g g/sub; do
	assert_eq "$(ns "$R/$dir" mtime)" "$(ns "$M/$dir" mtime)" \
		"remote mtime of directory $dir"
done

step "a fresh cache reads them back"
cd_unmount "$M"
rm -rf "$T/cache"
cd_mount "$R" "$M" -o allow_other
assert_eq "$(stat -c %u:%g:%a "$M/d/f")" 4321:8766:600 "d/f, fresh"
assert_eq "$(stat -c %u:%g "$M/d")" 1234:5678 "d, fresh"
assert_eq "$(stat -c %g:%a "$M/g/sub")" 777:2755 "g/sub, fresh"
assert_eq "$(ns "$M/d/f" mtime)" 1500000000000000000 "mtime of d/f, fresh"
cd_unmount "$M"

step "--owners mount: every entry the mounting user's, chown to another EPERM"
cd_mount "$R" "$M" --owners mount --cache-dir "$T/cache2"
assert_eq "$(stat -c %u:%g "$M/d/f")" 0:0 "d/f under --owners mount"
assert_fails "Operation not permitted" chown 5:5 "$M/d/f"
chown 0:0 "$M/d/f" || die "a chown to the mounting user failed"
