#!/usr/bin/env bash
# user.* xattrs on files and directories: set, get, list, replace, remove,
# XATTR_CREATE/XATTR_REPLACE semantics; they survive a remount.
. "$(dirname "$0")/../../lib.sh"

echo data >"$R/f"
mkdir "$R/d"
cd_mount "$R" "$M"

get() { getfattr --absolute-names --only-values -n "$2" -- "$1"; }
names() { getfattr --absolute-names -m '^user\.' -- "$1" | grep '^user\.' | sort; }

step "set and get"
setfattr -n user.color -v blue "$M/f"
setfattr -n user.bin -v 0x00ff7f00 "$M/f"
big=$(head -c 3000 /dev/zero | tr '\0' a)
setfattr -n user.big -v "$big" "$M/f"
setfattr -n user.dirattr -v on "$M/d"
assert_eq "$(get "$M/f" user.color)" blue "user.color"
assert_eq "$(getfattr --absolute-names -e hex -n user.bin "$M/f" | grep '^user.bin=')" \
	"user.bin=0x00ff7f00" "binary value"
assert_eq "$(get "$M/f" user.big)" "$big" "3000-byte value"
assert_eq "$(get "$M/d" user.dirattr)" on "xattr on a directory"

step "list"
assert_eq "$(names "$M/f" | grep -v '^user\.clonedrive\.' | tr '\n' ' ')" \
	"user.big user.bin user.color " "listed user.* names"

step "replace, flags"
setfattr -n user.color -v red "$M/f"
assert_eq "$(get "$M/f" user.color)" red "user.color after replacing"
python3 - "$M/f" <<'PY'
import errno, os, sys
f = sys.argv[1]
for name, flags, want in (("user.color", os.XATTR_CREATE, errno.EEXIST),
                          ("user.none", os.XATTR_REPLACE, errno.ENODATA)):
    try:
        os.setxattr(f, name, b"v", flags)
    except OSError as e:
        if e.errno != want:
            sys.exit(f"setxattr {name}: {e}, expected {errno.errorcode[want]}")
    else:
        sys.exit(f"setxattr {name} with flags {flags} succeeded")
PY

step "remove"
setfattr -x user.color "$M/f"
assert_fails "No such attribute" getfattr -n user.color "$M/f"
assert_eq "$(names "$M/f" | grep -c '^user\.color$' || true)" 0 "user.color listed after removal"

step "remount: still there"
cd_sync "$M"
cd_unmount "$M"
cd_mount "$R" "$M"
assert_eq "$(get "$M/f" user.big)" "$big" "user.big after remount"
assert_eq "$(get "$M/d" user.dirattr)" on "user.dirattr after remount"
assert_fails "No such attribute" getfattr -n user.color "$M/f"
assert_eq "$(cat "$M/f")" data "content"
