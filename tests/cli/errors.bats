#!/usr/bin/env bats
# Bad input gets a clear error, the documented exit code, and loses nothing.

load helpers

@test "wrong password: exit 12 and says so" {
	mm init >/dev/null
	printf 'not the password\n' > "$T/wrong"
	run mm --password-file "$T/wrong" snapshots
	[ "$status" -eq 12 ]
	[[ "$output" == *"wrong password"* ]]
	MAMORI_PASSWORD="also wrong" run mm snapshots
	[ "$status" -eq 12 ]
}

@test "no repository at the location: exit 10" {
	run mm -r "$T/nothing-here" snapshots
	[ "$status" -eq 10 ]
	[[ "$output" == *"no repository here"* ]]
}

@test "backup of a path that does not exist: exit 1, names it, writes no snapshot" {
	mm init >/dev/null
	run mm backup "$T/does-not-exist"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$T/does-not-exist"* ]]
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 0 ]
}

@test "unreadable file: warning names it, snapshot written, exit 3" {
	[ "$(id -u)" -ne 0 ] || skip "root reads every file"
	mm init >/dev/null
	mkdir "$T/src"
	echo secret > "$T/src/locked"
	echo open > "$T/src/open"
	chmod 000 "$T/src/locked"
	run mm backup "$T/src"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$T/src/locked"* ]]
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 1 ]
}

@test "an altered pack: check names it, restore names the file and restores the rest" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 3000000 /dev/urandom > "$T/src/victim.bin"
	echo "small and fine" > "$T/src/fine.txt"
	mm backup "$T/src" >/dev/null
	# The largest pack holds part of victim.bin (each backup thread fills its own pack).
	pack=$(find "$T/repo/data" -type f -size +100k -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	[ -n "$pack" ]
	printf '\x00\x01\x02\x03' | dd of="$pack" bs=1 seek=$(($(stat -c %s "$pack") / 2)) conv=notrunc status=none
	run mm check --read-data
	[ "$status" -eq 1 ]
	[[ "$output" == *"pack $(basename "$pack")"* ]]
	run mm restore latest --target "$T/out"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$T/src/victim.bin"* ]]
	[ ! -e "$T/out$T/src/victim.bin" ]
	[ "$(cat "$T/out$T/src/fine.txt")" = "small and fine" ]
}

@test "a damaged blob inside a large file restored in ranges: the file is removed, the rest restored" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 41943040 /dev/urandom > "$T/src/image.bin"
	echo "small and fine" > "$T/src/fine.txt"
	mm backup "$T/src" >/dev/null
	pack=$(find "$T/repo/data" -type f -size +100k -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	printf '\x00\x01\x02\x03' | dd of="$pack" bs=1 seek=$(($(stat -c %s "$pack") / 2)) conv=notrunc status=none
	run mm restore latest --target "$T/out"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$T/src/image.bin: not restored: "*"authentication failed"* ]]
	[ ! -e "$T/out$T/src/image.bin" ]
	[ "$(cat "$T/out$T/src/fine.txt")" = "small and fine" ]
}

