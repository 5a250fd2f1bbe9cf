#!/usr/bin/env bash
# A name of more than 255 bytes is refused with ENAMETOOLONG by every call
# that makes or finds one (never cut to 255, where two long names with one
# prefix would be one file); statfs says 255; 255 bytes work.
. "$(dirname "$0")/../../lib.sh"

long=$(printf 'a%.0s' $(seq 256))
ok=${long:1}
cd_mount "$R" "$M"
touch "$M/$ok"
assert_eq "$(ls "$M" | wc -L)" 255 "a 255-byte name"
assert_fails "File name too long" touch "$M/$long"
assert_fails "File name too long" touch "$M/${long}b"
assert_fails "File name too long" mkdir "$M/$long"
assert_fails "File name too long" ln -s x "$M/$long"
assert_fails "File name too long" mv "$M/$ok" "$M/$long"
assert_fails "File name too long" stat "$M/$long"
assert_eq "$(ls "$M")" "$ok" "names"
assert_eq "$(stat -f -c %l "$M")" 255 "statfs namemax"
mkdir "$T/c"
echo data >"$T/c/src"
assert_fails "File name too long" "$CD_BIN" cp "$T/c/src" "$M/$long"
cd_sync "$M"
assert_eq "$(ls "$R")" "$ok" "remote names"
cd_unmount "$M"
