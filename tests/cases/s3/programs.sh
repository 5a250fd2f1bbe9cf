#!/usr/bin/env bash
# Real programs on a bucket while uploads are queued (tests/programs.sh):
# rsync -a of a tree and of a new version of it with --delete (temp names
# renamed into place: copy and delete on S3), sed -i on several files, and
# git (init, commits, branches, checkout, gc). After clonedrive sync, the
# bucket, read through listings and GETs, holds what the mount shows
# (names, bytes, x-amz-meta-mode and -mtime), also after an unmount, and a
# new mount (same cache, fresh cache) shows it; the repository copied out
# of the bucket passes git fsck with the reference's HEAD.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root
s3_bucket

PROG_BULK_FILES=$(prog_n 200 60)
PROG_MOUNT_OPTS=(--endpoint "$CD_TEST_S3_ENDPOINT")
s3_round() { echo "s3://$S3_BUCKET/round$1"; }
PROG_REMOTE=s3_round
# A listing shows no x-amz-meta-*: with a fresh cache, objects show their
# Last-Modified and mode 0644 until the drive writes them (README).
PROG_FRESH_OPTS="--mtime off --no-mode"
# sed -i and git write files anew; the git index holds inode numbers;
# git's config says core.symlinks = false in the bucket, where symlink()
# gets EPERM, and true in the reference on a local disk
PROG_REF_OPTS="--mtime off --exclude */.git/index --exclude */.git/config"

n=$(prog_n 80 30)
# S3 keeps no symlinks
"${PROG_GENTREE[@]}" "$T/src1" --files "$n" --per-dir 30 --seed 91 \
	--modes --mtimes --names --max-size 30000
cp -a "$T/src1" "$T/src2"
"${PROG_GENTREE[@]}" "$T/src2" --mutate --files $((n / 5)) --seed 92 --mtimes
"${PROG_GENTREE[@]}" "$T/text" --files "$(prog_n 30 24)" --per-dir 100 \
	--text --seed 93 --max-size 8000
prog_git_setup

prog_work()
{
	local files=()
	rsync -a "$T/src1/" "$1/rs/"
	rsync -a --delete "$T/src2/" "$1/rs/"
	cp -r "$T/text" "$1/text"
	mapfile -d '' files < <(find "$1/text" -type f -print0 | sort -z)
	sed -i 's/alpha/ALPHA/g' "${files[@]}"
	sed -i 's/the/THE/g' "${files[@]:0:10}"
	prog_git_work "$1/repo" "$T/text"
}

prog_check()
{
	local opts=(--mtime ns)
	[[ $2 != *fresh* ]] || read -ra opts <<<"$PROG_FRESH_OPTS"
	"${PROG_TREECMP[@]}" "${opts[@]}" "$T/src2" "$1/rs" || return 1
	prog_git_check "$1/repo" "$T/ref/repo"
}

prog_main
