# shellcheck shell=bash
#
# tests/conformance/lib.sh: sourced, after tests/lib.sh, by the mount cases
# that run xfstests' fsx and fsstress (tests/cases/conformance/, s3/fsx*).
#
#	conf_tools		build the tools (once; build/conformance), set
#				FSX and FSSTRESS
#	conf_sanitized		CD_BIN is an ASan or TSan build (fewer ops)
#	fsx_probe		which operations the drive refuses: FSX_OFF
#	fsx_run NAME N ARGS	fsx for N operations on $M/NAME.dat
#	fsx_check LOG FILE ARGS	FILE is a state the drive may leave (see
#				fsx-check.py)
#	same_tree A B		same names, types, bytes and link targets
#	fsstress_run DIR LOG N	fsstress -p 4, N operations a process
#
CONF_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_DIR=${CD_CONFORMANCE_DIR:-$CONF_SRC/../../build/conformance}
# A random seed unless given; the log says which, to run it again.
FSX_SEED=${FSX_SEED:-$((RANDOM * 32768 + RANDOM + 1))}
FSSTRESS_SEED=${FSSTRESS_SEED:-$((RANDOM * 32768 + RANDOM + 1))}
FSX_OFF=()
CONF_BLKSIZE=''		# st_blksize of a file on the mount (fsx_probe)

conf_tools()
{
	mkdir -p "$CONF_DIR"
	timeout 150 "$CONF_SRC/build.sh" "$CONF_DIR" ||
		die "tests/conformance/build.sh $CONF_DIR failed"
	FSX=$CONF_DIR/bin/fsx
	FSSTRESS=$CONF_DIR/bin/fsstress
	mkdir -p "$T/fsx"
}

conf_sanitized()
{
	grep -qaE '__asan_init|__tsan_init' "$CD_BIN"
}

# What fsx finds the drive refuses (EOPNOTSUPP, ENOTTY, ENOSYS; EINVAL for
# dedupe) when it starts, each mapped to the option that turns it off, so
# that every run, and its replay on a local disk, does the same operations.
# What the drive does not do today is listed; one it stops doing fails the
# case, one it starts doing is exercised from then on.
FSX_REFUSED_TODAY="fallocate keep_size unshare punch_hole zero_range collapse insert clone dedupe exchange dontcache"
fsx_probe()
{
	local line op flag refused=()
	# -a: atomic writes (RWF_ATOMIC) need O_DIRECT and a file system
	# that gives atomic write units in statx; fsx turns them off itself
	# without -Z, and with it on a FUSE file system.
	FSX_OFF=(-a)
	"$FSX" -N 0 -S 1 -P "$T/fsx" "$M/fsx-probe.dat" >"$T/fsx-probe.log" 2>&1 ||
		{ cat "$T/fsx-probe.log"; die "fsx could not start on the mount"; }
	# fsx draws ranges by st_blksize: its replays on a local disk must too
	CONF_BLKSIZE=$(stat -c %o "$M/fsx-probe.dat")
	rm -f "$M/fsx-probe.dat"
	while IFS= read -r line; do
		case $line in
		*"does not support fallocate mode 0,"*) op=fallocate flag=-F ;;
		*"mode FALLOC_FL_KEEP_SIZE,"*) op=keep_size flag=-K ;;
		*"FALLOC_FL_UNSHARE_RANGE"*) op=unshare flag=-u ;;
		*"FALLOC_FL_PUNCH_HOLE"*) op=punch_hole flag=-H ;;
		*"FALLOC_FL_ZERO_RANGE"*) op=zero_range flag=-z ;;
		*"FALLOC_FL_COLLAPSE_RANGE"*) op=collapse flag=-C ;;
		*"FALLOC_FL_INSERT_RANGE"*) op=insert flag=-I ;;
		*"clone range"*) op=clone flag=-J ;;
		*"dedupe range"*) op=dedupe flag=-B ;;
		*"copy range"*) op=copy_range flag=-E ;;
		*"exchange range"*) op=exchange flag=-0 ;;
		# fsx's -T is not in its getopt string; the same operations
		# are done either way (plain reads and writes instead)
		*"dontcache IO"*) op=dontcache flag='' ;;
		*"does not support"*) die "fsx refuses something new: $line" ;;
		*) continue ;;
		esac
		refused+=("$op")
		[ -z "$flag" ] || FSX_OFF+=("$flag")
		[[ " $FSX_REFUSED_TODAY " == *" $op "* ]] ||
			die "the drive no longer supports $op: $line"
	done <"$T/fsx-probe.log"
	echo "fsx: the drive refuses: ${refused[*]:-nothing} (options ${FSX_OFF[*]})"
	for op in $FSX_REFUSED_TODAY; do
		[[ " ${refused[*]} " == *" $op "* ]] ||
			echo "fsx: note: the drive does $op now; fsx exercises it"
	done
}

