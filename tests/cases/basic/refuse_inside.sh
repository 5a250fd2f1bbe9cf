#!/usr/bin/env bash
# mount refuses, with a message naming the path, a remote or cache dir inside
# the mountpoint and a mountpoint inside the remote (also through a symlink).
. "$(dirname "$0")/../../lib.sh"

# refuse DESC TEXT REMOTE MNT [args...]: the mount must fail, name TEXT, and
# leave nothing mounted.
refuse()
{
	local desc=$1 text=$2 mnt=$4
	shift 2
	step "refuse $desc"
	if cd_try_mount "$@"; then
		die "mount accepted $desc"
	fi
	grep -qF -- "$text" "$T/mount.out" ||
		die "the refusal of $desc does not name $text"
	! is_mounted "$mnt" || die "$mnt mounted after refusing $desc"
}

mkdir "$M/inner" "$R/mnt"
ln -s "$M" "$T/alias"

refuse "a remote inside the mountpoint" "$M" "$M/inner" "$M"
refuse "a cache dir inside the mountpoint" "$M" "$R" "$M" \
	--cache-dir "$M/cache"
refuse "a mountpoint inside the remote" "$R" "$R" "$R/mnt"
refuse "a remote inside the mountpoint through a symlink" inner \
	"$T/alias/inner" "$M"
refuse "the remote as the mountpoint" "$R" "$R" "$R"

step "a proper mount still works"
rm -rf "${M:?}"/* "${R:?}/mnt"
echo ok >"$R/f"
cd_mount "$R" "$M"
assert_eq "$(cat "$M/f")" ok "content"
