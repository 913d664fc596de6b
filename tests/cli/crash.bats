#!/usr/bin/env bats
# Crash consistency: a backup killed (SIGKILL) at 50 points spread over its
# write order leaves a repository that checks clean, and the next backup
# completes and restores exactly. The kill point is the Nth call that
# changes a file system (tests/shims/faults.c, MAMORI_FAULT_KILL_AT), so
# the moments are the same on a fast or a loaded machine.
#
# A SIGKILL is not a power cut: what the killed process wrote is still in
# the page cache. What it checks is the order of writes and renames.
#
# MAMORI_CRASH_POINTS and MAMORI_CRASH_SCALE make it longer (make soak).
# The same for prune: a prune that deletes and repacks, killed at 50 points
# of its write order.

load helpers

teardown() {
	kill_background
}

# Back up $T/src with the shim, killed at call $1 (0: not killed).
backup_killed_at() {
	# shellcheck disable=SC2046
	env $(faults_env) MAMORI_FAULT_KILL_AT="$1" MAMORI_FAULT_COUNT_TO="$T/count" \
		"$MAMORI" backup "$T/src" > "$T/killed.out" 2>&1
}

@test "a backup killed at ${MAMORI_CRASH_POINTS:-50} points of its write order: check passes, the next backup completes, restore matches" {
	points=${MAMORI_CRASH_POINTS:-50}
	# Scale 0.03 (about 40 MB): a backup of it makes 65-70 changing calls, so
	# the 50 points are 50 different moments (a tiny corpus makes under 50).
	python3 "$TOOLS/mkcorpus" "$T/src" --scale "${MAMORI_CRASH_SCALE:-0.03}" >/dev/null
	# How many changing calls a whole backup makes, in a scratch repository.
	MAMORI_REPOSITORY=$T/scratch mm init >/dev/null
	MAMORI_REPOSITORY=$T/scratch backup_killed_at 0
	total=$(cat "$T/count")
	echo "a whole backup makes $total changing calls"
	[ "$total" -gt 10 ]
	# As many points as asked, spread evenly; with fewer calls than that,
	# every call (each moment there is) is a kill point.
	if [ "$total" -le "$points" ]; then
		points=$((total - 1))
	fi
	for i in $(seq 1 "$points"); do
		at=$((i * total / (points + 1)))
		[ "$at" -ge 1 ] || at=1
		rm -rf "$T/repo" "$T/out"
		mm init >/dev/null
		status_killed=0
		backup_killed_at "$at" || status_killed=$?
		# Killed (137) unless the point fell after the snapshot was written.
		[ "$status_killed" -eq 137 ] || [ "$status_killed" -eq 0 ] || {
			echo "kill at $at/$total: exit $status_killed"; cat "$T/killed.out"; false; }
		# Every 10th with --read-data (every byte), the others the structure.
		if [ $((i % 10)) -eq 5 ]; then run mm check --read-data; else run mm check; fi
		[ "$status" -eq 0 ] || { echo "kill at $at/$total: check failed"; echo "$output"; false; }
		run mm backup "$T/src"
		[ "$status" -eq 0 ] || { echo "kill at $at/$total: next backup failed"; echo "$output"; false; }
		if [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$points" ]; then
			run mm check --read-data
			[ "$status" -eq 0 ] || { echo "kill at $at/$total: check after backup"; echo "$output"; false; }
			mm restore latest --target "$T/out" >/dev/null
			python3 "$TOOLS/treecmp" "$T/src" "$T/out$T/src"
		fi
	done
}

# Prune $T/repo with the shim, killed at call $1 (0: not killed).
prune_killed_at() {
	# shellcheck disable=SC2046
	env $(faults_env) MAMORI_FAULT_KILL_AT="$1" MAMORI_FAULT_COUNT_TO="$T/count" \
		"$MAMORI" prune --max-unused 0 > "$T/killed.out" 2>&1
}

@test "a prune killed at ${MAMORI_CRASH_POINTS:-50} points of its write order: check passes, no snapshot is lost, the next prune completes" {
	points=${MAMORI_CRASH_POINTS:-50}
	# Eight days of work, the first six forgotten: packs to delete and to
	# repack, and more than 50 changing calls (about 62).
	python3 "$TOOLS/mkcorpus" "$T/src" --scale "${MAMORI_CRASH_SCALE:-0.03}" >/dev/null
	mm init >/dev/null
	for day in 1 2 3 4 5 6 7 8; do
		mm backup "$T/src" >/dev/null
		python3 "$TOOLS/mkcorpus" "$T/src" --mutate >/dev/null
	done
	mm forget --keep-last 2 >/dev/null
	mm --json snapshots | python3 -c 'import json,sys; print(sorted(s["id"] for s in json.load(sys.stdin)))' > "$T/kept"
	cp -a "$T/repo" "$T/base"
	prune_killed_at 0
	total=$(cat "$T/count")
	echo "a whole prune makes $total changing calls"
	[ "$total" -gt 10 ]
	if [ "$total" -le "$points" ]; then
		points=$((total - 1))
	fi
	for i in $(seq 1 "$points"); do
		at=$((i * total / (points + 1)))
		[ "$at" -ge 1 ] || at=1
		rm -rf "$T/repo" "$T/out"
		cp -a "$T/base" "$T/repo"
		status_killed=0
		prune_killed_at "$at" || status_killed=$?
		[ "$status_killed" -eq 137 ] || [ "$status_killed" -eq 0 ] || {
			echo "kill at $at/$total: exit $status_killed"; cat "$T/killed.out"; false; }
		if [ $((i % 10)) -eq 5 ]; then run mm check --read-data; else run mm check; fi
		[ "$status" -eq 0 ] || { echo "kill at $at/$total: check failed"; echo "$output"; false; }
		# No snapshot lost.
		[ "$(mm --json snapshots | python3 -c 'import json,sys; print(sorted(s["id"] for s in json.load(sys.stdin)))')" = "$(cat "$T/kept")" ]
		run mm prune --max-unused 0
		[ "$status" -eq 0 ] || { echo "kill at $at/$total: next prune failed"; echo "$output"; false; }
		if [ $((i % 10)) -eq 0 ] || [ "$i" -eq "$points" ]; then
			run mm check --read-data
			[ "$status" -eq 0 ] || { echo "kill at $at/$total: check after prune"; echo "$output"; false; }
			mm restore latest --target "$T/out" >/dev/null
		fi
	done
}
