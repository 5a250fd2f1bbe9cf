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
command -v git >/dev/null || die "no git: run scripts/deps.sh"

"${PROG_GENTREE[@]}" "$T/src" --files "$(prog_n 150 50)" --per-dir 20 \
	--text --seed 81 --max-size 8000
# Fixed identities and dates: the same commits here and in the reference.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$T/gitconfig HOME=$T
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org
export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
export GIT_AUTHOR_DATE='@1700000000 +0000' GIT_COMMITTER_DATE='@1700000000 +0000'
cat >"$GIT_CONFIG_GLOBAL" <<'CFG'
[init]
	defaultBranch = main
[gc]
	autoDetach = false
[maintenance]
	auto = false
[pack]
	threads = 1
[advice]
	detachedHead = false
CFG
# The index holds inode numbers and times: it differs from the
# reference's. The work tree's files are written by checkout.
PROG_REF_OPTS="--mtime off --exclude */.git/index"

prog_work()
{
	local r=$1/repo
	git init -q "$r"
	cp -r "$T/src/." "$r/"
	git -C "$r" add -A
	git -C "$r" commit -q -m first
	git -C "$r" checkout -q -b feature
	sed -i 's/alpha/ALPHA/' "$r"/f0000*.txt
	git -C "$r" rm -q "$r/f00010.txt" "$r/f00011.txt"
	echo new >"$r/new-on-feature.txt"
	git -C "$r" add -A
	git -C "$r" commit -q -m 'feature work'
	git -C "$r" checkout -q main
	sed -i 's/bravo/BRAVO/' "$r"/f0001[5-9].txt
	git -C "$r" commit -q -a -m 'main work'
	git -C "$r" tag v1
	git -C "$r" checkout -q feature
	git -C "$r" gc -q --prune=now
	git -C "$r" fsck --full --no-progress
}

prog_check()
{
	local r=$1/repo head status
	git -C "$r" fsck --full --no-progress || { echo "git fsck of $r fails"; return 1; }
	head=$(git -C "$r" rev-parse HEAD main feature v1)
	[ "$head" = "$(git -C "$T/ref/repo" rev-parse HEAD main feature v1)" ] || {
		echo "HEAD main feature v1 of $r: $head; the reference's:" \
			"$(git -C "$T/ref/repo" rev-parse HEAD main feature v1)"
		return 1
	}
	# --no-optional-locks: status must not rewrite the index there
	status=$(git --no-optional-locks -C "$r" status --porcelain=v1 -uall)
	[ -z "$status" ] || { echo "git status of $r is not clean:"; echo "$status" | head -n 20; return 1; }
	echo "fsck ok, HEAD $(git -C "$r" rev-parse --short HEAD), status clean"
}

prog_main
