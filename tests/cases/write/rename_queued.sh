#!/usr/bin/env bash
# A file written, closed and renamed at once (rsync's .NAME.XXXXXX, sed -i's
# sedXXXXXX, an editor's save) while a long upload queue waits reaches the
# remote under its final name, with its bytes: the release that queues its
# upload races the rename, and the upload must follow the rename, never go
# to the temp name after it. Also the poller, which must not take back or
# delete what was just renamed here.
. "$(dirname "$0")/../../lib.sh"

n=1500
is_sanitized && n=400
mkdir -p "$T/src/a/b" "$T/docs"
for ((i = 0; i < n; i++)); do
	echo "file $i" >"$T/src/a/b/f$i.h"
done
for ((i = 0; i < 150; i++)); do
	echo "doc $i" >"$T/docs/d$i.txt"
done
tar -C "$T/src" -cf "$T/src.tar" .

cd_mount "$R" "$M" --poll-interval 1s
mkdir "$M/inc"
tar -C "$M/inc" -xf "$T/src.tar"	# a long queue of uploads
step "rsync -a and sed -i while $n uploads are queued"
rsync -a "$T/docs/" "$M/docs/"
for ((i = 0; i < 20; i++)); do
	sed -i 's/^file/edited/' "$M/inc/a/b/f$i.h"
done
python3 - "$M/docs" <<'PY'
import os, sys, tempfile
d = sys.argv[1]
for i in range(100):
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".save.")
    os.write(fd, b"saved %d\n" % i)
    os.close(fd)
    os.replace(tmp, os.path.join(d, "d%d.txt" % (i % 10)))
PY
"$CD_BIN" sync "$M" >/dev/null
for ((i = 0; i < 10; i++)); do
	echo "saved $((90 + i))" >"$T/docs/d$i.txt"
done
for ((i = 0; i < 20; i++)); do
	sed -i 's/^file/edited/' "$T/src/a/b/f$i.h"
done

check()
{
	local what=$1 dir=$2
	diff -r "$T/docs" "$dir/docs" >"$T/diff" 2>&1 ||
		die "$what: docs differ: $(head -n 5 "$T/diff")"
	diff -r "$T/src" "$dir/inc" >"$T/diff" 2>&1 ||
		die "$what: inc differs: $(head -n 5 "$T/diff")"
}
check remote "$R"
check mount "$M"
sleep 2		# a poll or two: nothing may come back or go
check "mount after polls" "$M"
cd_unmount "$M"
cd_mount "$R" "$M"
check "mount after remount" "$M"
cd_unmount "$M"
