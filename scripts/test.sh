#!/usr/bin/env bash
#
# scripts/test.sh [--quick] [--only REGEX]: the test command (README, .ci/run).
#
#  1. scripts/deps.sh (installs what is missing; fast when nothing is)
#  2. plain build in build/: meson setup (if needed), ninja, meson test (unit
#     tests), tests/run-cases.sh build/clonedrive (mount cases; logs in
#     tests/out/<area>/<name>.log)
#  3. the same under ASan+UBSan in build-asan/ (logs in tests/out/asan/)
#  4. the same under TSan in build-tsan/ (logs in tests/out/tsan/): data
#     races and lock-order inversions in the daemon's threads
#  5. the fuzz targets (libFuzzer, tests/fuzz/run.sh) for 20 s each
#
#  --quick        skip the sanitizer passes and the fuzzing (steps 3-5)
#  --only REGEX   run only the mount cases whose <area>/<name> matches REGEX
#                 (unit tests still run: they take seconds)
#
# Exits 1 if anything failed. The last line is "N passed, M failed": unit
# tests and cases of both passes; a step that could not run (setup, build)
# counts as one failure.
#
set -uo pipefail

usage()
{
	sed -n '3,17s/^# \{0,1\}//p' "$0"
}

quick=0
only=()
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1; shift ;;
	--only) only=(--only "${2:?--only needs a pattern}"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "test.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/.." || exit 2
root=$PWD
passed=0
failed=0
failures=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cd-test.XXXXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

note_fail()
{
	echo "test.sh: FAILED: $*"
	failed=$((failed + 1))
	failures+=("$*")
}

# Add the unit test results of build dir $1 (meson's testlog.json) to the
# totals; fail if meson test exited $2 != 0 without a failed test to show.
count_unit()
{
	local dir=$1 rc=$2 p f names counts
	counts=$(python3 - "$dir/meson-logs/testlog.json" <<'EOF'
import json, sys
p = f = 0
names = []
try:
    for line in open(sys.argv[1]):
        t = json.loads(line)
        r = t.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            p += 1
        elif r != "SKIP":
            f += 1
            names.append(t.get("name", "?"))
except FileNotFoundError:
    pass
print(p, f, " ".join(names))
EOF
	) || counts="0 0"
	read -r p f names <<<"$counts"
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || failures+=("$3: unit tests: $names")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		note_fail "$3: meson test exited $rc"
	fi
}

# run_pass NAME BUILDDIR OUTDIR [meson setup args...]
run_pass()
{
	local name=$1 dir=$2 outdir=$3 rc line n m
	shift 3

	echo "=== $name: build ($dir) ==="
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		if ! meson setup "$dir" "$@"; then
			note_fail "$name: meson setup $dir"
			return
		fi
	fi
	if ! ninja -C "$dir"; then
		note_fail "$name: build (ninja -C $dir)"
		return
	fi

	echo "=== $name: unit tests ==="
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --print-errorlogs
	count_unit "$dir" $? "$name"

	echo "=== $name: mount cases ==="
	tests/run-cases.sh --out "$outdir" "${only[@]}" "$dir/clonedrive" |
		tee "$tmp/cases.out"
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^cases: [0-9]+ passed, [0-9]+ failed' "$tmp/cases.out" | tail -n1)
	if [ -z "$line" ]; then
		note_fail "$name: tests/run-cases.sh exited $rc without a summary"
		return
	fi
	read -r _ n _ m _ <<<"$line"
	passed=$((passed + n))
	failed=$((failed + m))
	if [ "$m" -gt 0 ]; then
		failures+=("$name: cases: $(grep '^FAIL ' "$tmp/cases.out" |
			cut -d' ' -f2 | tr '\n' ' ')")
	elif [ "$rc" -ne 0 ]; then
		note_fail "$name: tests/run-cases.sh exited $rc"
	fi
}

echo "=== dependencies ==="
bash scripts/deps.sh || note_fail "scripts/deps.sh"

run_pass plain build "$root/tests/out"

if [ $quick = 0 ]; then
	# ASAN_OPTIONS stays as the caller has it: leak detection on, also for
	# the daemon (its reports go to a file the case runner checks).
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	run_pass asan build-asan "$root/tests/out/asan" \
		-Db_sanitize=address,undefined -Db_lundef=false
	# report_signal_unsafe: libfuse's signal handler is not ours to fix
	export TSAN_OPTIONS=report_signal_unsafe=0:halt_on_error=0
	run_pass tsan build-tsan "$root/tests/out/tsan" \
		-Db_sanitize=thread -Db_lundef=false

	echo "=== fuzzing ==="
	if bash tests/fuzz/run.sh build "${CD_FUZZ_SECONDS:-20}"; then
		passed=$((passed + 1))
	else
		note_fail "fuzz: tests/fuzz/run.sh (see build/fuzz/)"
	fi
fi

echo "=== summary ==="
if [ ${#failures[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
