#!/usr/bin/env bash
# On S3 each name of a file is an object of its own. A new file, not
# uploaded yet, got an extra name, and that name was renamed over an
# uploaded file; the file's first name then went, so the extra name
# became the file's own, and a write queued its upload. The rename
# finds no source on the remote (the file is not there yet): what it
# replaced must go, not stay to be taken for another client's version
# when the upload arrives (a conflict copy, and the old bytes shown).
# (Found by the stress tester, seed 4000406287.)
. "$(dirname "$0")/../../lib.sh"
. "$(dirname "$0")/../namespace/lib.sh"
need_root
s3_bucket

cd_mount "s3://$S3_BUCKET" "$M" --endpoint "$CD_TEST_S3_ENDPOINT" \
	--upload-delay 2s

step "an extra name of a new file renamed over an uploaded one"
rename_unsent_link_over "$M"

assert_eq "$(ls "$M")" t "names in the mount"
assert_eq "$(cat "$M/t")" "$(printf 'data\nmore')" "t in the mount"
assert_eq "$(s3_get t -)" "$(printf 'data\nmore')" "t on S3"
assert_eq "$(s3_ls | tr '\n' ' ')" "t " "keys on S3"
cd_unmount "$M"
