#!/usr/bin/env bash
#
# tests/conformance/build.sh OUTDIR: builds the third-party conformance tools
# kept beside this script as source archives (see README.md here):
#
#	OUTDIR/bin/fsx, OUTDIR/bin/fsstress	xfstests' ltp/ exercisers
#	OUTDIR/pjdfstest/pjdfstest		pjdfstest's helper, with its
#	OUTDIR/pjdfstest/tests/*/*.t		TAP files (run with prove)
#
# A no-op when OUTDIR already holds a build of the same archives and of this
# script; callers that run in parallel wait for each other (flock on
# OUTDIR/.lock). Needs only Debian's packages, which scripts/deps.sh
# installs; says which are missing otherwise. About 20 s on 2 cores.
#
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: tests/conformance/build.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

stamp=$(cat "$here"/pjdfstest-*.tar.gz "$here"/xfstests-*.tar.xz "$0" |
	sha256sum | cut -c1-16)
built()
{
	[ "$(cat "$out/.stamp" 2>/dev/null)" = "$stamp" ] &&
		[ -x "$out/bin/fsx" ] && [ -x "$out/bin/fsstress" ] &&
		[ -x "$out/pjdfstest/pjdfstest" ]
}
built && exit 0

exec 9>>"$out/.lock"
flock 9
built && exit 0

# The packages of scripts/deps.sh these builds need.
need="gcc make autoconf automake libtool libtool-bin pkg-config xz-utils
	xfslibs-dev libacl1-dev libattr1-dev libaio-dev uuid-dev liburing-dev
	libcap-dev libgdbm-dev libgdbm-compat-dev"
missing=()
for p in $need; do
	dpkg -s "$p" 2>/dev/null | grep -qx 'Status: install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "conformance/build.sh: missing packages: ${missing[*]}" >&2
	echo "conformance/build.sh: run scripts/deps.sh (as root)" >&2
	exit 2
fi

echo "conformance/build.sh: building fsx, fsstress and pjdfstest in $out"
rm -rf "$out/pjdfstest" "$out/src" "$out/bin" "$out/.stamp"
mkdir -p "$out/src" "$out/bin"

tar -xzf "$here"/pjdfstest-*.tar.gz -C "$out"
if ! (cd "$out/pjdfstest" && autoreconf -ifs && ./configure &&
	make -j2 pjdfstest) >"$out/pjdfstest-build.log" 2>&1; then
	tail -n 20 "$out/pjdfstest-build.log" >&2
	echo "conformance/build.sh: pjdfstest did not build" \
		"($out/pjdfstest-build.log)" >&2
	exit 1
fi
# Its tests switch to other uids (65534 and others), which must reach them.
chmod -R a+rX "$out/pjdfstest"

# Of xfstests, only what ltp/fsx and ltp/fsstress need: its configure, the
# headers and libtest.
tar -xJf "$here"/xfstests-*.tar.xz -C "$out/src"
# One line added to fsx: FSX_BLKSIZE, when set, stands for the file's
# st_blksize, which decides how fsx draws clone, dedupe and exchange ranges
# (random numbers drawn even when they are off). fsx-check.py replays a
# run of the drive (1 MiB blocks) on a local disk (4 KiB) with it, to get
# the same operations.
sed -i 's/^\tblock_size = statbuf.st_blksize;$/&\n\tif (getenv("FSX_BLKSIZE")) block_size = atoi(getenv("FSX_BLKSIZE"));/' \
	"$out/src/xfstests/ltp/fsx.c"
grep -q FSX_BLKSIZE "$out/src/xfstests/ltp/fsx.c" || {
	echo "conformance/build.sh: could not add FSX_BLKSIZE to fsx.c" >&2
	exit 1
}
if ! (cd "$out/src/xfstests" && make configure &&
	make include/builddefs && make -j2 include lib &&
	make -C ltp -j2 fsx fsstress) >"$out/xfstests-build.log" 2>&1; then
	tail -n 20 "$out/xfstests-build.log" >&2
	echo "conformance/build.sh: fsx and fsstress did not build" \
		"($out/xfstests-build.log)" >&2
	exit 1
fi
for t in fsx fsstress; do
	b=$out/src/xfstests/ltp/$t
	# libtool leaves a wrapper script when it links a shared libtest
	if [ -f "$out/src/xfstests/ltp/.libs/$t" ] && ! head -c 4 "$b" | grep -q ELF; then
		b=$out/src/xfstests/ltp/.libs/$t
	fi
	install -m 0755 "$b" "$out/bin/$t"
done
{
	for a in "$here"/*.tar.*; do
		echo "${a##*/} $(sha256sum <"$a" | cut -d' ' -f1)"
	done
} >"$out/VERSIONS"
echo "$stamp" >"$out/.stamp"
echo "conformance/build.sh: built in $out"
