#!/usr/bin/env bash
#
# tests/fuzz/run.sh BUILDDIR [SECONDS]: builds the libFuzzer targets with
# clang (ASan+UBSan) and runs each for SECONDS (default 20), starting from
# the corpus in tests/fuzz/corpus/<target>/. Exits non-zero on a crash,
# leaving the input that caused it in BUILDDIR/fuzz/.
#
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$1
secs=${2:-20}
out=$build/fuzz
mkdir -p "$out"
command -v clang >/dev/null || { echo "fuzz: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

for target in ctl s3xml; do
	src=tests/fuzz/fuzz_$target.c
	bin=$out/fuzz_$target
	# the sources each target needs besides its own, and its libraries
	case $target in
	ctl)
		srcs="src/ctl/proto.c src/util/util.c"
		libs=""
		;;
	s3xml)
		srcs="src/remote/s3_xml.c src/util/util.c src/util/log.c"
		libs="-lexpat"
		;;
	esac
	# shellcheck disable=SC2086 # word splitting of srcs and libs wanted
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -I"$build" -Isrc -I. \
		"$src" $srcs -o "$bin" $libs
	corpus=$out/corpus_$target
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$target" ] && cp -n tests/fuzz/corpus/$target/* "$corpus"/ 2>/dev/null
	# a dictionary of the format's words, where the target has one
	dict=()
	[ -f "tests/fuzz/$target.dict" ] && dict=(-dict="$PWD/tests/fuzz/$target.dict")
	echo "fuzz: $target for ${secs}s"
	(cd "$out" && "./fuzz_$target" -max_total_time="$secs" -max_len=4096 \
		-print_final_stats=1 "${dict[@]}" "corpus_$target" 2>&1 | tail -n 12)
	echo "fuzz: $target: no crash"
done
