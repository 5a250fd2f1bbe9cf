#!/usr/bin/env bash
# When the remote goes away (its directory renamed away): reading a file not
# yet hydrated fails with EIO, naming the file in the daemon log; hydrated
# files still read correctly; the daemon neither forgets the files nor dies.
. "$(dirname "$0")/../../lib.sh"

random_file "$R/hydrated.bin" 1M
random_file "$R/unhydrated-file.bin" 1M
cp "$R/hydrated.bin" "$T/want"

cd_mount "$R" "$M"
cat "$M/hydrated.bin" >/dev/null
assert_eq "$(state_of "$M/hydrated.bin")" hydrated "state after reading"
ls -l "$M" >/dev/null

step "the remote goes away"
mv "$R" "$T/remote.away"
cd_refresh "$M" || true		# may report the missing remote
# Let a regular poll see the missing remote too, before looking.
sleep 1.5

step "a placeholder: EIO"
assert_fails "Input/output error" timeout 60 cat "$M/unhydrated-file.bin"
grep -F unhydrated-file.bin "$T/daemon.log" ||
	die "the daemon log does not name the file it could not fetch"

step "a hydrated file: still readable"
assert_file_eq "$M/hydrated.bin" "$T/want"
[ -e "$M/unhydrated-file.bin" ] || die "the daemon forgot the files of a missing remote"
pid_alive "$(cd_pid)" || die "the daemon died"
[ ! -e "$R" ] || die "the daemon recreated the missing remote directory $R"
