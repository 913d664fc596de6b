#!/usr/bin/env bats
# The municipal corpus (tests/tools/mkcorpus --scale 0.05): full backup,
# exact restore; unchanged re-backup reads and adds nothing; after one day of
# changes (--mutate) only changed data is added and both snapshots restore
# exactly.

load helpers

setup_file() {
	export CORPUS_DIR=$BATS_FILE_TMPDIR/work
	mkdir -p "$CORPUS_DIR"
	"$MAMORI_SRC/tests/tools/mkcorpus" "$CORPUS_DIR/corpus" --scale 0.05 >/dev/null
}

@test "full, unchanged and incremental backups of the corpus restore exactly" {
	c=$CORPUS_DIR/corpus
	mm init >/dev/null
	run mm --json backup "$c"
	[ "$status" -eq 0 ]
	s1=$(echo "$output" | snap_id)
	nfiles=$(find "$c" -type f -printf x | wc -c)
	[ "$(echo "$output" | summary_field files_new)" -eq "$nfiles" ]

	# Unchanged: nothing is read, only the (identical) trees are referenced.
	run mm --json backup "$c"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | summary_field files_unchanged)" -eq "$nfiles" ]
	[ "$(echo "$output" | summary_field bytes_read)" -eq 0 ]
	[ "$(echo "$output" | summary_field bytes_added)" -lt 65536 ]

	# Keep the first state to compare snapshot 1 with later.
	cp -a --sparse=always "$c" "$CORPUS_DIR/before"
	"$MAMORI_SRC/tests/tools/mkcorpus" "$c" --mutate --scale 0.05 >/dev/null
	repo_before=$(du -sb "$T/repo" | cut -f1)
	run mm --json backup "$c"
	[ "$status" -eq 0 ]
	s3=$(echo "$output" | snap_id)
	changed=$(echo "$output" | summary_field files_changed)
	new=$(echo "$output" | summary_field files_new)
	added=$(echo "$output" | summary_field bytes_added)
	read_b=$(echo "$output" | summary_field bytes_read)
	[ "$changed" -gt 0 ]
	[ "$new" -gt 0 ]
	[ "$added" -gt 0 ]
	# Only changed data is added: less than what was read (the changed and
	# new files), and the repository grows by no more than that.
	[ "$added" -lt "$read_b" ]
	repo_after=$(du -sb "$T/repo" | cut -f1)
	[ $((repo_after - repo_before)) -le $((added + 65536)) ]
	echo "read $read_b added $added" >&3

	run mm restore "$s1" --target "$T/r1"
	[ "$status" -eq 0 ]
	run "$TOOLS/treecmp" "$CORPUS_DIR/before" "$T/r1$c"
	echo "$output"
	[ "$status" -eq 0 ]
	run mm restore "$s3" --target "$T/r3"
	[ "$status" -eq 0 ]
	run "$TOOLS/treecmp" "$c" "$T/r3$c"
	echo "$output"
	[ "$status" -eq 0 ]
	run mm check --read-data
	[ "$status" -eq 0 ]
}

@test "inserting one byte near the start of a large file adds only the chunks around it" {
	mm init >/dev/null
	mkdir "$T/big"
	head -c 24000000 /dev/urandom > "$T/big/disk.img"
	mm backup "$T/big" >/dev/null
	{ head -c 1000 "$T/big/disk.img"; printf 'X'; tail -c +1001 "$T/big/disk.img"; } > "$T/big/disk.new"
	mv "$T/big/disk.new" "$T/big/disk.img"
	run mm --json backup "$T/big"
	[ "$status" -eq 0 ]
	added=$(echo "$output" | summary_field bytes_added)
	# One or two chunks (about 1 MiB each, at most 8 MiB) of 24 MB.
	[ "$added" -lt 10000000 ]
	[ "$added" -gt 0 ]
	run mm restore latest --target "$T/r"
	cmp "$T/big/disk.img" "$T/r$T/big/disk.img"
}
