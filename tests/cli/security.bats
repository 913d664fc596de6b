#!/usr/bin/env bats
# How secrets are handled (docs/security.md, "Keys and passwords").

load helpers

teardown() {
	kill_background
}

@test "repository files are 0600 and folders 0700 whatever the umask" {
	umask 000
	mm init >/dev/null
	mkdir "$T/src"
	echo data > "$T/src/f"
	mm backup "$T/src" >/dev/null
	[ -z "$(find "$T/repo" -type f ! -perm 0600)" ]
	[ -z "$(find "$T/repo" -type d ! -perm 0700)" ]
	[ "$(ls "$T/repo/keys" | wc -l)" -eq 1 ]
}

@test "the password is not in argv, MAMORI_PASSWORD is wiped from the environment, no core file" {
	mm init >/dev/null
	unset MAMORI_PASSWORD_FILE
	# Stopped right after opening the config, which comes after the password.
	# shellcheck disable=SC2046
	start_bg "$T/out" env $(faults_env) MAMORI_FAULT_STOP_OPEN=config \
		MAMORI_PASSWORD="test password" "$MAMORI" snapshots
	pid=$BG_PID
	wait_stopped "$pid"
	! grep -qa "test password" "/proc/$pid/environ"
	! tr '\0' '\n' < "/proc/$pid/environ" | grep -q '^MAMORI_PASSWORD='
	! grep -qa "test password" "/proc/$pid/cmdline"
	grep -q '^Max core file size *0 *0 ' "/proc/$pid/limits"
	kill -CONT "$pid"
	wait "$pid"
	[ "$(tail -1 "$T/out")" = "0 snapshots" ]
}

@test "a password file longer than 4096 bytes is refused" {
	mm init >/dev/null
	head -c 5000 /dev/zero | tr '\0' x > "$T/long"
	run mm --password-file "$T/long" snapshots
	[ "$status" -eq 1 ]
	[[ "$output" == *"password file: $T/long: file is 5000 bytes, limit is 4096"* ]]
}
