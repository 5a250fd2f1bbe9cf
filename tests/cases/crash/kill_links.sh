#!/usr/bin/env bash
# Crashes around hard links lose no name and no data: a link killed right
# after its commit is there after a restart, with its remote op; an
# unlink of one name killed before its commit leaves both names; a link
# done on the remote and killed before the journal knew is done again,
# harmlessly; one killed between its link under a temp name and the
# rename leaves no temp name once the link is done again. The remote ends
# with every name, hard links of one file.
. "$(dirname "$0")/../../lib.sh"
need_root

gone() { ! pid_alive "$pid"; }

cd_mount "$R" "$M" --upload-delay 1h
printf 'written here\n' >"$M/a"	# dirty: its upload an hour away
cp "$M/a" "$T/want"
cd_unmount "$M"

step "the daemon dies right after the link committed"
CLONEDRIVE_TEST_CRASH_AT=journal-commit cd_mount "$R" "$M" --upload-delay 1h
pid=$(cd_pid "$M")
ln "$M/a" "$M/b" 2>/dev/null || true
wait_for 10 gone
grep -q "journal-commit" "$T/daemon.log" || die "the crash point was not reached"
cd_drop_dead "$M"
cd_mount "$R" "$M" --upload-delay 1h
assert_eq "$(stat -c %h "$M/b")" 2 "nlink of b after the crash"
assert_eq "$(stat -c %i "$M/b")" "$(stat -c %i "$M/a")" "inode of b"
assert_file_eq "$M/b" "$T/want"
cd_unmount "$M"

step "the daemon dies inside the unlink of one name"
CLONEDRIVE_TEST_CRASH_AT=delete-uncommitted cd_mount "$R" "$M" \
	--upload-delay 1h
pid=$(cd_pid "$M")
rm "$M/a" 2>/dev/null && die "the unlink returned"
wait_for 10 gone
cd_drop_dead "$M"
cd_mount "$R" "$M" --upload-delay 1h
assert_eq "$(stat -c %h "$M/a")" 2 "nlink of a after the crash"
assert_file_eq "$M/a" "$T/want"
assert_file_eq "$M/b" "$T/want"
cd_unmount "$M"

step "the daemon dies after a link reached the remote, before it was noted"
CLONEDRIVE_TEST_CRASH_AT=journal-done cd_mount "$R" "$M"
pid=$(cd_pid "$M")
ln "$M/a" "$M/c"
setfattr -n user.clonedrive.sync -v 30 "$M" 2>/dev/null || true
wait_for 30 gone
grep -q "journal-done" "$T/daemon.log" || die "the crash point was not reached"
cd_drop_dead "$M"
cd_mount "$R" "$M"
cd_sync "$M"
for f in a b c; do
	assert_file_eq "$R/$f" "$T/want"
	assert_eq "$(stat -c %i "$R/$f")" "$(stat -c %i "$R/a")" \
		"inode of $f on the remote"
done
assert_eq "$(stat -c %h "$M/c")" 3 "nlink of c"

step "a write through the second name reaches both on the remote"
echo more >>"$M/b"
cat "$T/want" - <<<more >"$T/want2"
cd_sync "$M"
for f in a b c; do
	assert_file_eq "$R/$f" "$T/want2"
done
cd_unmount "$M"

step "the daemon dies between the link under its temp name and the rename"
CLONEDRIVE_TEST_CRASH_AT=link-tmp cd_mount "$R" "$M"
pid=$(cd_pid "$M")
ln "$M/a" "$M/d" 2>/dev/null || true	# its remote op may come first
setfattr -n user.clonedrive.sync -v 30 "$M" 2>/dev/null || true
wait_for 30 gone
grep -q "link-tmp" "$T/daemon.log" || die "the crash point was not reached"
cd_drop_dead "$M"
cd_mount "$R" "$M"
cd_sync "$M"
left=$(find "$R" -name '.clonedrive-tmp.*')
[ -z "$left" ] || die "temp names left on the remote: $left"
for f in a b c d; do
	assert_eq "$(stat -c %h "$R/$f")" 4 "nlink of $f on the remote"
done
assert_eq "$(stat -c %h "$M/d")" 4 "nlink of d"
cd_unmount "$M"
