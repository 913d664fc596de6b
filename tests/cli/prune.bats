#!/usr/bin/env bats
# prune: what no snapshot needs goes; killed at any step nothing is lost;
# backups run while it works.

load helpers

teardown() {
	for p in ${BG_PIDS:-}; do kill -9 "$p" 2>/dev/null; done
	true
}

# Three snapshots of $T/src that differ; the first two are then forgotten.
three_snapshots() {
	mm init >/dev/null
	mkdir -p "$T/src/docs"
	head -c 3000000 /dev/urandom > "$T/src/big-a.bin"
	head -c 1500000 /dev/urandom > "$T/src/keep.bin"
	for i in $(seq 1 30); do echo "document $i" > "$T/src/docs/d$i.txt"; done
	mm backup "$T/src" >/dev/null
	rm "$T/src/big-a.bin"
	head -c 2000000 /dev/urandom > "$T/src/big-b.bin"
	echo changed > "$T/src/docs/d1.txt"
	mm backup "$T/src" >/dev/null
	rm "$T/src/big-b.bin"
	head -c 500000 /dev/urandom > "$T/src/small-c.bin"
	mm backup "$T/src" >/dev/null
}

# Every snapshot restores (exit 0: every blob found and authenticated) and
# holds keep.bin as it was.
restore_all_ok() {
	for id in $(mm --json snapshots | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'); do
		rm -rf "$T/out"
		mm restore "$id" --target "$T/out" >/dev/null || return 1
		cmp "$(find "$T/out" -name keep.bin)" "$T/src/keep.bin" || return 1
	done
}

@test "prune deletes unused packs, repacks partly used ones, check --read-data passes" {
	three_snapshots
	mm forget --keep-last 1 >/dev/null
	before=$(du -sb "$T/repo/data" | cut -f1)
	run mm --json prune --dry-run
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] is True and d["snapshots"] == 1, d
assert d["packs_deleted"] + d["packs_repacked"] >= 1 and d["bytes_freed"] > 4000000, d
'
	[ "$(du -sb "$T/repo/data" | cut -f1)" -eq "$before" ]
	run mm --json prune --max-unused 0%
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] is False and d["bytes_unused_after"] < 4096, d
assert d["index_objects_removed"] == 3, d
'
	after=$(du -sb "$T/repo/data" | cut -f1)
	[ "$after" -lt $((before - 4000000)) ]
	run mm check --read-data
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors found"* ]]
	restore_all_ok
	cmp "$T/out$T/src/small-c.bin" "$T/src/small-c.bin"
	[ "$(cat "$T/out$T/src/docs/d1.txt")" = "changed" ]
	# Nothing left to do: a second prune changes nothing.
	run mm --json prune
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["packs_deleted"] == 0 and d["packs_repacked"] == 0 and d["index_objects_removed"] == 0, d
'
	run mm prune --max-unused lots
	[ "$status" -eq 2 ]
	[[ "$output" == *"--max-unused takes a percentage"* ]]
}

@test "forget --prune forgets, then prunes" {
	three_snapshots
	run mm forget --keep-last 1 --prune --max-unused 0
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 snapshot kept, 2 removed"* ]]
	[[ "$output" == *"deleted "*" packs, repack "* ]]
	mm check --read-data >/dev/null
	restore_all_ok
}

@test "prune killed at each of 10 steps: check passes and every snapshot restores" {
	three_snapshots
	mm forget --keep-last 2 >/dev/null
	cp -a "$T/repo" "$T/pristine"
	MAMORI_TEST_PRUNE_TRACE=$T/trace mm prune --max-unused 0 >/dev/null
	steps=$(wc -l < "$T/trace")
	[ "$steps" -ge 8 ]
	rm -rf "$T/repo"
	tried=0
	# Ten kill points spread over every step, the first and the last included.
	for k in $(python3 -c "import sys; n=int(sys.argv[1]); print(*sorted({1 + i * (n - 1) // 9 for i in range(10)}))" "$steps"); do
		rm -rf "$T/repo"
		cp -a "$T/pristine" "$T/repo"
		run env MAMORI_TEST_PRUNE_KILL=$k "$MAMORI" prune --max-unused 0
		[ "$status" -eq 137 ]
		run mm check
		[ "$status" -eq 0 ] || { echo "after a kill at step $k: $output"; false; }
		restore_all_ok || { echo "after a kill at step $k: a snapshot does not restore"; false; }
		tried=$((tried + 1))
	done
	[ "$tried" -ge 8 ]
	# The last repository was killed part way: a prune completes it.
	run mm prune --max-unused 0
	[ "$status" -eq 0 ]
	mm check --read-data >/dev/null
	restore_all_ok
}

@test "a backup runs while prune works; prune waits for it, keeps what it needs" {
	three_snapshots
	# "document 1" (the first d1.txt) is only in the forgotten snapshots...
	mm forget --keep-last 1 >/dev/null
	# ...and a backup that loaded the index before prune backs it up again:
	# it finds the blob known and does not store it.
	mkdir "$T/src2"
	rm -f "$T/release"
	echo "document 1" > "$T/src2/d1.txt"
	cp "$T/src/keep.bin" "$T/src2/keep.bin"
	MAMORI_TEST_LOCK_PAUSE=$T/release "$MAMORI" backup "$T/src2" > "$T/backup.out" 2>&1 &
	bpid=$!
	BG_PIDS="$bpid"
	for _ in $(seq 1 1500); do
		ls "$T/repo/locks" | grep -qE '^[0-9a-f]{64}$' && break
		sleep 0.02
	done
	MAMORI_TEST_PRUNE_TRACE=$T/trace "$MAMORI" --json --lock-wait 10m prune --max-unused 0 \
		> "$T/prune.out" 2> "$T/prune.err" &
	ppid=$!
	BG_PIDS="$bpid $ppid"
	# Prune did all of phase 1 beside the running backup and now waits.
	for _ in $(seq 1 3000); do grep -q waiting "$T/trace" 2>/dev/null && break; sleep 0.02; done
	grep -q "indexed" "$T/trace"
	! grep -q "exclusive" "$T/trace"
	touch "$T/release"
	wait "$bpid"
	wait "$ppid"
	BG_PIDS=
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["new_snapshots"] == 1 and d["packs_rescued"] >= 1, d
' "$T/prune.out"
	run mm check --read-data
	[ "$status" -eq 0 ]
	restore_all_ok
	rm -rf "$T/out"
	mm restore latest --target "$T/out" >/dev/null
	[ "$(cat "$T/out$T/src2/d1.txt")" = "document 1" ]
	cmp "$T/out$T/src2/keep.bin" "$T/src/keep.bin"
}
