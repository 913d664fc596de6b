#!/usr/bin/env bats
# Locks: dead holders removed, live ones named, --lock-wait, unlock.

load helpers

teardown() {
	# A holder left paused by a failed test must not outlive it.
	[ -n "${HOLDER:-}" ] && kill -9 "$HOLDER" 2>/dev/null
	true
}

# Lock objects (not the temporary files of one being written).
nlocks() {
	ls "$T/repo/locks" | grep -cE '^[0-9a-f]{64}$' || true
}

# Start `mamori ARGS...` in the background holding its lock until
# $T/release exists; wait (bounded) until its lock object is there.
hold() {
	rm -f "$T/release"
	MAMORI_TEST_LOCK_PAUSE=$T/release "$MAMORI" "$@" >"$T/holder.out" 2>&1 &
	HOLDER=$!
	for _ in $(seq 1 1500); do
		[ "$(nlocks)" -ge 1 ] && return 0
		sleep 0.02
	done
	return 1
}

@test "a lock of a killed process on this host is removed by the next command" {
	mm init >/dev/null
	mkdir "$T/src"
	echo a > "$T/src/a"
	hold backup "$T/src"
	kill -9 "$HOLDER"
	wait "$HOLDER" || true
	HOLDER=
	[ "$(nlocks)" -eq 1 ]
	run mm forget --keep-last 1
	[ "$status" -eq 0 ]
	[ "$(nlocks)" -eq 0 ]
}

@test "a live holder is named (exit 11); --lock-wait waits for it to finish" {
	mm init >/dev/null
	mkdir "$T/src"
	echo a > "$T/src/a"
	mm backup "$T/src" >/dev/null
	hold forget --keep-last 1
	run mm forget --keep-last 1
	[ "$status" -eq 11 ]
	[[ "$output" == *"repository is locked: a shared lock held by $(id -un)@$(hostname) pid $HOLDER (forget)"*" ago"* ]]
	# A backup runs beside forget.
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	run mm --lock-wait 1s forget --keep-last 1
	[ "$status" -eq 11 ]
	# Released while the second one waits: it gets the lock.
	mm --lock-wait 5m forget --keep-last 1 > "$T/waiter.out" 2>&1 &
	waiter=$!
	touch "$T/release"
	wait "$HOLDER"
	HOLDER=
	wait "$waiter"
	grep -q "1 snapshot kept" "$T/waiter.out"
	run mm --lock-wait soon snapshots
	[ "$status" -eq 2 ]
	[[ "$output" == *"--lock-wait takes a duration"* ]]
}

@test "unlock keeps live locks; --remove-all removes them" {
	mm init >/dev/null
	hold check
	run mm unlock
	[ "$status" -eq 0 ]
	[[ "$output" == *"kept live lock of $(id -un)@$(hostname) pid $HOLDER (check)"* ]]
	[[ "$output" == *"0 locks removed, 1 live lock kept"* ]]
	run mm --json unlock --remove-all
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["removed"] == 1 and d["kept"] == 0, d
l = d["locks"][0]
assert l["command"] == "check" and l["state"] == "live" and l["removed"] is True, d
'
	[ "$(nlocks)" -eq 0 ]
	touch "$T/release"
	wait "$HOLDER" || true
	HOLDER=
}
