#!/usr/bin/env bats
# init, backup, snapshots, ls, restore, check, cat on a small tree that holds
# every kind of entry mamori keeps.

load helpers

make_tree() {
	local s=$T/src
	mkdir -p "$s/住民課/2026年度" "$s/empty-dir" "$s/税務課"
	printf 'resident register\n' > "$s/住民課/2026年度/名簿.csv"
	seq 1 20000 > "$s/税務課/ledger.csv"
	printf 'odd name\n' > "$s/$(printf 'bad\xff\xfename')"
	: > "$s/empty-file"
	ln -s 税務課/ledger.csv "$s/link-to-ledger"
	ln -s /nonexistent/target "$s/dangling"
	printf 'shared content\n' > "$s/hard-a"
	ln "$s/hard-a" "$s/hard-b"
	truncate -s 64M "$s/sparse.img"
	printf 'in the middle' | dd of="$s/sparse.img" bs=1 seek=33554432 conv=notrunc status=none
	mkfifo "$s/fifo"
	chmod 640 "$s/住民課/2026年度/名簿.csv"
	chmod 700 "$s/empty-dir"
	if setfattr -n user.mamori.test -v 住民 "$s/empty-file" 2>/dev/null; then
		HAVE_XATTR=1
	fi
	if [ "$(id -u)" -eq 0 ]; then
		mknod "$s/dev-null" c 1 3
		printf 'owned by nobody\n' > "$s/nobodys"
		chown 65534:65534 "$s/nobodys"
	fi
	touch -h -d '2020-01-02 03:04:05.123456789' "$s/link-to-ledger"
	touch -d '2020-01-02 03:04:05.123456789' "$s/税務課/ledger.csv" "$s/empty-dir"
}

@test "init creates a repository; a second init at the same place is refused" {
	run mm init
	[ "$status" -eq 0 ]
	[[ "$output" == *"created mamori repository at $T/repo"* ]]
	[ -f "$T/repo/config" ]
	[ "$(ls "$T/repo/keys" | wc -l)" -eq 1 ]
	run mm init
	[ "$status" -eq 1 ]
	[[ "$output" == *"a repository already exists here"* ]]
}

@test "backup, snapshots, ls, restore and check round-trip every kind of entry" {
	make_tree
	mm init >/dev/null
	run mm --json backup "$T/src"
	[ "$status" -eq 0 ]
	id=$(echo "$output" | snap_id)
	[ "${#id}" -eq 64 ]
	want=7
	[ "$(id -u)" -ne 0 ] || want=8
	[ "$(echo "$output" | summary_field files_new)" -eq "$want" ]
	# Progress is for terminals only: nothing of it in a pipe.
	[[ "$output" != *$'\r'* ]]
	[ "$(echo "$output" | summary_field errors)" -eq 0 ]

	run mm --json snapshots
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 1 ]

	run mm ls latest "$T/src/税務課"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "$T/src/税務課" ]
	[ "${lines[1]}" = "$T/src/税務課/ledger.csv" ]
	[ "${#lines[@]}" -eq 2 ]

	run mm ls latest "$T/src"
	[[ "$output" == *"$T/src/bad\\xff\\xfename"* ]] || [[ "$output" == *"bad"*"name"* ]]

	run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	run "$TOOLS/treecmp" "$T/src" "$T/out$T/src"
	echo "$output"
	[ "$status" -eq 0 ]
	# holes kept: 64 MiB apparent, far less allocated
	[ "$(stat -c %b "$T/out$T/src/sparse.img")" -lt 1024 ]
	# hard links restored as hard links
	[ "$(stat -c %i "$T/out$T/src/hard-a")" = "$(stat -c %i "$T/out$T/src/hard-b")" ]
	[ "$(stat -c %y "$T/out$T/src/税務課/ledger.csv")" = "2020-01-02 03:04:05.123456789 +0000" ] ||
		[ "$(stat -c %Y.%y "$T/out$T/src/税務課/ledger.csv" | grep -c 123456789)" -eq 1 ]
	if [ -n "${HAVE_XATTR:-}" ]; then
		[ "$(getfattr --only-values -n user.mamori.test "$T/out$T/src/empty-file")" = "住民" ]
	fi

	run mm check
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors found"* ]]
	run mm check --read-data
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors found"* ]]
}

