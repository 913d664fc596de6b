#!/usr/bin/env bats
# Two backups of different folders into one repository at the same time,
# with a check running beside them: both snapshots are valid and restorable.

load helpers

teardown() {
	kill_background
}

@test "two backups at once and a check: both snapshots valid and restorable" {
	mm init >/dev/null
	mkdir -p "$T/a" "$T/b"
	for i in 1 2 3; do
		head -c 6000000 /dev/urandom > "$T/a/a$i.bin"
		head -c 6000000 /dev/urandom > "$T/b/b$i.bin"
	done
	# The same bytes in both: the two writers may store them twice, never lose them.
	head -c 3000000 /dev/urandom > "$T/a/shared.bin"
	cp "$T/a/shared.bin" "$T/b/shared.bin"
	echo small > "$T/a/small.txt"
	start_bg "$T/a.out" "$MAMORI" backup "$T/a"
	pa=$BG_PID
	start_bg "$T/b.out" "$MAMORI" backup "$T/b"
	pb=$BG_PID
	start_bg "$T/c.out" "$MAMORI" check
	pc=$BG_PID
	wait "$pa" || { cat "$T/a.out"; false; }
	wait "$pb" || { cat "$T/b.out"; false; }
	wait "$pc" || { cat "$T/c.out"; false; }
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 2 ]
	[ "$(ls "$T/repo/locks" | wc -l)" -eq 0 ]
	run mm check --read-data
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 2 snapshots"* ]]
	for s in $(mm --json snapshots | python3 -c 'import json,sys; [print(x["id"]) for x in json.load(sys.stdin)]'); do
		mm restore "$s" --target "$T/out-$s" >/dev/null
	done
	n=0
	for d in "$T"/out-*; do
		if [ -d "$d$T/a" ]; then
			python3 "$TOOLS/treecmp" "$T/a" "$d$T/a"
			n=$((n + 1))
		fi
		if [ -d "$d$T/b" ]; then
			python3 "$TOOLS/treecmp" "$T/b" "$d$T/b"
			n=$((n + 1))
		fi
	done
	[ "$n" -eq 2 ]
}