@test "two packs swapped under each other's names: check and restore both notice" {
	mm init >/dev/null
	mkdir "$T/a" "$T/b"
	head -c 3000000 /dev/urandom > "$T/a/first.bin"
	mm backup "$T/a" >/dev/null
	# Each backup may split its data over several packs (one per thread),
	# of any sizes: the largest of each backup, and the second one from the
	# second backup only (not chosen by time).
	find "$T/repo/data" -type f | sort > "$T/packs-a"
	first=$(find "$T/repo/data" -type f -size +100k -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	head -c 3000000 /dev/urandom > "$T/b/second.bin"
	mm backup "$T/b" >/dev/null
	second=$(find "$T/repo/data" -type f -size +100k -printf '%s %p\n' | sort -n |
		grep -v -F -f "$T/packs-a" | tail -1 | cut -d' ' -f2)
	[ -n "$first" ] && [ -n "$second" ] && [ "$first" != "$second" ]
	cp "$first" "$T/swap" && cp "$second" "$first" && cp "$T/swap" "$second"
	run mm check --read-data
	echo "$output"
	[ "$status" -eq 1 ]
	# Whichever is the shorter, both are read and both are named, each on a
	# line of its own.
	for p in "$first" "$second"; do
		grep -q "^mamori: warning: pack $(basename "$p"): [0-9]* index entr[a-z]* disagree[s]* with the pack header" <<<"$output"
		grep -q "^mamori: warning: pack $(basename "$p"): its header does not match its name" <<<"$output"
	done
	run mm restore latest --target "$T/out"
	[ "$status" -eq 3 ]
	[[ "$output" == *"$T/b/second.bin"*"authentication failed"* ]]
	[ ! -e "$T/out$T/b/second.bin" ]
}

@test "a pack cut short or with a damaged header: check names it" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 3000000 /dev/urandom > "$T/src/a.bin"
	mm backup "$T/src" >/dev/null
	pack=$(find "$T/repo/data" -type f -size +100k -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
	size=$(stat -c %s "$pack")
	cp "$pack" "$T/orig"
	# the header's last byte flipped (the trailer stays valid)
	printf '\x55' | dd of="$pack" bs=1 seek=$((size - 5)) conv=notrunc status=none
	run mm check --read-data
	[ "$status" -eq 1 ]
	[[ "$output" == *"pack $(basename "$pack"): pack header: authentication failed"* ]]
	# cut short: the trailer now reads as an impossible header length
	head -c $((size - 7)) "$T/orig" > "$pack"
	run mm check --read-data
	[ "$status" -eq 1 ]
	[[ "$output" == *"pack $(basename "$pack"): "* ]]
	cp "$T/orig" "$pack"
	run mm check --read-data
	[ "$status" -eq 0 ]
}

@test "a file system that refuses direct writes: restore falls back to the page cache" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 3145731 /dev/urandom > "$T/src/three.bin"
	{ head -c 20971520 /dev/urandom; head -c 8388608 /dev/zero; head -c 12582915 /dev/urandom; } > "$T/src/ranges.bin"
	echo small > "$T/src/small.txt"
	mm backup "$T/src" >/dev/null
	# ASan must come first among the libraries; the shim is preloaded before it.
	LD_PRELOAD="$MAMORI_SHIM_NODIRECT" ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
		run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	for f in three.bin ranges.bin small.txt; do
		cmp "$T/src/$f" "$T/out$T/src/$f"
	done
}

@test "restore never follows a symlink planted in the target" {
	mm init >/dev/null
	mkdir -p "$T/src/sub"
	echo data > "$T/src/sub/file"
	mm backup "$T/src" >/dev/null
	mkdir -p "$T/outside" "$T/out$T/src"
	ln -s "$T/outside" "$T/out$T/src/sub"
	run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	[ -z "$(ls -A "$T/outside")" ]
	[ -d "$T/out$T/src/sub" ] && [ ! -L "$T/out$T/src/sub" ]
	[ "$(cat "$T/out$T/src/sub/file")" = data ]
}

@test "a full disk during backup: clear error, the repository stays valid" {
	skip_unless_root
	mm init >/dev/null
	mkdir "$T/small"
	mount -t tmpfs -o size=6m tmpfs "$T/small" || skip "cannot mount a tmpfs here"
	export MAMORI_REPOSITORY=$T/small/repo
	mm init >/dev/null
	mkdir "$T/src"
	echo first > "$T/src/a"
	mm backup "$T/src" >/dev/null
	head -c 20000000 /dev/urandom > "$T/src/big"
	run mm backup "$T/src"
	status_full=$status
	out_full=$output
	run mm check --read-data
	status_check=$status
	out_check=$output
	run mm snapshots
	nsnap=${#lines[@]}
	umount "$T/small"
	echo "$out_full"
	[ "$status_full" -eq 1 ]
	[[ "$out_full" == *"No space left on device"* ]]
	echo "$out_check"
	[ "$status_check" -eq 0 ]
}

@test "a backup killed mid-way leaves a valid repository; the next one completes" {
	mm init >/dev/null
	mkdir "$T/src"
	for i in 1 2 3 4 5 6; do head -c 20000000 /dev/urandom > "$T/src/f$i"; done
	# The binary itself in the background, not the mm function: $! would
	# be a subshell, and killing it would leave the backup running.
	"$MAMORI" backup "$T/src" >/dev/null 2>&1 &
	pid=$!
	# Kill once some pack is on disk, so the kill lands mid-backup.
	for _ in $(seq 1 200); do
		[ -n "$(find "$T/repo/data" -type f 2>/dev/null | head -1)" ] && break
		sleep 0.05
	done
	kill -9 "$pid"
	wait "$pid" || true
	[ "$(ls "$T/repo/snapshots" | wc -l)" -eq 0 ]
	[ "$(ls "$T/repo/locks" | wc -l)" -eq 1 ]   # left behind by the killed process
	run mm check --read-data
	echo "$output"
	[ "$status" -eq 0 ]
	# The dead process's lock is stale (its pid is gone): the next backup runs.
	run mm backup "$T/src"
	[ "$status" -eq 0 ]
	[ "$(ls "$T/repo/locks" | wc -l)" -eq 0 ]
	run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	for i in 1 2 3 4 5 6; do cmp "$T/src/f$i" "$T/out$T/src/f$i"; done
	run mm check --read-data
	[ "$status" -eq 0 ]
}
