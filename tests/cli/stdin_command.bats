#!/usr/bin/env bats
# backup --stdin-from-command: a command's output as one file; a failing
# command leaves no snapshot.

load helpers

@test "backup --stdin-from-command stores the output as one file, restored byte for byte" {
	mm init >/dev/null
	seq 1 300000 > "$T/expected"
	run mm backup --stdin-from-command --stdin-filename numbers.txt -- cat "$T/expected"
	[ "$status" -eq 0 ]
	[[ "$output" == *"snapshot "*" saved"* ]]
	run mm ls latest
	[ "$status" -eq 0 ]
	[ "$output" = "/numbers.txt" ]
	mm restore latest --target "$T/out" >/dev/null
	cmp "$T/expected" "$T/out/numbers.txt"
	# the same bytes again: chunked alike, no data stored, only a new tree
	# (the file's time is the backup's)
	[ "$(mm --json backup --stdin-from-command -- cat "$T/expected" | summary_field blobs_added)" = "1" ]
	[ "$(mm --json snapshots | python3 -c 'import json,sys; v=json.load(sys.stdin); print(v[0]["summary"]["blobs_added"] > 0, v[0]["summary"]["bytes_added"] > 0, v[0]["summary"]["bytes_total"])')" = "True True 1988895" ]
	# the default name, and the arguments go to the command untouched
	mm backup --stdin-from-command -- printf '%s|%s' 'a b' '$HOME' >/dev/null
	mm restore latest --target "$T/out2" >/dev/null
	[ "$(cat "$T/out2/stdin")" = 'a b|$HOME' ]
}

@test "a command that fails or is killed writes no snapshot" {
	mm init >/dev/null
	run mm backup --stdin-from-command -- sh -c 'echo partial; exit 3'
	[ "$status" -eq 47 ]
	[ "$output" = "mamori: sh exited with status 3; no snapshot was written" ]
	run mm backup --stdin-from-command -- sh -c 'echo partial; kill -9 $$'
	[ "$status" -eq 47 ]
	[ "$output" = "mamori: sh was killed by signal 9 (SIGKILL); no snapshot was written" ]
	run mm backup --stdin-from-command -- /nonexistent/dump
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: cannot run /nonexistent/dump: No such file or directory" ]
	run mm --json snapshots
	[ "$output" = "[]" ]
}

@test "backup --stdin-from-command usage errors" {
	mm init >/dev/null
	run mm backup --stdin-from-command
	[ "$status" -eq 2 ]
	[[ "$output" == "mamori backup: which command? e.g. mamori backup --stdin-from-command -- pg_dump --format=custom db"* ]]
	run mm backup --stdin-filename x /tmp
	[ "$status" -eq 2 ]
	[[ "$output" == "mamori backup: --stdin-filename goes with --stdin-from-command"* ]]
	run mm backup --stdin-from-command --stdin-filename a/b -- true
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: 'a/b' cannot be a file name in a snapshot (1 to 255 bytes, no '/', not . or ..)" ]
}
