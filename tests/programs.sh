# shellcheck shell=bash
#
# tests/programs.sh: sourced, after tests/lib.sh, by the cases that run real
# programs in the mount (tests/cases/programs/, tests/cases/s3/programs.sh).
#
# A case defines
#	prog_work DIR	what the program does, in DIR: run once in a local
#			directory (the reference) and then in the mount
# and optionally
#	prog_check DIR WHAT   more checks of a tree (git fsck, sqlite's
#			integrity_check...); says what is wrong and returns
#			non-zero; run on the reference, and on the remote and
#			the mount at every point below (WHAT names it)
#	PROG_REF_OPTS	tests/treecmp.py options for the mount against the
#			reference (default: --mtime ns); "skip": the program's
#			output differs from run to run (sqlite)
#	PROG_BULK_FILES	files in the tar extracted before the work (default
#			1500, 400 under a sanitizer; 0: none)
#	PROG_DELAYS	the --upload-delay of each round (default "0 2s")
#	PROG_REMOTE	a function NAME ROUND: prints the remote for the round
#			(default: a fresh directory $T/remote.ROUND); an
#			s3://BUCKET/PREFIX remote is compared through S3
#			listings and GETs (tests/treecmp.py), and copied out
#			for prog_check (treecmp.py --fetch)
#	PROG_MOUNT_OPTS	an array of more mount options (--endpoint ...)
#	PROG_FRESH_OPTS	treecmp options for the mount with a fresh cache
#			against the snapshot (default: --mtime ns)
# and calls prog_main. Each round then
#	1. mounts a fresh remote with the round's upload delay,
#	2. extracts the bulk tar (PROG_BULK_FILES generated files, with
#	   mtimes in nanoseconds) into the mount, so that the upload queue is
#	   long, and runs prog_work in the mount at once,
#	3. runs `clonedrive sync` at once (it must exit 0), while the queue
#	   is as the program left it,
#	4. compares the remote, then the mount with the reference, and takes a
#	   snapshot of the mount (tests/treecmp.py --snapshot): the remote
#	   must equal it,
#	5. unmounts: the remote must still equal it,
#	6. mounts again with the same cache, then with a fresh cache: the
#	   mount must equal it each time, and the remote at the end.
# Comparisons are byte and metadata: names, kinds, sizes, bytes, permission
# bits, file mtimes to the nanosecond, symlink targets (tests/treecmp.py;
# directory mtimes and owners are not compared). A round goes on after a
# difference, so that the log shows every point that differs; the case
# fails at the end with the list.
#
# Helpers for the cases: prog_n, prog_sync, prog_cmp, prog_fail, prog_git_*,
# PROG_TREECMP, PROG_GENTREE.

PROG_TREECMP=(python3 "$CD_LIB_DIR/treecmp.py")
PROG_GENTREE=(python3 "$CD_LIB_DIR/gentree.py")
[ ! -x /usr/bin/python3 ] || PROG_TREECMP=(/usr/bin/python3 "$CD_LIB_DIR/treecmp.py")
[ ! -x /usr/bin/python3 ] || PROG_GENTREE=(/usr/bin/python3 "$CD_LIB_DIR/gentree.py")
PROG_FAILS=()
PROG_ROUND=''

# prog_n PLAIN SANITIZED: the size for this build (ASan or TSan: the
# smaller one).
prog_n()
{
	if is_sanitized; then
		echo "$2"
	else
		echo "$1"
	fi
}

# prog_fail WHAT: record a failure; the case goes on and fails at the end.
prog_fail()
{
	echo "FAILED CHECK: ${PROG_ROUND:+$PROG_ROUND: }$*" >&2
	PROG_FAILS+=("${PROG_ROUND:+$PROG_ROUND: }$*")
}

