#!/usr/bin/env bats
# Faults below the program: read errors, a read-only repository, a file that
# changes while it is read, symlink loops, long names, a huge folder.
# (A full disk: tests/cli/errors.bats. Deep nesting: tests/cli/hostile.bats.)

load helpers

teardown() {
	kill_background
	if [ -n "${RO_MOUNT:-}" ]; then
		umount "$RO_MOUNT" 2>/dev/null || true
	fi
}

@test "EIO on read of a source file: named, recorded as unreadable, the rest backed up and restored" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 3000000 /dev/urandom > "$T/src/bad.bin"
	echo fine > "$T/src/good.txt"
	MAMORI_FAULT_EIO=bad.bin run with_faults "$MAMORI" backup "$T/src"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$T/src/bad.bin: cannot read: Input/output error"* ]]
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 1 ]
	run mm check --read-data
	[ "$status" -eq 0 ]
	run mm restore latest --target "$T/out"
	echo "$output"
	[ "$(cat "$T/out$T/src/good.txt")" = fine ]
	# The next backup, without the fault, reads it in full.
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	mm restore latest --target "$T/out2" >/dev/null
	cmp "$T/src/bad.bin" "$T/out2$T/src/bad.bin"
}

@test "a source file that changes while it is read: the snapshot notes it" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 2000000 /dev/urandom > "$T/src/moving.bin"
	echo fine > "$T/src/still.txt"
	# shellcheck disable=SC2046
	start_bg "$T/out.txt" env $(faults_env) MAMORI_FAULT_STOP_OPEN=moving.bin \
		"$MAMORI" backup "$T/src"
	wait_stopped "$BG_PID"
	# Changed after backup looked at it, before it reads it.
	head -c 1000 /dev/urandom >> "$T/src/moving.bin"
	kill -CONT "$BG_PID"
	status_bk=0
	wait "$BG_PID" || status_bk=$?
	cat "$T/out.txt"
	[ "$status_bk" -eq 0 ]
	grep -qF "mamori: warning: $T/src/moving.bin: changed while it was read; the snapshot notes it" "$T/out.txt"
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 1 ]
	run mm check --read-data
	[ "$status" -eq 0 ]
	# The next backup sees it changed and reads it again, whole.
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	mm restore latest --target "$T/out" >/dev/null
	cmp "$T/src/moving.bin" "$T/out$T/src/moving.bin"
}

@test "a repository made read-only: backup fails clearly and changes nothing" {
	skip_unless_root
	mm init >/dev/null
	mkdir "$T/src"
	echo one > "$T/src/a"
	mm backup "$T/src" >/dev/null
	mkdir "$T/ro"
	mount --bind "$T/repo" "$T/ro" || skip "cannot bind-mount here"
	RO_MOUNT=$T/ro
	mount -o remount,ro,bind "$T/ro" || skip "cannot remount read-only here"
	export MAMORI_REPOSITORY=$T/ro
	echo two > "$T/src/b"
	run mm backup "$T/src"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"Read-only file system"* ]]
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 1 ]
	run mm snapshots
	[ "$status" -eq 0 ]
	umount "$T/ro"
	RO_MOUNT=
	export MAMORI_REPOSITORY=$T/repo
	run mm check --read-data
	[ "$status" -eq 0 ]
}

@test "symlink loops are stored as links, never followed" {
	mm init >/dev/null
	mkdir -p "$T/src/sub"
	ln -s loop2 "$T/src/loop1"
	ln -s loop1 "$T/src/loop2"
	ln -s . "$T/src/self"
	ln -s .. "$T/src/sub/up"
	echo data > "$T/src/sub/file"
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	mm restore latest --target "$T/out" >/dev/null
	python3 "$TOOLS/treecmp" "$T/src" "$T/out$T/src"
	[ "$(readlink "$T/out$T/src/self")" = . ]
}

@test "names of 255 bytes (ASCII and UTF-8), nested: backed up and restored" {
	mm init >/dev/null
	long=$(printf 'n%.0s' $(seq 1 255))
	# 85 three-byte characters: 255 bytes
	jp=$(python3 -c 'print("住" * 85, end="")')
	mkdir -p "$T/src/$long/$jp/$long"
	echo deep > "$T/src/$long/$jp/$long/$jp"
	echo top > "$T/src/$long/$long"
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	mm restore latest --target "$T/out" >/dev/null
	python3 "$TOOLS/treecmp" "$T/src" "$T/out$T/src"
	[ "$(cat "$T/out$T/src/$long/$jp/$long/$jp")" = deep ]
}

@test "1,000,000 entries in one folder: backed up, checked and restored" {
	mm init >/dev/null
	n=${MAMORI_BIG_FOLDER:-1000000}
	python3 - "$T/src" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
fd = os.open(d, os.O_RDONLY)
for i in range(n):
    f = os.open("f%07d" % i, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    if i % 1000 == 0:
        os.write(f, b"%d\n" % i)
    os.close(f)
os.close(fd)
PY
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	run mm check
	[ "$status" -eq 0 ]
	mm restore latest --target "$T/out" >/dev/null
	[ "$(ls "$T/out$T/src" | wc -l)" -eq "$n" ]
	[ "$(cat "$T/out$T/src/f0050000")" = 50000 ]
	diff <(cd "$T/src" && ls -l --time-style=+%s.%N) <(cd "$T/out$T/src" && ls -l --time-style=+%s.%N)
}
