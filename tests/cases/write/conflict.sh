#!/usr/bin/env bash
# A file changed both here and on the remote (by another client) before
# the local change was uploaded is a conflict: nothing is overwritten and
# nothing is lost. The local version goes up as "NAME (conflict DATE
# TIME).EXT" beside the remote's, which keeps the name; a file created
# here where the remote got one of its own does the same. A file deleted
# on the remote while changed here comes back with the local change; a
# file renamed here before its upload goes up under its new name only. An
# editor's save (a new file renamed over the old) over another client's
# change is a conflict the same way.
. "$(dirname "$0")/../../lib.sh"

# the single conflict copy beside NAME.EXT in DIR (dies unless just one)
conflict_of()
{
	local dir=$1 stem=$2 ext=$3 found=()
	shopt -s nullglob
	found=("$dir/$stem (conflict "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]" "[0-9][0-9][0-9][0-9][0-9][0-9]")$ext")
	shopt -u nullglob
	[ ${#found[@]} -eq 1 ] || die "want one conflict copy of $stem$ext in $dir, have: $(ls "$dir")"
	printf '%s\n' "${found[0]}"
}

# dies if DIR holds a conflict copy of a name starting with STEM
no_conflict_of()
{
	local found=()
	shopt -s nullglob
	found=("$1/$2 (conflict"*)
	shopt -u nullglob
	[ ${#found[@]} -eq 0 ] || die "a conflict copy was left: ${found[*]}"
}

echo v1 >"$R/a.txt"
echo v1 >"$R/gone.txt"
echo v1 >"$R/moved.txt"
echo v1 >"$R/saved.txt"
mkdir "$R/d"
echo v1 >"$R/d/.profile"
# no poll during the test: the remote's changes are only met by uploads
cd_mount "$R" "$M" --poll-interval 1h
assert_eq "$(cat "$M/a.txt" "$M/gone.txt" "$M/moved.txt" "$M/d/.profile" \
	"$M/saved.txt")" "$(printf 'v1\nv1\nv1\nv1\nv1')" "first read"

step "changed on both sides"
echo "theirs, longer" >"$R/a.txt"
echo mine >"$M/a.txt"
cd_sync "$M"
c=$(conflict_of "$R" a .txt)
assert_eq "$(cat "$c")" mine "the local version, under the conflict name"
assert_eq "$(cat "$R/a.txt")" "theirs, longer" "the remote's version keeps the name"
assert_eq "$(cat "$M/a.txt")" "theirs, longer" "the mount shows the remote's under the name"
assert_eq "$(cat "$M/${c##*/}")" mine "and the local one beside it"
assert_eq "$(stat_of "$M" conflicts)" 1 "conflicts counted"
grep -q 'a.txt: changed on the remote while it was changed here' "$T/daemon.log" ||
	die "the conflict is not in the log"

step "the conflict copy is an ordinary file after"
echo "mine, again" >"$M/${c##*/}"
cd_sync "$M"
assert_eq "$(cat "$c")" "mine, again" "a conflict copy changed later"
assert_eq "$(stat_of "$M" conflicts)" 1 "no new conflict"

step "created on both sides, no extension kept for a dot file"
echo theirs >"$R/new.bin"
echo theirs >"$R/d/.hidden"
echo mine >"$M/new.bin"
echo mine >"$M/d/.hidden"
cd_sync "$M"
assert_eq "$(cat "$(conflict_of "$R" new .bin)")" mine "new file: local version"
assert_eq "$(cat "$R/new.bin")" theirs "new file: remote's"
assert_eq "$(cat "$(conflict_of "$R/d" .hidden '')")" mine "dot file: local version"
assert_eq "$(cat "$M/d/.hidden")" theirs "dot file: remote's in the mount"

step "deleted on the remote, changed here: the change wins"
rm "$R/gone.txt"
echo mine >"$M/gone.txt"
cd_sync "$M"
assert_eq "$(cat "$R/gone.txt")" mine "recreated"
no_conflict_of "$R" gone

step "renamed here before the upload"
echo theirs >"$R/moved.txt"
echo mine >"$M/moved.txt"
mv "$M/moved.txt" "$M/renamed.txt"
cd_sync "$M"
assert_eq "$(cat "$R/renamed.txt")" mine "the local version under its new name"
assert_eq "$(cat "$R/moved.txt")" theirs "the remote's keeps the old one"
no_conflict_of "$R" moved
cd_refresh "$M"
wait_for 10 test -e "$M/moved.txt"
assert_eq "$(cat "$M/moved.txt")" theirs "the remote's shows after a poll"

step "an editor's save over a change on the remote"
echo theirs >"$R/saved.txt"
echo mine >"$M/.saved.txt.swp"
mv "$M/.saved.txt.swp" "$M/saved.txt"
cd_sync "$M"
c=$(conflict_of "$R" saved .txt)
assert_eq "$(cat "$c")" mine "the saved version, under the conflict name"
assert_eq "$(cat "$R/saved.txt")" theirs "the remote's version keeps the name"
assert_eq "$(cat "$M/saved.txt")" theirs "the mount shows the remote's under the name"
assert_eq "$(cat "$M/${c##*/}")" mine "and the saved one beside it"
conflicts=$(stat_of "$M" conflicts)
echo "mine, saved again" >"$M/.saved.txt.swp"
mv "$M/.saved.txt.swp" "$M/saved.txt"
cd_sync "$M"
assert_eq "$(cat "$R/saved.txt")" "mine, saved again" "a save over the version seen"
assert_eq "$(stat_of "$M" conflicts)" "$conflicts" "no conflict for it"

step "a long name is cut to fit, whole characters"
long=x$(printf 'é%.0s' $(seq 1 120)).txt	# 245 bytes: a cut at 222 splits an é
echo theirs >"$R/$long"
cd_refresh "$M"
wait_for 10 test -e "$M/$long"
cat "$M/$long" >/dev/null
echo "theirs 2" >"$R/$long"
echo mine >"$M/$long"
cd_sync "$M"
c=$(ls "$R" | grep 'conflict' | grep -v '^a \|^new \|^saved ') || die "no conflict copy of the long name"
assert_le "$(printf %s "$c" | wc -c)" 255 "name length"
printf %s "$c" | iconv -f UTF-8 -t UTF-8 >/dev/null || die "a character was cut: $c"
assert_eq "$(cat "$R/$c")" mine "long name: local version"

cd_unmount "$M"
