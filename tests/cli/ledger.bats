#!/usr/bin/env bats
# The ledger through the command line: every command recorded, checkpoints
# in the repository, tampering named by sequence number, kill -9 during
# appends, export and verification elsewhere.

load helpers

# Byte offset of record N's frame in a ledger file (frames: 44 + body).
frame_off() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
want, off, seq = int(sys.argv[2]), 0, 1
while seq < want:
    (n,) = struct.unpack_from('<I', data, off + 4)
    off += 44 + n
    seq += 1
print(off)
EOF
}

teardown() {
	if [ -n "${WRITER:-}" ]; then
		kill -9 "$WRITER" 2>/dev/null || true
		wait "$WRITER" 2>/dev/null || true
	fi
}

@test "every command that touches data is recorded; reads are not" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	mm backup "$T/data" --tag daily
	mm snapshots >/dev/null
	mm ls latest >/dev/null
	mm restore latest --target "$T/out"
	run mm restore nosuchsnap --target "$T/out2"
	[ "$status" -eq 18 ]
	mm log note "replaced disk 2 (ticket 4711)"
	run mm log show --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
recs = json.load(sys.stdin)
cmds = [(r["seq"], r["command"], r["exit_code"]) for r in recs]
assert cmds == [(1, "init", 0), (2, "backup", 0), (3, "restore", 0), (4, "restore", 18), (5, "note", 0)], cmds
# getopt moves options first: the same command.
assert recs[1]["fields"]["args"] == "--tag daily " + sys.argv[1] + "/data", recs[1]
assert recs[1]["result"].startswith("snapshot "), recs[1]
assert recs[1]["target"].endswith("/repo")
assert "nosuchsnap" in recs[3]["result"], recs[3]
assert recs[4]["fields"]["text"] == "replaced disk 2 (ticket 4711)"
assert recs[0]["prev"] == "0" * 64
' "$T"
	run mm log verify
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "intact" ]
}

@test "a backup leaves a signed checkpoint in the repository; log verify --repo checks it" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	mm backup "$T/data" >/dev/null
	[ "$(ls "$T/repo/checkpoints" | wc -l)" -eq 1 ]
	head -c 14 "$T/repo/checkpoints/"* | grep -q '^mamori.ledger/'
	run mm log verify --repo "$T/repo" --json
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert v["status"] == "intact" and v["records"] == 2, v
assert v["checkpoints"] == 1 and v["checkpoints_ok"] == 1, v
assert v["last_checkpoint"]["size"] == 2, v
'
	# log checkpoint --repo adds one more.
	mm log checkpoint --repo "$T/repo" >/dev/null
	[ "$(ls "$T/repo/checkpoints" | wc -l)" -eq 2 ]
}

@test "the backups of 'mamori run' are recorded and checkpointed into their repository" {
	mkdir -p "$T/src" && echo "resident register" > "$T/src/a.csv"
	mm init >/dev/null
	cat > "$T/mamori.conf" <<CONF
[repository local]
url = $T/repo
password-file = $T/password

[dataset juminkiroku]
paths = $T/src
repository = local
priority = 1
rpo = 1d
CONF
	run mm run --config "$T/mamori.conf"
	[ "$status" -eq 0 ]
	[ "$(ls "$T/repo/checkpoints" | wc -l)" -eq 1 ]
	run mm log show --json
	echo "$output" | python3 -c '
import json, sys
recs = json.load(sys.stdin)
b = [r for r in recs if r["command"] == "backup"]
assert len(b) == 1 and b[0]["fields"] == {"dataset": "juminkiroku", "via": "run"}, recs
assert b[0]["result"].startswith("snapshot ") and b[0]["target"] == sys.argv[1] + "/repo", b
assert recs[-1]["command"] == "run" and recs[-1]["exit_code"] == 0, recs[-1]
' "$T"
	run mm log verify --repo "$T/repo"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "intact" ]
}