# prog_cmp WHAT REF OTHER [treecmp options]: compare two trees; print the
# differences (the first 40) and record a failure if there are any.
prog_cmp()
{
	local what=$1 ref=$2 other=$3 rc=0 out
	shift 3
	out=$("${PROG_TREECMP[@]}" "$@" -- "$ref" "$other" 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok: $what: ${out##*$'\n'}"
		return 0
	fi
	head -n 40 <<<"$out" | sed "s|^|  $what: |" >&2
	[ "$(wc -l <<<"$out")" -le 41 ] || echo "  ... ${out##*$'\n'}" >&2
	prog_fail "$what: ${out##*$'\n'}"
	return 0
}

# prog_sync MNT: `clonedrive sync` of the mount, which must exit 0.
prog_sync()
{
	local rc=0 t0
	t0=$(date +%s%N)
	timeout 150 "$CD_BIN" sync --timeout 120s --no-progress "$1" || rc=$?
	echo "clonedrive sync: exit $rc after" \
		"$((($(date +%s%N) - t0) / 1000000)) ms"
	[ $rc -eq 0 ] || die "${PROG_ROUND:+$PROG_ROUND: }clonedrive sync exited $rc" \
		"(uploads_pending=$(stat_of "$1" uploads_pending 2>&1 || true))"
}

# The bulk tar: generated files with nanosecond mtimes, in pax format.
prog_make_bulk()
{
	local n=${PROG_BULK_FILES:-$(prog_n 1500 400)}
	PROG_BULK=''
	[ "$n" -gt 0 ] || return 0
	PROG_BULK=$T/bulk.tar
	"${PROG_GENTREE[@]}" "$T/bulk-src/bulk" --files "$n" --per-dir 100 \
		--seed 7 --max-size 6000 --mtimes --modes
	tar cf "$PROG_BULK" --format=pax --sort=name --owner=0 --group=0 \
		--numeric-owner --pax-option=delete=atime,delete=ctime \
		-C "$T/bulk-src" bulk
	rm -rf "$T/bulk-src"
}

_prog_checks()
{
	local dir=$1 what=$2 out rc=0
	declare -F prog_check >/dev/null || return 0
	# In the background, not in an || list, so that set -e holds in it.
	prog_check "$dir" "$what" >"$T/check.out" 2>&1 &
	wait $! || rc=$?
	out=$(cat "$T/check.out")
	if [ $rc -eq 0 ]; then
		sed "s|^|ok: $what: |" <<<"${out:-checks pass}" | tail -n 3
	else
		sed "s|^|  $what: |" <<<"$out" | tail -n 20 >&2
		prog_fail "$what: $(tail -n1 <<<"$out")"
	fi
}

_prog_default_remote()
{
	mkdir -p "$T/remote.$1"
	echo "$T/remote.$1"
}

# _prog_check_remote REMOTE WHAT: prog_check on the remote; an s3:// one
# is copied out first.
_prog_check_remote()
{
	local remote=$1 what=$2 copy=$T/remote-copy
	declare -F prog_check >/dev/null || return 0
	if [[ $remote == s3://* ]]; then
		rm -rf "$copy"
		if ! "${PROG_TREECMP[@]}" --fetch "$remote" "$copy" >"$T/fetch.out" 2>&1; then
			cat "$T/fetch.out" >&2
			prog_fail "$what: could not copy $remote out: $(tail -n1 "$T/fetch.out")"
			return 0
		fi
		remote=$copy
	fi
	_prog_checks "$remote" "$what"
}

# prog_round N DELAY: one round (see the top of this file).
prog_round()
{
	local n=$1 delay=$2 remote snap t0 t1 pending
	local mopts=("${PROG_MOUNT_OPTS[@]}") refopts freshopts
	# split on blanks, never globbed (--exclude '*/.git/index')
	read -ra refopts <<<"${PROG_REF_OPTS:---mtime ns}"
	read -ra freshopts <<<"${PROG_FRESH_OPTS:---mtime ns}"
	PROG_ROUND="round $n (--upload-delay $delay)"
	step "$PROG_ROUND: mount a fresh remote"
	remote=$("${PROG_REMOTE:-_prog_default_remote}" "$n")
	snap=$T/snapshot.$n.json
	cd_mount "$remote" "$M" --upload-delay "$delay" \
		--cache-dir "$T/cache.$n" "${mopts[@]}"
	t0=$(date +%s%N)
	if [ -n "$PROG_BULK" ]; then
		step "$PROG_ROUND: tar x of the bulk ($(tar tf "$PROG_BULK" | wc -l) entries)"
		tar xf "$PROG_BULK" -C "$M"
		pending=$(stat_of "$M" uploads_pending)
		echo "uploads pending after the tar: $pending"
	fi
	step "$PROG_ROUND: the work, in the mount"
	prog_work "$M"
	t1=$(date +%s%N)
	pending=$(stat_of "$M" uploads_pending)
	echo "work done in $(((t1 - t0) / 1000000)) ms; uploads pending: $pending"

	# At once: the sync must find the queue as the program left it.
	step "$PROG_ROUND: clonedrive sync"
	prog_sync "$M"

	step "$PROG_ROUND: the remote and the mount after sync, against the reference"
	if [ "${PROG_REF_OPTS:-}" != skip ]; then
		prog_cmp "remote after sync vs reference" "$T/ref" \
			"$remote" "${refopts[@]}"
		prog_cmp "mount after sync vs reference" "$T/ref" "$M" \
			"${refopts[@]}"
	fi
	_prog_checks "$M" "mount after sync"
	"${PROG_TREECMP[@]}" --snapshot "$M" >"$snap" ||
		die "$PROG_ROUND: no snapshot of the mount"
	prog_cmp "remote after sync" "$snap" "$remote" --mtime ns
	_prog_check_remote "$remote" "remote after sync"

	step "$PROG_ROUND: unmount"
	cd_unmount "$M"
	prog_cmp "remote after unmount" "$snap" "$remote" --mtime ns

	step "$PROG_ROUND: mount again, same cache"
	cd_mount "$remote" "$M" --upload-delay "$delay" \
		--cache-dir "$T/cache.$n" "${mopts[@]}"
	prog_cmp "mount again (same cache)" "$snap" "$M" --mtime ns
	_prog_checks "$M" "mount again (same cache)"
	cd_unmount "$M"

	step "$PROG_ROUND: mount again, fresh cache"
	cd_mount "$remote" "$M" --upload-delay "$delay" \
		--cache-dir "$T/cache.$n.fresh" "${mopts[@]}"
	prog_cmp "mount again (fresh cache)" "$snap" "$M" "${freshopts[@]}"
	_prog_checks "$M" "mount again (fresh cache)"
	cd_unmount "$M"
	prog_cmp "remote at the end" "$snap" "$remote" --mtime ns
	echo "$PROG_ROUND: $((($(date +%s%N) - t0) / 1000000)) ms"
	PROG_ROUND=''
}

# prog_main: the reference, then one round per delay; fails the case if
# any check failed.
prog_main()
{
	local n=0 d f
	declare -F prog_work >/dev/null || die "the case defines no prog_work"
	[ -n "${PROG_MOUNT_OPTS+x}" ] || PROG_MOUNT_OPTS=()
	prog_make_bulk
	step "reference: the same work in a local directory"
	mkdir -p "$T/ref"
	[ -z "$PROG_BULK" ] || tar xf "$PROG_BULK" -C "$T/ref"
	prog_work "$T/ref"
	PROG_ROUND=reference
	_prog_checks "$T/ref" "reference"
	[ ${#PROG_FAILS[@]} -eq 0 ] || die "the reference itself fails its checks"
	for d in ${PROG_DELAYS:-0 2s}; do
		n=$((n + 1))
		prog_round "$n" "$d"
	done
	if [ ${#PROG_FAILS[@]} -gt 0 ]; then
		echo "=== ${#PROG_FAILS[@]} failed check(s):" >&2
		for f in "${PROG_FAILS[@]}"; do
			echo "  $f" >&2
		done
		die "${#PROG_FAILS[@]} failed check(s); the first: ${PROG_FAILS[0]}"
	fi
	echo "all checks pass"
}

# --- git, for tests/cases/programs/git.sh and tests/cases/s3/programs.sh --

# prog_git_setup: a git configuration of the case's own, fixed identities
# and dates (the same commits in the mount and in the reference), no
# background gc.
prog_git_setup()
{
	command -v git >/dev/null || die "no git: run scripts/deps.sh"
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$T/gitconfig HOME=$T
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org
	export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
	export GIT_AUTHOR_DATE='@1700000000 +0000'
	export GIT_COMMITTER_DATE='@1700000000 +0000'
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
}

# prog_git_work REPO SRC: init REPO with the text files of SRC (at least
# f00000.txt to f00019.txt at its top), commit, branch, commit on both
# branches, tag, checkout of the other branch, gc, fsck.
prog_git_work()
{
	local r=$1
	git init -q "$r"
	cp -r "$2/." "$r/"
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

# prog_git_check REPO REF_REPO: REPO passes git fsck --full, has the
# same HEAD, branches and tag as REF_REPO, and a clean status.
prog_git_check()
{
	local r=$1 ref=$2 head status
	git -C "$r" fsck --full --no-progress ||
		{ echo "git fsck of $r fails"; return 1; }
	head=$(git -C "$r" rev-parse HEAD main feature v1)
	[ "$head" = "$(git -C "$ref" rev-parse HEAD main feature v1)" ] || {
		echo "HEAD main feature v1 of $r: $head; the reference's:" \
			"$(git -C "$ref" rev-parse HEAD main feature v1)"
		return 1
	}
	# --no-optional-locks: status must not rewrite the index there
	status=$(git --no-optional-locks -C "$r" status --porcelain=v1 -uall)
	[ -z "$status" ] || {
		echo "git status of $r is not clean:"
		head -n 20 <<<"$status"
		return 1
	}
	echo "git: fsck ok, HEAD $(git -C "$r" rev-parse --short HEAD), status clean"
}
