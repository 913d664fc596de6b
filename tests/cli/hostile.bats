#!/usr/bin/env bats
# Hostile repositories: validly encrypted (a key holder wrote them) but with
# trees made to escape the target, loop, or exhaust memory. Restore refuses
# each with a clear error and writes nothing outside its target; check names
# each problem. The repositories come from tests/tools/mkhostile.c.

load helpers

# Make the case's snapshot; restore into $T/tp/target, outside is $T/outside.
hostile() {
	mm init >/dev/null
	mkdir -p "$T/outside" "$T/tp"
	"$MAMORI_MKHOSTILE" "$T/repo" "$T/password" "$@" > "$T/snap"
}

# Nothing was written outside the target: its parent holds only it.
target_contained() {
	[ -z "$(ls -A "$T/outside")" ]
	[ "$(ls -A "$T/tp")" = target ]
}

# $1: the message check and restore give for the tree of /h.
refused() {
	run mm check
	echo "$output"
	[ "$status" -eq 1 ]
	grep -qF "mamori: warning: snapshot $(cut -c1-8 "$T/snap"): /h: tree " <<<"$output"
	grep -qF "$1" <<<"$output"
	[[ "$output" == *"1 errors found"* ]]
	run mm restore latest --target "$T/tp/target"
	echo "$output"
	[ "$status" -eq 3 ]
	grep -qF "mamori: warning: /h: cannot read folder contents: tree " <<<"$output"
	grep -qF "$1" <<<"$output"
	[ -z "$(ls -A "$T/tp/target/h")" ]
	target_contained
}

@test "a name with a slash is refused" {
	hostile slash
	refused "tree: entry 0: name is empty or contains '/' or NUL"
}

@test "a folder named .. is refused" {
	hostile dotdot
	refused "tree: entry 0: name is '.' or '..'"
}

@test "a name with a NUL byte is refused" {
	hostile nul
	refused "tree: entry 0: name is empty or contains '/' or NUL"
}

@test "a symlink then a folder of the same name (a file through the link) is refused" {
	hostile dup "$T/outside"
	refused "tree: entry 1: names not sorted or not unique"
	[ ! -e "$T/outside/through" ]
}

@test "unsorted names are refused" {
	hostile unsorted
	refused "tree: entry 1: names not sorted or not unique"
}

@test "a tree claiming 16 Mi entries in a few bytes is refused before allocating" {
	hostile countbomb
	refused "tree: 16777216 entries cannot fit in 4 bytes"
}

@test "a folder that contains itself is refused: its tree's ID is not its content's" {
	hostile cycle
	refused "content does not match its ID (forged or damaged)"
}

@test "a symlink to outside is restored as a link, never followed" {
	hostile symlink "$T/outside"
	run mm check
	[ "$status" -eq 0 ]
	run mm restore latest --target "$T/tp/target"
	[ "$status" -eq 0 ]
	[ "$(readlink "$T/tp/target/h/link")" = "$T/outside" ]
	[ "$(cat "$T/tp/target/h/ok")" = fine ]
	target_contained
}

@test "a file of 2^62 bytes with no content: that file is refused, the rest restored" {
	hostile bigsize
	run mm restore latest --target "$T/tp/target"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"/h/big: not restored: restored 0 bytes, the snapshot says 4611686018427387904"* ]]
	[ ! -e "$T/tp/target/h/big" ]
	[ "$(cat "$T/tp/target/h/ok")" = fine ]
	target_contained
}

@test "a blob the index gives 3.75 GiB: check names the pack, restore refuses the file without allocating it" {
	hostile hugeblob
	run mm check
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q "^mamori: warning: pack [0-9a-f]\{64\}: [0-9]* bytes, shorter than the index says$" <<<"$output"
	run mm restore latest --target "$T/tp/target"
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *"/h/huge: not restored: pack "*"read of 4026531840 bytes at offset 0 is past the end of the object"* ]]
	[ ! -e "$T/tp/target/h/huge" ]
	[ "$(cat "$T/tp/target/h/ok")" = fine ]
	target_contained
}

@test "10,000 nested folders (paths past PATH_MAX): check walks them, restore restores them all" {
	levels=${MAMORI_DEEP:-10000}
	hostile deep "$levels"
	run mm check
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 1 snapshots, $((levels + 2)) trees, 1 blobs"* ]]
	run mm restore latest --target "$T/tp/target"
	[ "$status" -eq 0 ]
	[ "$(cd "$T/tp/target/h" && find . -name bottom | wc -c)" -eq $((levels * 2 + 9)) ]
	target_contained
}