@test "tampering is named by sequence number, exit 2" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	for i in 1 2 3 4 5 6; do mm log note "note $i" >/dev/null; done
	mm backup "$T/data" >/dev/null            # record 8, checkpoint of 8
	cp "$T/state/ledger" "$T/good"
	# a changed byte in record 4
	off=$(frame_off "$T/state/ledger" 4)
	printf 'X' | dd of="$T/state/ledger" bs=1 seek=$((off + 60)) conv=notrunc 2>/dev/null
	run mm log verify
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "first bad record: 4" ]
	# record 4 removed
	cp "$T/good" "$T/state/ledger"
	o4=$(frame_off "$T/good" 4); o5=$(frame_off "$T/good" 5)
	{ head -c "$o4" "$T/good"; tail -c +$((o5 + 1)) "$T/good"; } > "$T/state/ledger"
	run mm log verify
	[ "$status" -eq 2 ]
	echo "$output" | grep -qx 'TAMPERED: record 4 is missing: record 5 follows record 3'
	[ "${lines[-1]}" = "first bad record: 4" ]
	# cut short after the checkpoint: records 7 and 8 gone
	head -c "$(frame_off "$T/good" 7)" "$T/good" > "$T/state/ledger"
	run mm log verify --repo "$T/repo"
	[ "$status" -eq 2 ]
	echo "$output" | grep -q '^TAMPERED: records 7 to 8 were removed: the ledger holds 6 records'
	[ "${lines[-1]}" = "first bad record: 7" ]
}

@test "a fresh valid chain in place of the ledger is caught by the repository's checkpoint" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	mm backup "$T/data" >/dev/null
	mm log note "the real history" >/dev/null
	# The intruder builds a clean ledger elsewhere and replaces the whole
	# state directory: records, key and local checkpoints.
	MAMORI_STATE_DIR=$T/fake mm log note "nothing happened" >/dev/null
	MAMORI_STATE_DIR=$T/fake mm log note "nothing at all" >/dev/null
	MAMORI_STATE_DIR=$T/fake mm log checkpoint >/dev/null
	rm -rf "$T/state" && mv "$T/fake" "$T/state"
	run mm log verify
	[ "$status" -eq 0 ]               # alone, the forgery looks fine
	run mm log verify --repo "$T/repo"
	[ "$status" -eq 2 ]
	echo "$output" | grep -q 'is signed by another ledger key'
	echo "$output" | grep -q 'the ledger and its key were replaced'
	[ "${lines[-1]}" = "first bad record: 1" ]
}

@test "only the ledger file replaced by a fresh chain: root mismatch names record 1" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	mm backup "$T/data" >/dev/null
	MAMORI_STATE_DIR=$T/fake mm log note "a" >/dev/null
	MAMORI_STATE_DIR=$T/fake mm log note "b" >/dev/null
	MAMORI_STATE_DIR=$T/fake mm log note "c" >/dev/null
	cp "$T/fake/ledger" "$T/state/ledger"
	rm -rf "$T/state/checkpoints"
	run mm log verify --repo "$T/repo"
	[ "$status" -eq 2 ]
	echo "$output" | grep -q '^TAMPERED: records 1 to 2 do not match the checkpoint of '
	[ "${lines[-1]}" = "first bad record: 1" ]
}

# Wait until process $1 is stopped (state T), without a fixed sleep.
wait_stopped() {
	local i
	for i in $(seq 1 2000); do
		case "$(ps -o stat= -p "$1" 2>/dev/null)" in
		T*) return 0 ;;
		"") return 1 ;;
		esac
		sleep 0.01
	done
	return 1
}

@test "kill -9 at 24 random points of an append: the torn tail is reported, then moved aside" {
	mm log note "first" >/dev/null
	size=$(stat -c %s "$T/state/ledger")     # one frame of a note
	for i in $(seq 1 24); do
		stop=$(( (RANDOM % (size - 1)) + 1 ))
		before=$(stat -c %s "$T/state/ledger")
		MAMORI_TEST_APPEND_STOP=$stop "$MAMORI" log note "note number $i" &
		WRITER=$!
		wait_stopped "$WRITER"
		kill -9 "$WRITER"
		wait "$WRITER" || true
		WRITER=
		[ "$(stat -c %s "$T/state/ledger")" -gt "$before" ]
		run mm log verify
		[ "$status" -eq 33 ]
		# 1 record, then 2 per round (the torn tail moved aside, the note after it)
		echo "$output" | grep -q "^TORN: record $((2 * i)) is torn (crash during append): "
		[ "${lines[-1]}" = "torn tail: the next append moves it aside; everything before it verifies" ]
		# The next append moves it aside and says so; all verifies again.
		mm log note "after crash $i" >/dev/null
		run mm log verify
		[ "$status" -eq 0 ]
	done
	[ "$(ls "$T/state/torn" | wc -l)" -eq 24 ]
	run mm log show --json
	echo "$output" | python3 -c '
import json, sys
recs = json.load(sys.stdin)
moved = [r for r in recs if r["command"] == "ledger"]
assert len(moved) == 24, len(moved)
assert all(r["fields"]["event"] == "torn-tail" for r in moved)
'
}

