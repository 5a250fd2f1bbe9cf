# shellcheck shell=bash
# Helpers of namespace cases, also used by the s3 ones (sourced after
# tests/lib.sh).

# rename_unsent_link_over MNT: on a mount whose uploads wait (an upload
# delay), an uploaded file t; a new file x, not uploaded yet, gets an
# extra name c, which is renamed over t; x goes, so t becomes the file's
# own name, and a write queues its upload. t must end as "data\nmore".
rename_unsent_link_over()
{
	echo old >"$1/t"
	cd_sync "$1"
	echo data >"$1/x"
	ln "$1/x" "$1/c"
	mv "$1/c" "$1/t"
	rm "$1/x"
	echo more >>"$1/t"
	cd_sync "$1"
}
