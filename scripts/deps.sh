#!/usr/bin/env bash
#
# Installs what building and testing clonedrive needs on Debian 12.
# Run as root (or with sudo available). When every package is already
# installed it does nothing, so running it before each test run is cheap.
#
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config
	libfuse3-dev fuse3 libsqlite3-dev sqlite3
	attr python3 strace util-linux e2fsprogs psmisc procps
	clang libclang-rt-14-dev
	libxxhash-dev btrfs-progs xfsprogs rsync
	libcurl4-openssl-dev libexpat1-dev libssl-dev curl openssl
	# S3 tests: a Ceph RADOS Gateway on loopback (tests/s3/server.sh);
	# s3fs for the benchmark and the interop case (s3/s3fs_interop)
	ceph-mon ceph-osd radosgw uuid-runtime s3fs
	# conformance tools built from tests/conformance/ (build.sh): xfstests'
	# fsx and fsstress, pjdfstest (run with perl's prove)
	perl autoconf automake libtool libtool-bin xz-utils uuid-dev xfslibs-dev
	libacl1-dev libattr1-dev libaio-dev liburing-dev libcap-dev
	libgdbm-dev libgdbm-compat-dev
	# tests/cases/programs: real programs run in the mount
	git vim
)

if ! command -v dpkg >/dev/null 2>&1; then
	echo "deps.sh: no dpkg: this script knows Debian 12 only." >&2
	echo "deps.sh: install the equivalents of: ${pkgs[*]}" >&2
	exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
	# dpkg -s also succeeds for removed packages whose config files
	# remain, so look at the status line itself.
	if ! dpkg -s "$p" 2>/dev/null | grep -qx 'Status: install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "deps.sh: installing: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "deps.sh: not root and no sudo; as root run:" >&2
	echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
	exit 1
fi

# env, because sudo drops the caller's environment.
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y --no-install-recommends "${missing[@]}"