@test "large files (written past the page cache) come back byte for byte, holes and odd sizes too" {
	mm init >/dev/null
	mkdir "$T/big"
	# data, a run of zeros, data again, and a size that is no multiple of 4096
	{ head -c 3145728 /dev/urandom; head -c 1048576 /dev/zero; head -c 4099 /dev/urandom; } > "$T/big/mixed.bin"
	# data, then a hole to the end of the file
	head -c 2097152 /dev/urandom > "$T/big/tail-hole.bin"
	truncate -s 6291461 "$T/big/tail-hole.bin"
	# exactly one stage of whole blocks
	head -c 1048576 /dev/urandom > "$T/big/one-mib.bin"
	# large enough to be written in 16 MiB ranges by several workers
	{ head -c 20971520 /dev/urandom; head -c 8388608 /dev/zero; head -c 12582915 /dev/urandom; } > "$T/big/ranges.bin"
	mm backup "$T/big" >/dev/null
	run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	[[ "$output" == *"4 files"* ]]
	for f in mixed.bin tail-hole.bin one-mib.bin ranges.bin; do
		cmp "$T/big/$f" "$T/out$T/big/$f"
	done
	[ "$(stat -c %s "$T/out$T/big/tail-hole.bin")" -eq 6291461 ]
	# the 4 MiB of trailing hole stay a hole: at most the 2 MiB of data are allocated
	[ "$(stat -c %b "$T/out$T/big/tail-hole.bin")" -le 4200 ]
}

@test "restore into a setgid folder of another group: owners are the recorded ones" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to set owners"
	mm init >/dev/null
	mkdir -p "$T/src/sub"
	echo root-owned > "$T/src/sub/r.txt"
	echo nobody-owned > "$T/src/sub/n.txt"
	chown 65534:65534 "$T/src/sub/n.txt"
	mm backup "$T/src" >/dev/null
	mkdir "$T/out"
	chgrp 65534 "$T/out"
	chmod 2775 "$T/out"
	run mm restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	[ "$(stat -c %u:%g "$T/out$T/src/sub/r.txt")" = "0:0" ]
	[ "$(stat -c %u:%g "$T/out$T/src/sub")" = "0:0" ]
	[ "$(stat -c %u:%g "$T/out$T/src/sub/n.txt")" = "65534:65534" ]
}

@test "modes come back whatever the umask of the restore, special bits too" {
	mm init >/dev/null
	mkdir -p "$T/src"
	for m in 600 640 644 664 755 777 4755 2755 1777; do
		echo "$m" > "$T/src/f$m"
		chmod "$m" "$T/src/f$m"
	done
	mm backup "$T/src" >/dev/null
	for u in 022 077 000; do
		run bash -c 'umask "$1" && exec "$2" restore latest --target "$3"' umask "$u" "$MAMORI" "$T/out$u"
		[ "$status" -eq 0 ]
		for m in 600 640 644 664 755 777 4755 2755 1777; do
			[ "$(stat -c %a "$T/out$u$T/src/f$m")" = "$m" ]
		done
	done
}

@test "restore --include restores only that subtree; a prefix and 'latest' name snapshots" {
	make_tree
	mm init >/dev/null
	id=$(mm --json backup "$T/src" | snap_id)
	run mm restore "${id:0:8}" --target "$T/part" --include "$T/src/住民課"
	[ "$status" -eq 0 ]
	[ -f "$T/part$T/src/住民課/2026年度/名簿.csv" ]
	[ ! -e "$T/part$T/src/税務課" ]
	[ ! -e "$T/part$T/src/hard-a" ]
	run "$TOOLS/treecmp" "$T/src/住民課" "$T/part$T/src/住民課"
	[ "$status" -eq 0 ]

	run mm restore latest --target "$T/none" --include /no/such/path
	[ "$status" -eq 20 ]
	[[ "$output" == *"/no/such/path: no such path in the snapshot"* ]]

	run mm ls deadbeefdeadbeef
	[ "$status" -eq 18 ]
	[ "$output" = "mamori: no snapshot 'deadbeefdeadbeef' in this repository: see 'mamori snapshots'" ]
}

@test "cat config shows the chunker parameters; cat snapshot and tree decode" {
	mm init >/dev/null
	run mm cat config
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["version"] == 2, c
k = c["chunker"]
assert (k["min_size"], k["avg_size"], k["max_size"]) == (524288, 1048576, 8388608), k
'
	mkdir "$T/d" && echo hi > "$T/d/f"
	mm backup "$T/d" >/dev/null
	run mm cat snapshot latest
	[ "$status" -eq 0 ]
	tree=$(echo "$output" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tree"])')
	run mm cat tree "$tree"
	[ "$status" -eq 0 ]
	echo "$output" | python3 -c 'import json,sys; json.load(sys.stdin)'
}

@test "usage errors exit 2" {
	run mm frobnicate
	[ "$status" -eq 2 ]
	run mm backup
	[ "$status" -eq 2 ]
	[[ "$output" == *"which paths?"* ]]
	run mm restore latest
	[ "$status" -eq 2 ]
}
