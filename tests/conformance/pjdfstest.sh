#!/usr/bin/env bash
#
# tests/conformance/pjdfstest.sh [CLONEDRIVE]: pjdfstest (POSIX syscall
# assertions) on a fresh mount of an empty remote; prints the failed
# assertions, one a line, and last
#
#	pjdfstest: F of N assertions failed (K of M files)
#
# As root (the tests switch uids; the mount gets -o allow_other).
# CLONEDRIVE defaults to build/clonedrive. The remote is a new local
# directory unless PJD_REMOTE names one (s3://BUCKET/PREFIX, empty), with
# PJD_MOUNT_ARGS added to the mount's arguments (--endpoint URL). By
# default the three exhaustive permutation files (chown/00.t,
# rename/09.t, rename/10.t: two thirds of all assertions) are left out;
# PJD_ALL=1 runs them too. PJD_DIRS="open rename" picks syscall
# directories. PJD_KNOWN="dir/NN.t ..." names files whose failures are
# known and said why where it is set: they are counted apart, and do not
# fail the run. Then clonedrive sync must succeed: every change reached the
# remote. Exit 0 when nothing failed, 1 otherwise, 2 on setup errors.
#
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath -- "${1:-$here/../../build/clonedrive}")
conf=${CD_CONFORMANCE_DIR:-$here/../../build/conformance}
[ "$(id -u)" -eq 0 ] || { echo "pjdfstest.sh: run as root" >&2; exit 2; }
"$here/build.sh" "$conf" || exit 2
conf=$(cd "$conf" && pwd)
tests=$conf/pjdfstest/tests

t=$(mktemp -d "${TMPDIR:-/tmp}/cd-pjd.XXXXXXXX")
chmod 0755 "$t"
mkdir -p "$t/remote" "$t/mnt"
cleanup()
{
	"$bin" unmount --force "$t/mnt" >/dev/null 2>&1 ||
		fusermount3 -u -z "$t/mnt" 2>/dev/null
	rm -rf --one-file-system "$t"
}
trap cleanup EXIT
# shellcheck disable=SC2086	# PJD_MOUNT_ARGS: words
"$bin" mount --cache-dir "$t/cache" --log-file "$t/daemon.log" \
	-o allow_other ${PJD_MOUNT_ARGS:-} "${PJD_REMOTE:-$t/remote}" \
	"$t/mnt" || exit 2
mkdir "$t/mnt/pjd" && chmod 0755 "$t/mnt/pjd"

files=()
for d in ${PJD_DIRS:-$(cd "$tests" && ls -d -- */ | tr -d /)}; do
	for f in "$tests/$d"/*.t; do
		case ${f#"$tests"/} in
		chown/00.t|rename/09.t|rename/10.t)
			[ "${PJD_ALL:-0}" = 1 ] || continue ;;
		esac
		files+=("$f")
	done
done
echo "pjdfstest.sh: ${#files[@]} files on $t/mnt ($bin)"
(cd "$t/mnt/pjd" && timeout -k 10 900 prove -v -j 4 "${files[@]}") \
	>"$t/prove.log" 2>&1
awk -v tests="$tests/" -v known=" ${PJD_KNOWN:-} " '
	/^\/.*\.t \.\./ { f = $1; sub(tests, "", f) }
	/^ok / { n++ }
	/^not ok / && !/# *TODO/ {
		n++
		if (index(known, " " f " ")) {
			kn++; knf[f] = 1; print "known, " f ": " $0
		} else {
			bad++; badf[f] = 1; print f ": " $0
		}
	}
	END {
		for (k in badf) kf++
		for (k in knf) kk++
		printf "pjdfstest: %d of %d assertions failed (%d files)", bad,
			n, kf
		if (kn)
			printf "; %d more in %d files of PJD_KNOWN", kn, kk
		printf "\n"
		exit bad > 0
	}' "$t/prove.log"
rc=$?
grep -E '^(Files=|Result:)' "$t/prove.log"
# every change reached the remote: none was given up
if ! timeout 300 "$bin" sync "$t/mnt"; then
	echo "pjdfstest: clonedrive sync failed after the run (daemon log:" \
		"$(grep -cE ' (warn|error):' "$t/daemon.log") warnings)"
	grep -E ' (warn|error):' "$t/daemon.log" | tail -n 20
	rc=1
fi
exit $rc
