#!/usr/bin/env bats
# An interrupted backup's packs are reused by the next run, not sent again
# (local backend; the S3 one is in s3.bats).

load helpers

# "NAME INODE" of every pack file.
pack_inodes() {
	find "$T/repo/data" -type f -name '[0-9a-f]*' -printf '%f %i\n' | sort
}

@test "packs no index names are taken back: nothing is stored again" {
	mm init >/dev/null
	mkdir "$T/src"
	for i in 1 2 3; do head -c 6000000 /dev/urandom > "$T/src/f$i"; done
	mm backup "$T/src" >/dev/null
	before=$(pack_inodes)
	npacks=$(echo "$before" | wc -l)
	# What a run stopped after its packs and before its index leaves behind.
	rm "$T"/repo/index/* "$T"/repo/snapshots/*
	run mm --json check
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["unindexed_packs"])')" -eq "$npacks" ]
	run mm --json backup "$T/src"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: resuming: $npacks packs ("*" of an interrupted backup are reused, not sent again"* ]]
	json=$(echo "$output" | grep -v '^mamori: warning')
	# No data blob again; only a tree whose atimes changed may be new.
	[ "$(echo "$json" | summary_field blobs_added)" -eq 0 ]
	[ "$(echo "$json" | summary_field bytes_added)" -lt 65536 ]
	# The same pack files, untouched, and now indexed.
	after=$(pack_inodes)
	while read -r line; do
		grep -qx "$line" <<<"$after"
	done <<<"$before"
	run mm --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["unindexed_packs"], d["errors"])')" = "0 0" ]
	mm restore latest --target "$T/out" >/dev/null
	for i in 1 2 3; do cmp "$T/src/f$i" "$T/out$T/src/f$i"; done
}

@test "a backup killed mid-way: the next run sends only the packs that had not arrived" {
	mm init >/dev/null
	mkdir "$T/src"
	for i in 1 2 3 4 5 6; do head -c 20000000 /dev/urandom > "$T/src/f$i"; done
	# mamori itself in the background (not the mm function's subshell), so
	# the kill lands on it.
	"$MAMORI" backup "$T/src" >/dev/null 2>&1 &
	pid=$!
	# Kill once some pack is on disk, so the kill lands mid-backup.
	for _ in $(seq 1 400); do
		[ -n "$(find "$T/repo/data" -type f -name "[0-9a-f]*" 2>/dev/null | head -1)" ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" || true
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 0 ]
	left=$(pack_inodes)
	nleft=$(echo "$left" | grep -c . || true)
	[ "$nleft" -ge 1 ]
	run mm --json backup "$T/src"
	[ "$status" -eq 0 ]
	echo "$output"
	[[ "$output" == *"warning: resuming: $nleft packs ("* ]]
	# Every pack that had arrived is still the same file: none was written again.
	after=$(pack_inodes)
	while read -r line; do
		grep -qx "$line" <<<"$after"
	done <<<"$left"
	run mm --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["unindexed_packs"], d["errors"])')" = "0 0" ]
	mm restore latest --target "$T/out" >/dev/null
	for i in 1 2 3 4 5 6; do cmp "$T/src/f$i" "$T/out$T/src/f$i"; done
}

@test "a pack whose blobs do not open (zeros where a power loss left a hole) is not taken back" {
	mm init >/dev/null
	mkdir "$T/src"
	for i in 1 2 3; do head -c 6000000 /dev/urandom > "$T/src/f$i"; done
	mm backup "$T/src" >/dev/null
	npacks=$(pack_inodes | wc -l)
	rm "$T"/repo/index/* "$T"/repo/snapshots/*
	# The largest pack keeps its header (its last bytes) but loses a block.
	big=$(find "$T/repo/data" -type f -name '[0-9a-f]*' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	dd if=/dev/zero of="$big" bs=4096 seek=16 count=1 conv=notrunc status=none
	run mm --json backup "$T/src"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: resuming: $((npacks - 1)) packs ("* ]]
	run mm --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["unindexed_packs"], d["errors"])')" = "1 0" ]
	mm restore latest --target "$T/out" >/dev/null
	for i in 1 2 3; do cmp "$T/src/f$i" "$T/out$T/src/f$i"; done
}
