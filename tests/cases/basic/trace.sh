#!/usr/bin/env bash
# --trace logs every operation, naming the file it works on.
. "$(dirname "$0")/../../lib.sh"

echo data >"$R/traced-file.txt"
cd_mount "$R" "$M" --trace
cat "$M/traced-file.txt" >/dev/null
wait_for 5 grep -q traced-file.txt "$T/daemon.log"
grep -qi read "$T/daemon.log" || die "no read in the --trace log"
