#!/usr/bin/env bats
# forget: the retention policy applied to a repository's snapshots.

load helpers

# Snapshots of $T/src at the given local times (TZ=UTC), one line each.
make_snaps() {
	for t in "$@"; do
		echo "$t" > "$T/src/stamp"
		mm backup --time "$t" "$T/src" >/dev/null
	done
}

count_snaps() {
	mm --json snapshots | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

@test "forget keeps per rule, names the rule, removes the rest" {
	export TZ=UTC
	mm init >/dev/null
	mkdir "$T/src"
	make_snaps "2026-01-30 10:00:00" "2026-01-30 20:00:00" "2026-01-31 09:00:00" \
		"2026-02-01 00:30:00" "2026-02-01 23:59:59"
	run mm forget --keep-daily 2 --keep-last 1 --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"host $(hostname), paths $T/src:"* ]]
	[ "$(echo "$output" | grep -c '^  keep ')" -eq 2 ]
	[[ "$output" == *"2026-02-01 23:59:59  last, daily"* ]]
	[[ "$output" == *"2026-01-31 09:00:00  daily"* ]]
	[ "$(echo "$output" | grep -c '^  remove ')" -eq 3 ]
	[[ "$output" == *"2 snapshots kept, 3 would be removed (dry run)"* ]]
	[ "$(count_snaps)" -eq 5 ]
	run mm --json forget --keep-daily 2 --keep-last 1
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["dry_run"] is False and d["kept"] == 2 and d["removed"] == 3, d
s = d["groups"][0]["snapshots"]
assert [x["keep"] for x in s] == [True, False, True, False, False], s
assert s[0]["reasons"] == ["last", "daily"] and s[0]["time"] == "2026-02-01T23:59:59Z", s
assert s[2]["reasons"] == ["daily"] and s[1]["reasons"] == [], s
'
	[ "$(count_snaps)" -eq 2 ]
	mm check >/dev/null
	mm restore latest --target "$T/out" >/dev/null
	[ "$(cat "$T/out$T/src/stamp")" = "2026-02-01 23:59:59" ]
}

@test "forget groups by host and paths; --host and --path select; --group-by none" {
	export TZ=UTC
	mm init >/dev/null
	mkdir "$T/src" "$T/other"
	make_snaps "2026-03-01 10:00:00" "2026-03-02 10:00:00"
	mm backup --time "2026-03-03 10:00:00" "$T/other" >/dev/null
	mm backup --time "2026-03-04 10:00:00" --host elsewhere "$T/src" >/dev/null
	run mm --json forget --keep-last 1 --dry-run
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["groups"]) == 3 and d["kept"] == 3 and d["removed"] == 1, d
'
	run mm --json forget --keep-last 1 --dry-run --group-by none
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert len(d["groups"]) == 1 and d["groups"][0]["host"] is None and d["removed"] == 3, d
'
	# Only the other host's snapshots are considered: nothing else moves.
	run mm forget --keep-last 1 --host elsewhere
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 snapshot kept, 0 removed"* ]]
	run mm forget --keep-last 1 --path "$T/src" --group-by paths
	[ "$status" -eq 0 ]
	[[ "$output" == *"1 snapshot kept, 2 removed"* ]]
	[ "$(count_snaps)" -eq 2 ]
}

@test "forget --keep-tag and --keep-within (relative to the newest snapshot)" {
	export TZ=Asia/Tokyo
	mm init >/dev/null
	mkdir "$T/src"
	mm backup --time "2020-01-01 00:00:00" --tag important "$T/src" >/dev/null
	make_snaps "2025-06-01 12:00:00" "2025-06-02 12:00:01" "2025-06-03 12:00:00"
	run mm --json forget --keep-within 1d --keep-tag important
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
s = d["groups"][0]["snapshots"]
assert [x["reasons"] for x in s] == [["within"], ["within"], [], ["tag"]], s
assert s[3]["time"] == "2019-12-31T15:00:00Z", s
'
	[ "$(count_snaps)" -eq 3 ]
}

@test "forget: an empty policy is refused (exit 13) unless --keep-none" {
	mm init >/dev/null
	mkdir "$T/src"
	mm backup "$T/src" >/dev/null
	run mm forget
	[ "$status" -eq 13 ]
	[[ "$output" == *"the policy keeps nothing"*"--keep-none"* ]]
	run mm forget --keep-daily 0 --keep-last 0
	[ "$status" -eq 13 ]
	[ "$(count_snaps)" -eq 1 ]
	run mm forget --keep-none
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 snapshots kept, 1 removed"* ]]
	[ "$(count_snaps)" -eq 0 ]
}

@test "forget: bad values are usage errors naming the option" {
	mm init >/dev/null
	run mm forget --keep-daily -3
	[ "$status" -eq 2 ]
	[[ "$output" == *"--keep-daily takes a count"* ]]
	run mm forget --keep-within 3w
	[ "$status" -eq 2 ]
	[[ "$output" == *"--keep-within takes a duration"* ]]
	run mm forget --keep-last 1 --group-by tags
	[ "$status" -eq 2 ]
	[[ "$output" == *"--group-by takes"* ]]
	run mm backup --time "yesterday" "$T"
	[ "$status" -eq 2 ]
	[[ "$output" == *"--time takes a local time"* ]]
}
