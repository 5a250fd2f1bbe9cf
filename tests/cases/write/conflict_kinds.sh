#!/usr/bin/env bash
# Conflicts the journal meets late, behind a queue: a rename over a file
# that another client changed, when the renamed file was deleted here
# since, must finish (the remote keeps theirs, nothing of ours is left
# there) instead of retrying forever; and a rename or an upload over a
# file that another client replaced by a symlink or a directory keeps
# ours under a conflict name beside theirs, never dropped in silence.
. "$(dirname "$0")/../../lib.sh"

MiB=$((1024 * 1024))
random_file "$T/big" $((8 * MiB))

# conflict_count DIR STEM: how many conflict copies of STEM are in DIR
conflict_count()
{
	local found=()
	shopt -s nullglob
	found=("$1/$2 (conflict "*)
	shopt -u nullglob
	echo ${#found[@]}
}

echo v1 >"$R/f"
echo v1 >"$R/g"
echo v1 >"$R/h"
echo v1 >"$R/u"
CLONEDRIVE_TEST_READ_DELAY_MS=200 cd_mount "$R" "$M" --poll-interval 1h \
	--upload-delay 0
assert_eq "$(cat "$M/f" "$M/g" "$M/h" "$M/u")" "$(printf 'v1\nv1\nv1\nv1')" \
	"first read"

# a slow upload first: everything after waits behind it in the journal
cp "$T/big" "$M/slow"
wait_for 10 state_is "$M/slow" uploading || die "the upload never started"

step "queued: a rename over f, then f deleted; f changed on the remote"
echo theirs >"$R/f"
echo new >"$M/f.tmp"
mv "$M/f.tmp" "$M/f"
rm "$M/f"

step "queued: renames over g and h, an upload of u; replaced on the remote"
rm "$R/g" "$R/u"
ln -s target "$R/g"
ln -s target "$R/u"
rm "$R/h"
mkdir "$R/h"
echo in >"$R/h/x"
echo "new g" >"$M/g.tmp"
mv "$M/g.tmp" "$M/g"
echo "new h" >"$M/h.tmp"
mv "$M/h.tmp" "$M/h"
echo "new u" >"$M/u"

cd_sync "$M"
"$CD_BIN" sync "$M" >/dev/null || die "clonedrive sync failed"

assert_eq "$(cat "$R/f")" theirs "f: the remote keeps theirs"
assert_eq "$(conflict_count "$R" f)" 0 "f: no copy of the deleted file"
for n in g u; do
	[ -L "$R/$n" ] || die "$n: the remote's symlink was replaced"
	assert_eq "$(conflict_count "$R" "$n")" 1 "$n: a conflict copy"
	assert_eq "$(cat "$R/$n (conflict "*)" "new $n" "$n: our version kept"
	assert_eq "$(readlink "$M/$n")" target "$n: the mount shows theirs"
	assert_eq "$(cat "$M/$n (conflict "*)" "new $n" \
		"$n: and ours beside it"
done
[ -d "$R/h" ] && [ "$(cat "$R/h/x")" = in ] ||
	die "h: the remote's directory was touched"
assert_eq "$(conflict_count "$R" h)" 1 "h: a conflict copy"
assert_eq "$(cat "$R/h (conflict "*)" "new h" "h: our version kept"
[ -d "$M/h" ] || die "h: the mount does not show the directory"
if grep -q 'giving up' "$T/daemon.log"; then
	die "an op was given up: $(grep 'giving up' "$T/daemon.log" | head -n 3)"
fi
cd_refresh "$M"
wait_for 10 test -f "$M/f" || die "f: theirs never came back to the mount"
assert_eq "$(cat "$M/f")" theirs "f: the mount shows theirs after a poll"
assert_eq "$(cat "$M/h/x")" in "h: its contents listed"