# fsx_run NAME N [ARGS...]: fsx with FSX_SEED, FSX_OFF and ARGS for N
# operations on $M/NAME.dat, output in $T/fsx-NAME.log; dies with fsx's
# report when it finds a difference. FSX_ARGS: the options given (for
# fsx_check).
fsx_run()
{
	local name=$1 n=$2 s e rc=0
	shift 2
	FSX_ARGS=(-S "$FSX_SEED" "${FSX_OFF[@]}" "$@")
	echo "+ fsx ${FSX_ARGS[*]} -N $n $M/$name.dat"
	s=$(date +%s%N)
	timeout 150 "$FSX" "${FSX_ARGS[@]}" -N "$n" -p 1000 -P "$T/fsx" \
		"$M/$name.dat" >"$T/fsx-$name.log" 2>&1 || rc=$?
	e=$((($(date +%s%N) - s) / 1000000))
	if [ $rc -ne 0 ]; then
		fsx_report "$T/fsx-$name.log"
		die "fsx $name failed (exit $rc) after ${e} ms: seed $FSX_SEED," \
			"options ${FSX_ARGS[*]} -N $n"
	fi
	grep -E '^All [0-9]+ operations' "$T/fsx-$name.log"
	echo "fsx $name: ${e} ms"
}

# fsx_report LOG: what fsx said about a failure, without its 10,000-line dump.
fsx_report()
{
	echo "--- fsx output (the failure and the last operations) ---"
	grep -v -E '^[0-9]+\((.*)\): ' "$1" | tail -n 40
	echo "--- last 25 operations of fsx's log dump ---"
	grep -E '^[0-9]+\((.*)\): ' "$1" | tail -n 25
	echo "---"
}

# fsx_check LOG FILE ARGS...: FILE ("-": none) is a state the drive may leave
# for the fsx run whose output is LOG and whose options were ARGS; dies if
# not.
fsx_check()
{
	local log=$1 file=$2
	shift 2
	FSX_BLKSIZE=$CONF_BLKSIZE \
		python3 "$CONF_SRC/fsx-check.py" "$FSX" "$log" "$file" "$T/fsx-ref" \
		-- "$@" || die "fsx-check: $file is not a state fsx's run" \
		"(seed $FSX_SEED) may leave after a crash"
}

# same_tree A B: the trees hold the same names with the same types, the
# same bytes in regular files and the same symlink targets. B is the local
# remote: its put() temp files (.clonedrive-tmp.*, hidden by its listing,
# left by an upload cut short) are not its files; they are counted.
same_tree()
{
	python3 - "$1" "$2" <<'PY'
import os, stat, sys
a, b = sys.argv[1:]
def walk(root, skip_tmp):
    out, tmps = {}, 0
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            if skip_tmp and n.startswith(".clonedrive-tmp."):
                tmps += 1
                continue
            out[os.path.relpath(p, root)] = os.lstat(p)
    return out, tmps
ta, _ = walk(a, False)
tb, tmps = walk(b, True)
bad = []
for k in sorted(set(ta) | set(tb)):
    if k not in tb:
        bad.append(f"only in {a}: {k}")
        continue
    if k not in ta:
        bad.append(f"only in {b}: {k}")
        continue
    ma, mb = stat.S_IFMT(ta[k].st_mode), stat.S_IFMT(tb[k].st_mode)
    if ma != mb:
        bad.append(f"{k}: type {ma:o} vs {mb:o}")
    elif stat.S_ISLNK(ma):
        la, lb = os.readlink(os.path.join(a, k)), os.readlink(os.path.join(b, k))
        if la != lb:
            bad.append(f"{k}: symlink to {la!r} vs {lb!r}")
    elif stat.S_ISREG(ma):
        if ta[k].st_size != tb[k].st_size:
            bad.append(f"{k}: {ta[k].st_size} bytes vs {tb[k].st_size}")
            continue
        with open(os.path.join(a, k), "rb") as fa, open(os.path.join(b, k), "rb") as fb:
            off = 0
            while True:
                x, y = fa.read(1 << 20), fb.read(1 << 20)
                if x != y:
                    i = next(i for i in range(min(len(x), len(y))) if x[i] != y[i]) \
                        if x and y else 0
                    bad.append(f"{k}: bytes differ at {off + i}")
                    break
                if not x:
                    break
                off += len(x)
nf = sum(1 for s in ta.values() if stat.S_ISREG(s.st_mode))
print(f"same_tree: {len(ta)} names ({nf} files) in {a}, {len(tb)} in {b}"
      + (f", and {tmps} temp files of uploads cut short" if tmps else ""))
for line in bad[:30]:
    print("  " + line)
if len(bad) > 30:
    print(f"  ... {len(bad) - 30} more")
sys.exit(1 if bad else 0)
PY
}

