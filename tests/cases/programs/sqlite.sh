#!/usr/bin/env bash
# SQLite in WAL mode in the mount while uploads are queued: a writer
# inserting rows in transactions and a reader counting them at the same
# time (it must only ever see whole transactions, never fewer rows than
# before). After clonedrive sync, an unmount and a new mount (same cache,
# fresh cache), a copy of the database from the remote and from the mount
# passes PRAGMA integrity_check with every row, and the remote's and the
# mount's files equal the mount's just after sync.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root
command -v sqlite3 >/dev/null || die "no sqlite3: run scripts/deps.sh"

TXNS=$(prog_n 300 80)
ROWS=20
# the database's bytes depend on how the reader and the writer interleave
PROG_REF_OPTS=skip

prog_work()
{
	local d=$1/db w r
	mkdir "$d"
	sqlite3 "$d/test.db" 'PRAGMA journal_mode=WAL;
		CREATE TABLE t(id INTEGER PRIMARY KEY, txn INTEGER, payload BLOB);
		CREATE INDEX t_txn ON t(txn);' >/dev/null
	python3 - "$d/test.db" writer "$TXNS" "$ROWS" >"$T/writer.out" 2>&1 <<'PY' &
import sqlite3, sys
db, role, txns, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = sqlite3.connect(db, timeout=60, isolation_level=None)
c.execute("PRAGMA synchronous=FULL")
for t in range(txns):
    c.execute("BEGIN IMMEDIATE")
    for i in range(rows):
        c.execute("INSERT INTO t(txn, payload) VALUES (?, randomblob(?))",
                  (t, 50 + (t * 37 + i * 101) % 3000))
    c.execute("COMMIT")
    if t % 100 == 99:
        c.execute("PRAGMA wal_checkpoint(PASSIVE)")
c.close()
print("writer: %d transactions" % txns)
PY
	w=$!
	python3 - "$d/test.db" "$((TXNS * ROWS))" "$ROWS" >"$T/reader.out" 2>&1 <<'PY' &
import sqlite3, sys, time
db, want, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = sqlite3.connect(db, timeout=60)
last, reads, deadline = -1, 0, time.time() + 120
while True:
    n = c.execute("SELECT count(*) FROM t").fetchone()[0]
    reads += 1
    if n % rows or n < last:
        sys.exit("reader: saw %d rows after %d" % (n, last))
    last = n
    if n == want:
        break
    if time.time() > deadline:
        sys.exit("reader: %d rows of %d after 120 s" % (n, want))
    time.sleep(0.002)
c.close()
print("reader: %d counts, the last %d" % (reads, last))
PY
	r=$!
	wait $w || die "the writer failed: $(cat "$T/writer.out")"
	wait $r || die "the reader failed: $(cat "$T/reader.out")"
	cat "$T/writer.out" "$T/reader.out"
}

prog_check()
{
	local c=$T/check out
	# a copy: sqlite must not write -wal or -shm files into the tree
	rm -rf "$c"
	mkdir "$c"
	cp "$1"/db/test.db* "$c/"
	ls "$1/db" | tr '\n' ' '
	echo
	out=$(sqlite3 "$c/test.db" 'PRAGMA integrity_check;
		SELECT count(*), count(DISTINCT txn), min(txn), max(txn) FROM t;')
	[ "$out" = "ok
$((TXNS * ROWS))|$TXNS|0|$((TXNS - 1))" ] || {
		echo "integrity_check, rows, transactions, min, max of $1/db/test.db:"
		echo "$out"
		return 1
	}
	echo "integrity ok, $((TXNS * ROWS)) rows"
}

prog_main