@test "kill -9 of free-running writers: the ledger verifies or reports exactly a torn tail" {
	for i in $(seq 1 4); do
		before=$(stat -c %s "$T/state/ledger" 2>/dev/null || echo 0)
		target=$((before + RANDOM % 1500 + 1))
		( while :; do
			"$MAMORI" log note "load $i" >/dev/null 2>&1 &
			echo $! > "$T/child"
			wait
		done ) &
		WRITER=$!
		until [ -s "$T/state/ledger" ] && [ "$(stat -c %s "$T/state/ledger")" -gt "$target" ]; do
			sleep 0.01
		done
		kill -9 "$WRITER"
		wait "$WRITER" 2>/dev/null || true
		WRITER=
		kill -9 "$(cat "$T/child")" 2>/dev/null || true
		while kill -0 "$(cat "$T/child")" 2>/dev/null; do sleep 0.01; done
		run mm log verify
		if [ "$status" -eq 33 ]; then
			[ "$(echo "$output" | grep -c '^TORN: ')" -eq 1 ]
			[ "$(echo "$output" | grep -c '^TAMPERED: ')" -eq 0 ]
		else
			[ "$status" -eq 0 ]
		fi
	done
}

@test "log export, then verify on another machine with the public key" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	mm backup "$T/data" >/dev/null
	mm log note "audit copy" >/dev/null
	mm log export "$T/export"
	[ -f "$T/export/ledger" ] && [ -f "$T/export/ledger.pub" ]
	[ ! -e "$T/export/ledger.key" ]
	cp "$T/export/ledger.pub" "$T/trusted.pub"
	cp "$T/repo/checkpoints/"* "$T/cp"
	run mm --state-dir "$T/export" log verify --pubkey "$T/trusted.pub" --checkpoint "$T/cp"
	[ "$status" -eq 0 ]
	[ "${lines[-1]}" = "intact" ]
	# The export's checkpoint against a shortened copy.
	head -c "$(frame_off "$T/export/ledger" 2)" "$T/export/ledger" > "$T/short"
	mv "$T/short" "$T/export/ledger"
	run mm --state-dir "$T/export" log verify --pubkey "$T/trusted.pub" --checkpoint "$T/cp"
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "first bad record: 2" ]
}

@test "log export before any checkpoint makes the key and exports its public half" {
	mm log note "first" >/dev/null
	[ ! -e "$T/state/ledger.key" ]
	run mm log export "$T/e"
	[ "$status" -eq 0 ]
	[ "$output" = "exported to $T/e: ledger, checkpoints/, ledger.pub" ]
	[ "$(stat -c %a "$T/state/ledger.key")" = "600" ]
	head -1 "$T/e/ledger.pub" | grep -qx -- '-----BEGIN PUBLIC KEY-----'
	run mm --state-dir "$T/e" log verify --pubkey "$T/e/ledger.pub"
	[ "$status" -eq 0 ]
}

@test "a ledger that cannot be written: the backup's exit code says so (34)" {
	mkdir -p "$T/data" && echo hello > "$T/data/a"
	mm init
	echo "not a directory" > "$T/blocker"
	MAMORI_STATE_DIR=$T/blocker/state run mm backup "$T/data"
	[ "$status" -eq 34 ]
	echo "$output" | grep -q "blocker: exists and is not a directory"
	echo "$output" | grep -q "warning: backup finished (exit 0) but was not recorded in the ledger"
	run mm --json snapshots
	[ "$(echo "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 1 ]
}

@test "log show filters by time and user" {
	MAMORI_NOW=2026-11-01T10:00:00Z mm log note "old" >/dev/null
	MAMORI_NOW=2026-11-20T10:00:00Z mm log note "new" >/dev/null
	run mm log show --since 2026-11-10 --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; print([r["fields"]["text"] for r in json.load(sys.stdin)])')" = "['new']" ]
	run mm log show --user nobody-here --json
	[ "$output" = "[]" ]
	run mm log show --since yesterday
	[ "$status" -eq 2 ]
}
