#!/usr/bin/env bash
# git in the mount while uploads are queued: init, add, commit, a branch,
# commits on both, checkout of the other branch, gc (packs, prunes, packs
# refs), fsck. After clonedrive sync, an unmount and a new mount (same
# cache, fresh cache), the remote and the mount are a valid repository
# (git fsck --full), at the same HEAD as the same work done in a local
# directory, with a clean git status, and their trees equal the mount's.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root

"${PROG_GENTREE[@]}" "$T/src" --files "$(prog_n 150 50)" --per-dir 20 \
	--text --seed 81 --max-size 8000
prog_git_setup
# The index holds inode numbers and times: it differs from the
# reference's. The work tree's files are written by checkout.
PROG_REF_OPTS="--mtime off --exclude */.git/index"

prog_work()
{
	prog_git_work "$1/repo" "$T/src"
}

prog_check()
{
	prog_git_check "$1/repo" "$T/ref/repo"
}

prog_main
