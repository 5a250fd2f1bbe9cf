#!/usr/bin/env bash
# ls -l, find, stat and du show the remote tree (names, sizes, mtimes, modes)
# without fetching any data: fetched_bytes stays 0, du is 0 per placeholder.
. "$(dirname "$0")/../../lib.sh"

step "remote tree"
mkdir -p "$R/dir/sub" "$R/emptydir"
printf x >"$R/one"
: >"$R/empty"
random_file "$R/dir/five" 5000
random_file "$R/dir/sub/mega" 1M
truncate -s 100M "$R/sparse"
ln -s dir/five "$R/link"
chmod 600 "$R/one"
chmod 755 "$R/dir/five"
chmod 750 "$R/dir/sub"
chmod 700 "$R/emptydir"
touch -d "2001-02-03 04:05:06" "$R/one" "$R/dir/five" "$R/sparse"
touch -h -d "2002-03-04 05:06:07" "$R/link"
touch -d "2003-04-05 06:07:08" "$R/dir/sub" "$R/emptydir"

cd_mount "$R" "$M"

step "same names"
names() { (cd "$1" && find . -mindepth 1 | sort); }
assert_eq "$(names "$M")" "$(names "$R")" "names under the mount"

step "same type, mode, mtime, size (not for directories)"
while IFS= read -r p; do
	if [ -d "$R/$p" ]; then fmt='%F %a %Y'; else fmt='%F %a %Y %s'; fi
	assert_eq "$(stat -c "$fmt" "$M/$p")" "$(stat -c "$fmt" "$R/$p")" \
		"stat -c '$fmt' $p"
done < <(names "$R")
assert_eq "$(readlink "$M/link")" dir/five "readlink"

step "ls -lR, du"
ls -lR "$M" >/dev/null
for f in one dir/five dir/sub/mega sparse; do
	assert_eq "$(stat -c %b "$M/$f")" 0 "st_blocks of placeholder $f"
	assert_eq "$(du -k "$M/$f" | cut -f1)" 0 "du of placeholder $f"
	assert_eq "$(state_of "$M/$f")" placeholder "state of $f"
done
assert_eq "$(stat_of "$M" fetched_bytes)" 0 "fetched_bytes after listing"