# fsstress_run DIR LOG N [ARGS...]: fsstress, 4 processes of N operations
# each, on DIR, verbose output in LOG; returns its exit code.
#
# Files are kept under 4 MiB (RLIMIT_FSIZE; writes past it get EFBIG):
# fsstress picks copy/clone destinations up to 1024 blocks of st_blksize
# past the end of a file, and the drive's st_blksize is 1 MiB, so files grow
# by up to 1 GiB at a time. Sparse in the cache, but every byte of them
# goes to the remote. Turned off: operations no FUSE file system can have,
# the XFS ioctls (bulkstat, bulkstat1, resvsp, unresvsp, exchangerange) and
# btrfs' (snapshot, subvol_create, subvol_delete).
FSSTRESS_OFF=(-f bulkstat=0 -f bulkstat1=0 -f resvsp=0 -f unresvsp=0
	-f exchangerange=0 -f snapshot=0 -f subvol_create=0 -f subvol_delete=0)
fsstress_run()
{
	local dir=$1 log=$2 n=$3
	shift 3
	echo "+ fsstress -d $dir -p 4 -n $n -s $FSSTRESS_SEED -v ${FSSTRESS_OFF[*]} $*"
	(
		trap '' XFSZ
		ulimit -f 4096
		exec timeout 150 "$FSSTRESS" -d "$dir" -p 4 -n "$n" \
			-s "$FSSTRESS_SEED" -v "${FSSTRESS_OFF[@]}" "$@"
	) >"$log" 2>&1
}

# fsstress_errors LOG: how often each operation failed, with which errno.
fsstress_errors()
{
	awk '/^[0-9]+\/[0-9]+: / {
		op = $2; sub(/\(.*/, "", op); n[op]++
		if ($NF ~ /^-?[0-9]+$/ && $NF != "0") e[op " errno " $NF]++
	}
	END {
		for (o in n) t += n[o]
		printf "fsstress: %d operations\n", t
		for (k in e) printf "  %s: %d\n", k, e[k]
	}' "$1" | sort
}

# fsx_crash NAME K [ARGS...]: fsx with -d (every operation printed before
# its system calls, line-buffered) and ARGS on $M/NAME.dat, the daemon
# killed (SIGKILL) once fsx has started operation K, fsx left to fail on the
# dead mount, then mounted again with CONF_MOUNT (the arguments of cd_mount)
# and the file checked: a state the drive may leave (fsx_check).
fsx_crash()
{
	local name=$1 k=$2 pid rc=0
	shift 2
	FSX_ARGS=(-S "$FSX_SEED" "${FSX_OFF[@]}" "$@")
	echo "+ fsx ${FSX_ARGS[*]} -d $M/$name.dat (killed at operation $k)"
	stdbuf -oL "$FSX" "${FSX_ARGS[@]}" -d -N 10000000 -P "$T/fsx" \
		"$M/$name.dat" >"$T/fsx-$name.log" 2>&1 &
	pid=$!
	wait_for 90 fsx_started "$T/fsx-$name.log" "$k"
	cd_kill9
	wait "$pid" || rc=$?
	[ $rc -ne 0 ] || die "fsx went on after the daemon was killed"
	echo "fsx stopped (exit $rc) at: $(grep -E '^[0-9]+ ' "$T/fsx-$name.log" | tail -n1)"
	grep -v -E '^[0-9]+' "$T/fsx-$name.log" | grep -v -E '^\s*$' | head -n 5
	step "mount again; the file is a state the drive may leave"
	cd_mount "${CONF_MOUNT[@]}"
	fsx_check "$T/fsx-$name.log" "$M/$name.dat" "${FSX_ARGS[@]}"
}

# fsx_started LOG K: fsx has printed operation K or later.
fsx_started()
{
	[ "$(grep -oE '^[0-9]+ ' "$1" | tail -n1 | tr -d ' ')" -ge "$2" ] 2>/dev/null
}

# s3_same_files DIR: the bucket (S3_BUCKET) holds exactly the regular files
# directly in DIR, as keys of their names, with the same bytes; each object
# is left in $T/s3obj/NAME.
s3_same_files()
{
	local dir=$1 f name keys want
	keys=$(s3_ls) || die "could not list the bucket"
	want=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)
	assert_eq "$keys" "$want" "keys in the bucket"
	mkdir -p "$T/s3obj"
	for f in "$dir"/*; do
		name=${f##*/}
		s3_get "$name" "$T/s3obj/$name" || die "could not get $name"
		cmp -- "$f" "$T/s3obj/$name" ||
			die "the object $name differs from the file in the mount"
	done
	echo "s3_same_files: $(echo "$want" | wc -w) objects equal the files of $dir"
}
