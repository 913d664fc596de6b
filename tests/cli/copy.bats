#!/usr/bin/env bats
# mamori copy: snapshots into a second repository with its own keys, local
# and over SFTP (a real sshd on 127.0.0.1, see sshd.bash), sending only
# what the target does not have.

load helpers
load sshd

setup_file() {
	sshd_start "$BATS_FILE_TMPDIR/sshd"
}

teardown_file() {
	sshd_stop
}

ms() {
	"$MAMORI" -o "sftp.args=-F $SSH_CONFIG" "$@"
}

# A field of copy --json output on stdin.
copy_field() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

make_source() {
	printf 'other password\n' > "$T/password2"
	mkdir -p "$T/src/docs"
	head -c 3000000 /dev/urandom > "$T/src/big.bin"
	printf 'minutes of the council\n' > "$T/src/docs/minutes.txt"
	mm init >/dev/null
	mm backup --tag daily --host cityhall "$T/src" >/dev/null
}

@test "copy: a target made with --copy-chunker-params-from gets the snapshot, then nothing again" {
	make_source
	run mm -r "$T/copy" --password-file "$T/password2" init \
		--copy-chunker-params-from "$T/repo" --from-password-file "$MAMORI_PASSWORD_FILE"
	[ "$status" -eq 0 ]
	[[ "$output" == *"It deduplicates like $T/repo (same chunker parameters and ID key)"* ]]
	run mm -r "$T/copy" --password-file "$T/password2" --json cat config
	[[ "$output" == *'"shared_ids":true'* ]]
	# Its own keys: the source's password does not open it.
	run mm -r "$T/copy" snapshots
	[ "$status" -eq 12 ]

	run mm --json copy --to "$T/copy" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_copied)" -eq 1 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_skipped)" -eq 0 ]
	sent=$(printf '%s' "$output" | copy_field blobs_sent)
	[ "$sent" -ge 5 ]  # three chunks of big.bin at least, minutes.txt, trees
	[ "$(printf '%s' "$output" | copy_field bytes_sent)" -ge 3000000 ]

	# The copy keeps time, host, paths and tags, and says where it came from.
	src_json=$(mm --json snapshots)
	dst_json=$(mm -r "$T/copy" --password-file "$T/password2" --json snapshots)
	python3 - "$src_json" "$dst_json" "$(mm --json cat config)" <<'PY'
import json, sys
s, d, cfg = json.loads(sys.argv[1])[0], json.loads(sys.argv[2])[0], json.loads(sys.argv[3])
for k in ("time_ns", "host", "user", "paths", "tags", "tree", "summary"):
    assert s[k] == d[k], (k, s[k], d[k])
assert d["copied_from"] == {"repository": cfg["id"], "snapshot": s["id"]}, d
assert "parent" not in d
PY
	run mm -r "$T/copy" --password-file "$T/password2" check --read-data
	[ "$status" -eq 0 ]
	mm -r "$T/copy" --password-file "$T/password2" restore latest --target "$T/out" >/dev/null
	"$TOOLS/treecmp" "$T/src" "$T/out$T/src"

	# Again: nothing to send.
	run mm copy --to "$T/copy" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[[ "$output" == *"snapshots: 0 copied, 1 already there"* ]]
	[[ "$output" == *"blobs:     0 sent (0 trees), 0 already there"* ]]
	[[ "$output" == *"data:      0 B sent, 0 B stored"* ]]
}

@test "copy: a target with its own chunking is refused with what to do, exit 32" {
	make_source
	mm -r "$T/other" --password-file "$T/password2" init >/dev/null
	run mm copy --to "$T/other" --to-password-file "$T/password2"
	[ "$status" -eq 32 ]
	[[ "$output" == *"make an empty target with 'mamori -r TARGET init --copy-chunker-params-from SOURCE'"* ]]
	[ "$(ls "$T/other/snapshots" | wc -l)" -eq 0 ]
	[ "$(find "$T/other/data" -type f | wc -l)" -eq 0 ]
	# A wrong password for the target: exit 12, nothing done.
	printf 'nope\n' > "$T/wrong"
	run mm copy --to "$T/other" --to-password-file "$T/wrong"
	[ "$status" -eq 12 ]
	run mm copy
	[ "$status" -eq 2 ]
	[[ "$output" == *"no target: give --to REPO2"* ]]
}

