#!/usr/bin/env bats
# Restore drills on a small generated corpus: restore, verify every byte,
# project restore times in priority order; a corrupted pack fails the drill
# naming the dataset and the file; status shows the last drill.

load helpers

drill_setup() {
	export TZ=UTC
	export MAMORI_STATE_DIR=$T/state
	export MAMORI_CONFIG=$T/mamori.conf
	unset MAMORI_REPOSITORY MAMORI_PASSWORD_FILE
	printf 'drill secret\n' > "$T/pw"
	mm -r "$T/repo" --password-file "$T/pw" init >/dev/null
	if [ "${1:-}" = "small" ]; then
		mkdir -p "$T/corpus"
		printf 'one file\n' > "$T/corpus/one"
	else
		python3 "$TOOLS/mkcorpus" "$T/corpus" --scale 0.004
	fi
	printf 'a small one\n' > "$T/small.txt"
	cat > "$MAMORI_CONFIG" <<CONF
[repository local]
url = $T/repo
password-file = $T/pw

[dataset corpus]
paths = $T/corpus
repository = local
priority = 1
rpo = 1h
rto = 1d

[dataset small]
command = cat $T/small.txt
repository = local
priority = 2
rpo = 1h
rto = 2d
CONF
	MAMORI_NOW=2026-12-01T00:00:00Z "$MAMORI" run >/dev/null
}

@test "drill restores and verifies each dataset in priority order and projects the plan" {
	drill_setup
	run env MAMORI_NOW=2026-12-01T00:05:00Z "$MAMORI" drill --target "$T/scratch"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"corpus (priority 1): snapshot "[0-9a-f]{8}": "[0-9]+" files, "[0-9.]+" MiB restored in "[0-9.]+" s ("[0-9.]+" "[KMG]"iB/s) and verified, 100% sample"$ ]]
	[[ "${lines[1]}" =~ ^"  projected full restore "[0-9.]+" s, plan so far "[0-9.]+" s: RTO 1d met"$ ]]
	[[ "${lines[2]}" =~ ^"small (priority 2): snapshot "[0-9a-f]{8}": 1 files, 12 B restored in " ]]
	[[ "${lines[3]}" =~ ": RTO 2d met"$ ]]
	# the scratch folder is left empty
	[ "$(ls -A "$T/scratch")" = "" ]
	# projections: with everything restored, projected = measured; the plan adds up
	run env MAMORI_NOW=2026-12-01T00:06:00Z "$MAMORI" --json drill
	[ "$status" -eq 0 ]
	printf '%s' "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [x["dataset"] for x in d] == ["corpus", "small"], d
for x in d:
    assert x["ok"] and x["rto_met"] and x["sample"] == 100, x
    assert x["bytes"] == x["bytes_total"] > 0, x
    assert abs(x["projected"] - x["seconds"]) < 1e-6, x
assert abs(d[1]["cumulative"] - d[0]["projected"] - d[1]["projected"]) < 1e-6, d
'
	# a sample restores part of the files and projects the whole
	run env MAMORI_NOW=2026-12-01T00:07:00Z "$MAMORI" --json drill corpus --sample 30
	[ "$status" -eq 0 ]
	printf '%s' "$output" | python3 -c '
import json, sys
x = json.load(sys.stdin)[0]
assert x["ok"] and x["sample"] == 30, x
assert 0 < x["files"] < 131 and 0 < x["bytes"] < x["bytes_total"], x
assert x["projected"] >= x["seconds"], x
'
	# the results are in the repository: status shows the newest drill
	run env MAMORI_NOW=2026-12-01T00:10:00Z "$MAMORI" status corpus
	[ "$status" -eq 0 ]
	[[ "${lines[3]}" =~ ^"  drill    OK: projected restore "[0-9dhms]+" from the start of the plan (drill of 2026-12-01T00:07:00Z; RTO 1d)"$ ]]
	[ "$(ls "$T/repo/drills" | wc -l)" -eq 5 ]
	run env MAMORI_NOW=2026-12-01T00:10:00Z "$MAMORI" drill --nagios small
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^"MAMORI DRILL OK - 1 datasets | 'small_restore'="[0-9]+"s;;172800;0"$ ]]
}

@test "a corrupted pack fails the drill naming the dataset and the file; status goes CRITICAL" {
	drill_setup
	pack=$(find "$T/repo/data" -type f -size +1M | head -1)
	[ -n "$pack" ]
	printf 'XXXXXXXXXXXXXXXX' | dd of="$pack" bs=1 seek=4096 conv=notrunc status=none
	run env MAMORI_NOW=2026-12-01T00:05:00Z "$MAMORI" drill
	[ "$status" -eq 46 ]
	[[ "$output" =~ "corpus (priority 1): FAILED: $T/corpus/"[^:]+": not restored: pack "[0-9a-f]{16}": blob "[0-9a-f]{16}": authentication failed" ]]
	[[ "$output" =~ "small (priority 2): snapshot " ]]
	run env MAMORI_NOW=2026-12-01T00:10:00Z "$MAMORI" status --nagios corpus
	[ "$status" -eq 2 ]
	[[ "$output" =~ ^"MAMORI CRITICAL - 1 datasets: 1 critical, 0 warning, 0 unknown, 0 ok; corpus: the last drill failed: $T/corpus/" ]]
	run env MAMORI_NOW=2026-12-01T00:10:00Z "$MAMORI" drill --nagios corpus
	[ "$status" -eq 2 ]
	[[ "$output" =~ ^"MAMORI DRILL CRITICAL - 1 datasets; corpus: $T/corpus/" ]]
}

@test "drill --offsite restores from the copy-to repository and keeps its result there" {
	drill_setup small
	mm -r "$T/offsite" --password-file "$T/pw" init >/dev/null
	cat >> "$MAMORI_CONFIG" <<CONF

[repository offsite]
url = $T/offsite
password-file = $T/pw
CONF
	sed -i 's/^repository = local$/repository = local\ncopy-to = offsite/' "$MAMORI_CONFIG"
	# what an offsite copy leaves there: a snapshot with the dataset's tag
	mm -r "$T/offsite" --password-file "$T/pw" backup --tag dataset=small \
		--stdin-from-command --stdin-filename small -- cat "$T/small.txt" >/dev/null
	run env MAMORI_NOW=2026-12-01T00:05:00Z "$MAMORI" drill --offsite
	[ "$status" -eq 46 ]
	[ "${lines[0]}" = "corpus (priority 1): FAILED: no copy in the offsite repository" ]
	[[ "${lines[1]}" =~ ^"small (priority 2): snapshot "[0-9a-f]{8}": 1 files, 12 B restored in " ]]
	[ "$(ls "$T/offsite/drills" | wc -l)" -eq 2 ]
	[ ! -e "$T/repo/drills" ] || [ "$(ls "$T/repo/drills" | wc -l)" -eq 0 ]
}

@test "drill refuses a target that already holds the dataset and a bad sample" {
	drill_setup small
	mkdir -p "$T/scratch/small"
	run "$MAMORI" drill small --target "$T/scratch"
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: $T/scratch/small already exists: give drill an empty --target" ]
	run "$MAMORI" drill --sample 0
	[ "$status" -eq 2 ]
	[[ "$output" == "mamori drill: --sample takes a percentage above 0 and up to 100, such as 10"* ]]
}
