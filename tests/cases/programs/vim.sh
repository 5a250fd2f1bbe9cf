#!/usr/bin/env bash
# vim saving files while uploads are queued, run as a script (vim -Es):
# with its defaults, with 'backup writebackup backupcopy=no' (the original
# is renamed to FILE~ and the new text written anew, FILE~ kept) and with
# 'nobackup writebackup backupcopy=no' (the renamed original is deleted
# after the write); swap files come and go. After clonedrive sync, an
# unmount and a new mount (same cache, fresh cache), the remote and the
# mount have every save and every backup.
. "$(dirname "$0")/../../lib.sh"
. "$CD_LIB_DIR/programs.sh"
need_root
command -v vim >/dev/null || die "no vim: run scripts/deps.sh"

n=$(prog_n 30 12)
"${PROG_GENTREE[@]}" "$T/text" --files "$n" --per-dir 100 --text \
	--seed 31 --max-size 12000
chmod 600 "$T"/text/f0000[0-3].txt
chmod 755 "$T"/text/f0001[0-3].txt
# vim writes each file anew: its mtime is the time of the save
PROG_REF_OPTS="--mtime off"

vim_edit()
{
	local file=$1 sets=$2 cmd=$3
	HOME=$T vim -Es -u NONE -i NONE -c "$sets" -c "$cmd" -c wq "$file" ||
		die "vim ($sets; $cmd) on $file failed"
}

prog_work()
{
	local d=$1 f i=0 third=$((n / 3))
	mkdir "$d/v"
	for f in "$T"/text/*.txt; do
		cat <"$f" >"$d/v/${f##*/}"
		chmod --reference="$f" "$d/v/${f##*/}"
	done
	for f in "$d"/v/*.txt; do
		if [ $i -lt "$third" ]; then
			vim_edit "$f" "set nocompatible" '%s/a/b/ge'
		elif [ $i -lt $((2 * third)) ]; then
			vim_edit "$f" "set backup writebackup backupcopy=no" '%s/e/E/ge'
		else
			vim_edit "$f" "set nobackup writebackup backupcopy=no" '%s/o/0/ge'
		fi
		i=$((i + 1))
	done
	# a second save of files whose first is still queued; FILE~ replaced
	for f in "$d"/v/f0000[0-4].txt "$d"/v/f0001[0-4].txt; do
		vim_edit "$f" "set backup writebackup backupcopy=no" 'normal Gonew last line'
	done
}

prog_main
