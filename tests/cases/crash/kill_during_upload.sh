#!/usr/bin/env bash
# SIGKILL while a 200 MiB file is being uploaded: the remote never holds a
# partial file; after a remount the upload resumes and the remote file ends
# byte-identical.
. "$(dirname "$0")/../../lib.sh"

cd_mount "$R" "$M" --upload-delay 0
step "write 200 MiB"
head -c 200M /dev/urandom | tee "$T/src" >"$M/big"

step "kill -9 once the upload runs"
deadline=$((SECONDS + 60))
while :; do
	s=$(state_of "$M/big")
	case $s in
	uploading) break ;;
	dirty) ;;
	hydrated) skip "the upload finished before it could be interrupted" ;;
	*) die "state $s before the upload was seen running" ;;
	esac
	[ $SECONDS -lt $deadline ] || die "upload not started within 60s"
done
cd_kill9
if [ -e "$R/big" ]; then
	cmp "$R/big" "$T/src" || die "the remote holds a partial file"
	echo "note: the upload had completed before the kill"
fi

step "remount: the upload resumes"
cd_mount "$R" "$M" --upload-delay 0
assert_file_eq "$M/big" "$T/src"
cd_sync "$M" 120
assert_file_eq "$R/big" "$T/src"
assert_eq "$(stat_of "$M" uploads_pending)" 0 "uploads_pending"
