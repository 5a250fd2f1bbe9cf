#!/usr/bin/env bash
# A listing gives each name with its attributes to a program that stats
# what it lists and names only to one that walks names (find): a few
# files of its first listing come bare, and a program that looks none of
# them up before its next listing walks names. Either way every answer is
# right; listed_bare in the stats says which way each listing went.
. "$(dirname "$0")/../../lib.sh"

# file fN holds N bytes, so a wrong size shows
make_dirs() {
	local top=$1 n=$2 d i
	for ((d = 0; d < n; d++)); do
		mkdir -p "$R/$top/d$d"
		for ((i = 0; i < 20; i++)); do
			head -c "$i" /dev/zero >"$R/$top/d$d/f$i"
		done
	done
}
make_dirs find 4
make_dirs ls 1
make_dirs lsr 3
make_dirs scan 3
make_dirs threads 2
cd_mount "$R" "$M" --poll-interval 1h

bare() { stat_of "$M" listed_bare; }

# sizes SUBDIR: "fN N" for every file of the mount's SUBDIR, sorted
sizes() {
	find "$M/$1" -type f -printf '%P %s\n' | sort
}
expect_sizes() {
	local top=$1 n=$2 d i
	for ((d = 0; d < n; d++)); do
		for ((i = 0; i < 20; i++)); do
			echo "d$d/f$i $i"
		done
	done | sort
}

step "find walks names: its second directory on gives files bare"
b0=$(bare)
assert_eq "$(find "$M/find" | wc -l)" $((1 + 4 + 4 * 20)) "find's names"
# the first directory with files: two probes; the three after it: all
assert_eq "$(($(bare) - b0))" $((2 + 3 * 20)) "names listed bare to find"
step "the names it walked answer with their own attributes"
assert_eq "$(sizes find)" "$(expect_sizes find 4)" "sizes after find"
for ((i = 0; i < 20; i++)); do
	assert_eq "$(stat -c %s "$M/find/d3/f$i")" "$i" "stat of d3/f$i"
done

step "ls -l gets every name with its attributes but the probes"
b0=$(bare)
ls -l "$M/ls/d0" >"$T/ls.out"
assert_le "$(($(bare) - b0))" 2 "names listed bare to ls -l"
assert_eq "$(grep -c ' f' "$T/ls.out")" 20 "ls -l lines"
awk '{ print $9, $5 }' "$T/ls.out" | grep '^f' | sort >"$T/ls.sizes"
sizes ls | sed 's|^d0/||' | sort >"$T/ls.want"
assert_file_eq "$T/ls.sizes" "$T/ls.want" "ls -l sizes"

step "ls -lR looks its probes up: its later listings are whole"
b0=$(bare)
ls -lR "$M/lsr" >"$T/lsr.out"
assert_eq "$(grep -c ' f' "$T/lsr.out")" 60 "ls -lR lines"
assert_le "$(($(bare) - b0))" 2 "names listed bare to ls -lR"

step "a walker that starts looking files up is taken for one that stats"
b0=$(bare)
/usr/bin/python3 - "$M/scan" <<'EOF'
import os, sys
top = sys.argv[1]
[e.name for e in os.scandir(top + "/d0")]      # probes, not looked up
[e.name for e in os.scandir(top + "/d1")]      # names only from here
for i in range(8):                              # then it stats
    os.stat(f"{top}/d1/f{i}")
[e.name for e in os.scandir(top + "/d2")]      # whole again
EOF
assert_eq "$(($(bare) - b0))" $((2 + 20)) "names listed bare to the scanner"

step "threads of one program are one program"
b0=$(bare)
/usr/bin/python3 - "$M/threads" <<'EOF'
import os, sys, threading
top = sys.argv[1]
names = []
t = threading.Thread(target=lambda: names.extend(os.listdir(top + "/d0")))
t.start(); t.join()
for n in names:                                 # another thread stats
    os.stat(f"{top}/d0/{n}")
t = threading.Thread(target=lambda: os.listdir(top + "/d1"))
t.start(); t.join()
EOF
assert_eq "$(($(bare) - b0))" 2 "names listed bare to the threads"
assert_eq "$(sizes threads)" "$(expect_sizes threads 2)" "sizes of threads"
