#!/usr/bin/env bash
# bench/copy_placeholder.sh [BINARY...]: a 256 MiB placeholder copied
# inside the mount by plain cp and by Python's shutil.copyfile, on a
# local-directory remote: bytes fetched, bytes uploaded, what the cache
# holds after the copy and after its upload, and the time until cp
# returns and until the copy is on the remote. As root. One run per
# binary (default build/clonedrive); give two to compare.
set -euo pipefail
SIZE_MB=${SIZE_MB:-256}
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=(build/clonedrive)
T=$(mktemp -d)
M=$T/mnt
cleanup()
{
	fusermount3 -u -z "$M" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

stat_of()
{
	getfattr --absolute-names --only-values -n user.clonedrive.stats "$M" |
		sed -n "s/^$1=//p"
}

now() { date +%s.%N; }

# MiB the cache's files hold (their blocks; not its directories)
cache_mib()
{
	find "$T/cache/data" -type f -printf '%b\n' |
		awk '{ n += $1 } END { printf "%.1f", n * 512 / 1048576 }'
}

echo "| binary | copier | copy (s) | until on the remote (s) | fetched (MiB) | uploaded (MiB) | cache data after copy (MiB) | after upload (MiB) | remote copies |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for bin in "${bins[@]}"; do
	for how in cp shutil; do
		rm -rf "$T/remote" "$T/cache" "$M"
		mkdir -p "$T/remote" "$M"
		head -c $((SIZE_MB << 20)) /dev/urandom >"$T/remote/src"
		"$bin" mount "$T/remote" "$M" --cache-dir "$T/cache" \
			--log-file "$T/log" --upload-delay 0 >/dev/null
		sync
		t0=$(now)
		if [ "$how" = cp ]; then
			cp "$M/src" "$M/dst"
		else
			/usr/bin/python3 -c 'import shutil, sys
shutil.copyfile(sys.argv[1], sys.argv[2])' "$M/src" "$M/dst"
		fi
		t1=$(now)
		after_copy=$(cache_mib)
		setfattr -n user.clonedrive.sync -v 600 "$M"
		t2=$(now)
		after_up=$(cache_mib)
		cmp "$T/remote/src" "$T/remote/dst"
		printf '| %s | %s | %.2f | %.2f | %d | %d | %s | %s | %s |\n' \
			"$bin" "$how" "$(echo "$t1 - $t0" | bc)" \
			"$(echo "$t2 - $t0" | bc)" \
			$(($(stat_of fetched_bytes) >> 20)) \
			$(($(stat_of uploaded_bytes) >> 20)) \
			"$after_copy" "$after_up" "$(stat_of server_copies)"
		"$bin" unmount "$M" >/dev/null
	done
done
