#!/usr/bin/env bats
# Incidents end to end through the command line, with a fixed clock
# (MAMORI_NOW) so the derived times are exact.

load helpers

at() {
	MAMORI_NOW=$1 "$MAMORI" "${@:2}"
}

@test "an incident from open to resolve, with its derived times" {
	run at 2026-12-01T10:10:00Z incident open --title "File server disk failed" --severity 1 \
		--scope "tax office shares" --occurred 2026-12-01T10:00:00Z --rto 4h --dataset 住民記録
	[ "$status" -eq 0 ]
	[ "$output" = "INC-1 opened" ]
	run at 2026-12-01T10:15:00Z incident note INC-1 disk 2 reports SMART errors
	[ "$output" = "note recorded" ]
	run at 2026-12-01T10:20:00Z incident action INC-1 "restore from last night" --owner tanaka --due 2026-12-02
	[ "$output" = "action recorded" ]
	run at 2026-12-01T13:00:00Z incident recover INC-1 shares online again
	[ "$output" = "recovery recorded" ]
	run at 2026-12-01T15:00:00Z incident resolve INC-1 --cause "disk wear" \
		--prevention "replace disks after 5 years" --owner suzuki
	[ "$output" = "INC-1 resolved" ]
	run at 2026-12-01T15:01:00Z incident resolve INC-1 --cause a --prevention b
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: INC-1 is resolved already" ]
	run mm incident show INC-1 --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["id"] == "INC-1" and i["state"] == "resolved" and i["severity"] == 1, i
assert i["occurred"] == "2026-12-01T10:00:00Z" and i["detected"] == "2026-12-01T10:10:00Z", i
assert i["recovered"] == "2026-12-01T13:00:00Z" and i["resolved"] == "2026-12-01T15:00:00Z", i
assert i["time_to_detect_s"] == 600 and i["time_to_recover_s"] == 10800, i
assert i["rto_s"] == 14400 and i["rto_met"] is True, i
assert i["datasets"] == ["住民記録"], i
assert i["cause"] == "disk wear" and i["prevention_owner"] == "suzuki", i
assert [e["event"] for e in i["timeline"]] == ["open", "note", "action", "recover", "resolve"], i
assert i["timeline"][2]["owner"] == "tanaka" and i["timeline"][2]["due"] == "2026-12-02", i
assert i["timeline"][1]["text"] == "disk 2 reports SMART errors", i
'
	TZ=UTC run mm incident show INC-1
	echo "$output" | grep -qx 'time to detect: 10m 0s, time to recover: 3h 0m, RTO: 4h 0m (met)'
	echo "$output" | grep -qx 'prevention: replace disks after 5 years (owner suzuki)'
	# Every event is in the ledger, and the ledger verifies.
	run mm log show --json
	[ "$(echo "$output" | python3 -c 'import json,sys; print(sum(r["command"] == "incident" for r in json.load(sys.stdin)))')" -eq 5 ]
	run mm log verify
	[ "$status" -eq 0 ]
}

@test "a CRITICAL alert opens an incident, a second attaches, OK notes the recovery" {
	run at 2026-12-01T09:00:00Z incident alert --check disk:/srv --state WARNING --message "91% full"
	[ "$output" = "recorded" ]
	run at 2026-12-01T09:30:00Z incident alert --check disk:/srv --state CRITICAL --message "99% full"
	[ "$output" = "opened INC-2" ]
	run at 2026-12-01T09:35:00Z incident alert --check disk:/srv --state CRITICAL --message "100% full"
	[ "$output" = "attached INC-2" ]
	run at 2026-12-01T10:15:00Z incident alert --check disk:/srv --state OK --message "40% full"
	[ "$output" = "recovered INC-2" ]
	run mm incident list --open
	[ "$status" -eq 0 ]
	echo "$output" | grep -q '^INC-2     recovered  sev 2  .*  disk:/srv: 99% full$'
	run at 2026-12-01T11:00:00Z incident resolve INC-2 --cause "logrotate stopped" --prevention "monitor logrotate"
	[ "$status" -eq 0 ]
	run mm incident list --open
	[ "$output" = "" ]
	run mm incident show 2 --json
	echo "$output" | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["check"] == "disk:/srv" and i["state"] == "resolved", i
assert i["time_to_detect_s"] == 0 and i["time_to_recover_s"] == 2700, i
t = [(e["event"], e["text"]) for e in i["timeline"]]
assert t[0] == ("open", "CRITICAL alert of check disk:/srv: 99% full"), t
assert t[1] == ("alert", "CRITICAL alert of check disk:/srv: 100% full"), t
assert t[2] == ("recover", "check disk:/srv is OK again: 40% full"), t
assert t[3][0] == "resolve", t
'
}

@test "incident errors are clear" {
	run mm incident open --severity 1
	[ "$status" -eq 2 ]
	run mm incident open --title x --severity 7
	[ "$status" -eq 2 ]
	echo "$output" | grep -q -- '--severity is 1 (highest) to 4'
	run mm incident note INC-5 hello
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: no incident INC-5 in the ledger (see 'mamori incident list')" ]
	run mm incident alert --check x --state BROKEN
	[ "$status" -eq 2 ]
	run mm incident frobnicate
	[ "$status" -eq 2 ]
}

@test "an incident's RTO comes from the affected datasets of mamori.conf (the strictest wins)" {
	cat > "$T/mamori.conf" <<-CONF
	[repository local]
	url = $T/repo
	password-file = $MAMORI_PASSWORD_FILE

	[dataset juminkiroku]
	paths = $T/a
	repository = local
	priority = 1
	rpo = 1h
	rto = 2h

	[dataset zeimu]
	paths = $T/b
	repository = local
	priority = 2
	rpo = 4h
	rto = 8h
	CONF
	export MAMORI_CONFIG=$T/mamori.conf
	run at 2026-12-01T10:00:00Z incident open --title "SAN down" --dataset zeimu --dataset juminkiroku
	[ "$output" = "INC-1 opened" ]
	run at 2026-12-01T13:00:00Z incident recover INC-1
	run mm incident show INC-1 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["rto_s"], i["time_to_recover_s"], i["rto_met"])')" = "7200 10800 False" ]
	# Without the file, no RTO is known.
	MAMORI_CONFIG=$T/none.conf run mm incident show INC-1 --json
	[ "$(echo "$output" | python3 -c 'import json,sys; i=json.load(sys.stdin); print(i["rto_s"], i["rto_met"])')" = "None None" ]
}