@test "copy: named snapshots only; an unknown name is an error" {
	make_source
	printf 'changed\n' > "$T/src/docs/new.txt"
	second=$(mm --json backup --host cityhall "$T/src" | snap_id)
	mm -r "$T/copy" --password-file "$T/password2" init \
		--copy-chunker-params-from "$T/repo" --from-password-file "$MAMORI_PASSWORD_FILE" >/dev/null
	run mm --json copy --to "$T/copy" --to-password-file "$T/password2" "${second:0:10}"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_copied)" -eq 1 ]
	[[ "$output" == *"\"source\":\"$second\""* ]]
	run mm copy --to "$T/copy" --to-password-file "$T/password2" ffffffff
	[ "$status" -eq 18 ]
	[[ "$output" == *"copy: source: no snapshot 'ffffffff' in this repository"* ]]
}

@test "copy: local to sftp and sftp to local, only new blobs sent" {
	make_source
	REMOTE=$SSHD_DIR/remote/$BATS_TEST_NUMBER/copy
	run ms -r "sftp:mamori-test:$REMOTE" --password-file "$T/password2" init \
		--copy-chunker-params-from "$T/repo" --from-password-file "$MAMORI_PASSWORD_FILE"
	[ "$status" -eq 0 ]
	run ms --json copy --to "sftp:mamori-test:$REMOTE" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_copied)" -eq 1 ]
	first_sent=$(printf '%s' "$output" | copy_field blobs_sent)
	# Second copy: nothing sent.
	run ms --json copy --to "sftp:mamori-test:$REMOTE" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field blobs_sent)" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_skipped)" -eq 1 ]
	# A new snapshot with one new small file: only it and the trees above it.
	printf 'agenda\n' > "$T/src/docs/agenda.txt"
	mm backup --host cityhall "$T/src" >/dev/null
	run ms --json copy --to "sftp:mamori-test:$REMOTE" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_copied)" -eq 1 ]
	# agenda.txt, and new trees for docs, src and each folder above src.
	depth=$(printf '%s' "$T/src" | tr -cd / | wc -c)
	[ "$(printf '%s' "$output" | copy_field blobs_sent)" -eq $((1 + 1 + depth + 1)) ]
	[ "$(printf '%s' "$output" | copy_field trees_sent)" -eq $((1 + depth + 1)) ]
	[ "$first_sent" -gt 5 ]
	run ms -r "sftp:mamori-test:$REMOTE" --password-file "$T/password2" check --read-data
	[ "$status" -eq 0 ]

	# Back from sftp into a fresh local repository (its own keys again).
	printf 'third password\n' > "$T/password3"
	run ms -r "$T/back" --password-file "$T/password3" init \
		--copy-chunker-params-from "sftp:mamori-test:$REMOTE" --from-password-file "$T/password2"
	[ "$status" -eq 0 ]
	run ms -r "sftp:mamori-test:$REMOTE" --password-file "$T/password2" --json \
		copy --to "$T/back" --to-password-file "$T/password3"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | copy_field snapshots_copied)" -eq 2 ]
	run ms -r "sftp:mamori-test:$REMOTE" --password-file "$T/password2" --json \
		copy --to "$T/back" --to-password-file "$T/password3"
	[ "$(printf '%s' "$output" | copy_field blobs_sent)" -eq 0 ]
	mm -r "$T/back" --password-file "$T/password3" restore latest --target "$T/out" >/dev/null
	"$TOOLS/treecmp" "$T/src" "$T/out$T/src"
}
