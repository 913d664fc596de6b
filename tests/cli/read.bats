#!/usr/bin/env bats
# Reading a repository without restoring it: diff, find, dump, stats, tag.

load helpers

# Every entry below $1 gets one fixed modification time.
fix_times() {
	find "$1" -exec touch -h -d '2026-01-02 03:04:05' {} +
}

# The first source tree: text files, a folder that goes away, a symlink,
# names with a newline and with a byte that is not UTF-8.
make_src() {
	export TZ=UTC
	mkdir -p "$T/src/d" "$T/src/gone"
	printf 'hello\n' > "$T/src/a.txt"
	printf 'b\n' > "$T/src/d/b.txt"
	printf 'bye\n' > "$T/src/gone/g"
	printf 'was a file\n' > "$T/src/t"
	printf 'x\n' > "$T/src/x"
	printf 'nl\n' > "$T/src/new
line"
	printf 'raw\n' > "$T/src/$(printf 'inv\377')"
	ln -s a.txt "$T/src/link"
	fix_times "$T/src"
}

# Snapshot IDs, oldest first.
snap_ids() {
	mm --json snapshots | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'
}

@test "diff: added, removed, modified, metadata-only and type changes with sizes and a summary" {
	make_src
	mm init >/dev/null
	mm backup "$T/src" >/dev/null
	printf 'hello, world\n' > "$T/src/a.txt"
	chmod 600 "$T/src/d/b.txt"
	rm -r "$T/src/gone"
	rm "$T/src/t"
	mkdir "$T/src/t" "$T/src/newdir"
	printf 'n\n' > "$T/src/newdir/n"
	setfattr -n user.note -v checked "$T/src/x"
	ln -sf d/b.txt "$T/src/link"
	fix_times "$T/src"
	touch -d '2026-02-03 04:05:06' "$T/src/d/b.txt"
	mm backup "$T/src" >/dev/null
	ids=($(snap_ids)); s1=${ids[0]}; s2=${ids[1]}
	run mm diff "${s1:0:8}" "${s2:0:8}"
	[ "$status" -eq 0 ]
	# Folders above the backed-up path (/tmp, ...) may change between
	# two backups: the lines under $T/src are exact, the rest are those.
	anc=$(printf '%s\n' "$output" | grep -vc "^.    $T/src/")
	anc=$((anc - 1)) # the summary line
	mine=$(printf '%s\n' "$output" | grep "^.    $T/src/")
	expected="M    $T/src/a.txt  (6 B -> 13 B)
U    $T/src/d/b.txt  [mode, mtime]
-    $T/src/gone/
-    $T/src/gone/g  (4 B)
M    $T/src/link
+    $T/src/newdir/
+    $T/src/newdir/n  (2 B)
T    $T/src/t  (file -> dir)
U    $T/src/x  [xattrs]"
	[ "$mine" = "$expected" ]
	[ "${lines[-1]}" = "2 added (2 B), 2 removed (15 B), 2 modified, $((2 + anc)) metadata only, 1 type changed" ]
	# JSON: the same changes, each with its fields.
	run mm --json diff "$s1" "$s2"
	[ "$status" -eq 0 ]
	python3 - "$output" "$T/src" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
src = sys.argv[2]
ch = {c["path"][len(src):]: c for c in d["changes"] if c["path"].startswith(src + "/")}
assert ch["/a.txt"] == {"change": "modified", "path": src + "/a.txt", "type": "file",
                        "old_size": 6, "new_size": 13, "metadata": []}, ch["/a.txt"]
assert ch["/d/b.txt"]["change"] == "metadata" and ch["/d/b.txt"]["metadata"] == ["mode", "mtime"]
assert ch["/gone/g"] == {"change": "removed", "path": src + "/gone/g", "type": "file", "size": 4}
assert ch["/newdir"] == {"change": "added", "path": src + "/newdir", "type": "dir"}
assert ch["/t"] == {"change": "type", "path": src + "/t", "old_type": "file", "new_type": "dir",
                    "old_size": 11, "new_size": 0}
assert ch["/x"]["metadata"] == ["xattrs"]
assert ch["/link"]["change"] == "modified" and ch["/link"]["type"] == "symlink"
s = d["summary"]
assert (s["added"], s["removed"], s["modified"], s["type_changed"]) == (2, 2, 2, 1), s
assert (s["bytes_added"], s["bytes_removed"]) == (2, 15), s
EOF
	# A snapshot against itself: nothing.
	run mm diff "$s2" latest
	[ "$output" = "0 added (0 B), 0 removed (0 B), 0 modified, 0 metadata only, 0 type changed" ]
	# Unknown snapshot: exit 18.
	run mm diff "$s1" ffffffffffff
	[ "$status" -eq 18 ]
	[ "$output" = "mamori: no snapshot 'ffffffffffff' in this repository: see 'mamori snapshots'" ]
	run mm diff "$s1"
	[ "$status" -eq 2 ]
}

@test "an ambiguous snapshot prefix: exit 19 lists the candidates" {
	mm init >/dev/null
	mkdir "$T/src"
	# 17 snapshots: two of them share a first hex digit.
	for i in $(seq 17); do
		echo "$i" > "$T/src/f"
		mm backup "$T/src" >/dev/null
	done
	digit=$(snap_ids | cut -c1 | sort | uniq -d | head -1)
	n=$(snap_ids | grep -c "^$digit")
	run mm ls "$digit"
	[ "$status" -eq 19 ]
	[[ "$output" == "mamori: snapshot prefix '$digit' is ambiguous: it matches $n snapshots: $digit"*"; give more digits" ]]
	for id in $(snap_ids | grep "^$digit"); do
		[[ "$output" == *"${id:0:8} ("*")"* ]]
	done
}

@test "find: by name or path pattern, in every snapshot or the given ones, with size and mtime" {
	make_src
	mm init >/dev/null
	mm backup "$T/src" >/dev/null
	printf 'hello, world\n' > "$T/src/a.txt"
	touch -d '2026-03-01 00:00:00' "$T/src/a.txt"
	mm backup "$T/src" >/dev/null
	ids=($(snap_ids)); s1=${ids[0]}; s2=${ids[1]}
	run mm find '*.txt'
	[ "$status" -eq 0 ]
	expected="${s1:0:8}  2026-01-02 03:04:05             6  $T/src/a.txt
${s1:0:8}  2026-01-02 03:04:05             2  $T/src/d/b.txt
${s2:0:8}  2026-03-01 00:00:00            13  $T/src/a.txt
${s2:0:8}  2026-01-02 03:04:05             2  $T/src/d/b.txt
4 matches in 2 snapshots"
	[ "$output" = "$expected" ]
	# A pattern with '/' matches the path; '*' does not cross '/'.
	run mm find "$T/src/*" --snapshot "${s2:0:8}"
	[ "$output" = "${s2:0:8}  2026-03-01 00:00:00            13  $T/src/a.txt
${s2:0:8}  2026-01-02 03:04:05             0  $T/src/d/
${s2:0:8}  2026-01-02 03:04:05             0  $T/src/gone/
${s2:0:8}  2026-01-02 03:04:05             4  $T/src/inv\\xff
${s2:0:8}  2026-01-02 03:04:05             0  $T/src/link
${s2:0:8}  2026-01-02 03:04:05             3  $T/src/new\\x0aline
${s2:0:8}  2026-01-02 03:04:05            11  $T/src/t
${s2:0:8}  2026-01-02 03:04:05             2  $T/src/x
8 matches in 1 snapshot" ]
	# Names that hold a newline or invalid UTF-8 are escaped; JSON keeps them.
	run mm find 'new*' 'inv*' --snapshot latest
	[ "${lines[0]}" = "${s2:0:8}  2026-01-02 03:04:05             4  $T/src/inv\\xff" ]
	[ "${lines[1]}" = "${s2:0:8}  2026-01-02 03:04:05             3  $T/src/new\\x0aline" ]
	run mm --json find 'new*' --snapshot latest
	python3 - "$output" "$T/src" "$s2" <<'EOF'
import json, sys
v = json.loads(sys.argv[1])
assert v == [{"snapshot": sys.argv[3], "short_id": sys.argv[3][:8], "snapshot_time": v[0]["snapshot_time"],
              "path": sys.argv[2] + "/new\nline", "type": "file", "size": 3,
              "mtime": "2026-01-02T03:04:05Z", "mtime_ns": 1767323045000000000}], v
EOF
	# Time bounds and a subtree.
	run mm find '*' --path "$T/src/d" --newest 2026-01-02
	[ "$output" = "${s1:0:8}  2026-01-02 03:04:05             0  $T/src/d/
${s1:0:8}  2026-01-02 03:04:05             2  $T/src/d/b.txt
${s2:0:8}  2026-01-02 03:04:05             0  $T/src/d/
${s2:0:8}  2026-01-02 03:04:05             2  $T/src/d/b.txt
4 matches in 2 snapshots" ]
	run mm find '*.txt' --oldest '2026-02-01 00:00'
	[ "$output" = "${s2:0:8}  2026-03-01 00:00:00            13  $T/src/a.txt
1 match in 2 snapshots" ]
	run mm find '*' --oldest yesterday
	[ "$status" -eq 2 ]
	run mm find '*' --path /no/such
	[ "$status" -eq 20 ]
	[ "$output" = "mamori: /no/such: no such path in the snapshots searched" ]
}

@test "dump: a file to stdout byte for byte, blob by blob" {
	mm init >/dev/null
	mkdir "$T/src"
	head -c 5000000 /dev/urandom > "$T/src/big.bin"
	printf 'small\n' > "$T/src/small"
	mm backup "$T/src" >/dev/null
	mm dump latest "$T/src/big.bin" > "$T/out.bin"
	cmp "$T/src/big.bin" "$T/out.bin"
	run mm dump latest "$T/src/small"
	[ "$status" -eq 0 ]
	[ "$output" = "small" ]
	# Paths that are not in the snapshot: exit 20.
	run mm dump latest "$T/src/nothing"
	[ "$status" -eq 20 ]
	[ "$output" = "mamori: $T/src/nothing: no such path in the snapshot" ]
	run mm ls latest "$T/src/nothing"
	[ "$status" -eq 20 ]
	# Binary data to a terminal is refused; text is fine.
	run script -qec "$MAMORI dump latest $T/src/big.bin" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"refusing to write binary data to a terminal: redirect standard output to a file or a pipe"* ]]
	run script -qec "$MAMORI dump latest $T/src" /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"refusing to write a tar archive to a terminal"* ]]
	run script -qec "$MAMORI dump latest $T/src/small" /dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == "small"* ]]
}

@test "dump: a folder as a tar stream that tar lists and extracts identically" {
	make_src
	printf 'linked\n' > "$T/src/d/h1"
	ln "$T/src/d/h1" "$T/src/d/h2"
	ln "$T/src/d/h1" "$T/src/h3"
	printf 'other\n' > "$T/src/d/k1"
	ln "$T/src/d/k1" "$T/src/k2"
	mkfifo "$T/src/fifo"
	setfattr -n user.note -v 'kept' "$T/src/a.txt"
	long=$(printf 'n%.0s' $(seq 200))
	mkdir -p "$T/src/$long/$long"
	printf 'deep\n' > "$T/src/$long/$long/f"
	chmod 640 "$T/src/x"
	fix_times "$T/src"
	mm init >/dev/null
	mm backup "$T/src" >/dev/null
	mm dump latest "$T/src" > "$T/src.tar"
	run tar -tvf "$T/src.tar"
	[ "$status" -eq 0 ]
	r=${T#/}/src
	u=$(id -un)/$(id -gn)
	when="2026-01-02 03:04"
	expected="drwxr-xr-x $u 0 $when $r/
-rw-r--r-- $u 6 $when $r/a.txt
drwxr-xr-x $u 0 $when $r/d/
-rw-r--r-- $u 2 $when $r/d/b.txt
-rw-r--r-- $u 7 $when $r/d/h1
hrw-r--r-- $u 0 $when $r/d/h2 link to $r/d/h1
-rw-r--r-- $u 6 $when $r/d/k1
prw-r--r-- $u 0 $when $r/fifo
drwxr-xr-x $u 0 $when $r/gone/
-rw-r--r-- $u 4 $when $r/gone/g
hrw-r--r-- $u 0 $when $r/h3 link to $r/d/h1
-rw-r--r-- $u 4 $when $r/inv\\377
hrw-r--r-- $u 0 $when $r/k2 link to $r/d/k1
lrwxrwxrwx $u 0 $when $r/link -> a.txt
-rw-r--r-- $u 3 $when $r/new\\nline
drwxr-xr-x $u 0 $when $r/$long/
drwxr-xr-x $u 0 $when $r/$long/$long/
-rw-r--r-- $u 5 $when $r/$long/$long/f
-rw-r--r-- $u 11 $when $r/t
-rw-r----- $u 2 $when $r/x"
	# GNU tar pads the size column (squeezed here), and notes the pax
	# header that marks a name that is not UTF-8 (POSIX hdrcharset).
	got=$(printf '%s\n' "$output" | grep -v "^tar: Ignoring unknown extended header keyword 'hdrcharset'" | tr -s ' ')
	[ "$got" = "$(printf '%s\n' "$expected" | tr -s ' ')" ]
	mkdir "$T/x"
	tar -xpf "$T/src.tar" -C "$T/x" --xattrs --xattrs-include='user.*' 2>/dev/null
	run "$TOOLS/treecmp" "$T/src" "$T/x/$r"
	[ "$status" -eq 0 ]
	[ "$(getfattr --only-values -n user.note "$T/x/$r/a.txt")" = "kept" ]
	# A subfolder, and --archive tar for a single file.
	mm dump latest "$T/src/d" > "$T/d.tar"
	[ "$(tar -tf "$T/d.tar" | head -1)" = "$r/d/" ]
	mm dump latest "$T/src/a.txt" --archive tar > "$T/a.tar"
	[ "$(tar -tf "$T/a.tar")" = "$r/a.txt" ]
	run mm dump latest "$T/src" --archive zip
	[ "$status" -eq 2 ]
}

@test "stats: restore size, distinct contents and the repository's raw figures" {
	mm init >/dev/null
	mkdir "$T/src"
	printf 'same\n' > "$T/src/one"
	printf 'same\n' > "$T/src/two"
	printf 'other content\n' > "$T/src/three"
	mm backup "$T/src" >/dev/null
	mm backup "$T/src" >/dev/null
	# Two snapshots, each 3 files and the folders from / down to src.
	depth=$(printf '%s' "$T/src" | tr -cd / | wc -c)
	run mm stats
	[ "$status" -eq 0 ]
	[ "$output" = "snapshots:           2
files:               6
directories:         $((2 * depth))
other entries:       0
restore size:        48 B (48 bytes)" ]
	run mm stats latest --mode files-by-contents
	[ "$output" = "snapshots:           1
distinct files:      2 (in 3 paths)
size:                19 B (19 bytes)" ]
	run mm --json stats --mode raw
	python3 - "$output" "$depth" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
depth = int(sys.argv[2])
assert s["mode"] == "raw" and s["snapshots"] == 2 and s["files"] == 6
# Two distinct contents. The snapshots share the trees from src down;
# folders above it (/tmp) may have changed between the two backups.
assert s["data_blobs"] == 2 and s["data_uncompressed_bytes"] == 19, s
assert depth <= s["tree_blobs"] <= 2 * depth, s
assert s["blobs"] == 2 + s["tree_blobs"] and s["packs"] >= 2, s
assert s["stored_bytes"] > 0 and s["uncompressed_bytes"] > s["data_uncompressed_bytes"]
assert abs(s["dedup_ratio"] - 48 / 19) < 1e-6, s
assert abs(s["compression_ratio"] - s["uncompressed_bytes"] / s["stored_bytes"]) < 1e-6
EOF
	run mm stats --mode everything
	[ "$status" -eq 2 ]
	run mm stats 0000000000000
	[ "$status" -eq 18 ]
}

@test "tag: a new snapshot object with the new tags, recording the original ID" {
	mm init >/dev/null
	mkdir "$T/src"
	echo a > "$T/src/a"
	mm backup --tag daily "$T/src" >/dev/null
	old=$(snap_ids)
	run mm tag --add monthly --add audit "${old:0:8}"
	[ "$status" -eq 0 ]
	new=$(snap_ids)
	[ "$output" = "snapshot ${old:0:8} is now ${new:0:8} [daily,monthly,audit]" ]
	[ ! -e "$T/repo/snapshots/$old" ]
	[ "$(ls "$T/repo/snapshots")" = "$new" ]
	run mm --json cat snapshot latest
	python3 - "$output" "$old" <<'EOF'
import json, sys
s = json.loads(sys.argv[1])
assert s["tags"] == ["daily", "monthly", "audit"] and s["original"] == sys.argv[2], s
EOF
	# Removing and setting; the original stays the first ID.
	run mm --json tag --remove audit --remove daily latest
	python3 - "$output" "$old" "$new" <<'EOF'
import json, sys
v = json.loads(sys.argv[1])
assert len(v) == 1 and v[0]["old_id"] == sys.argv[3] and v[0]["original"] == sys.argv[2]
assert v[0]["changed"] is True and v[0]["tags"] == ["monthly"], v
EOF
	run mm tag --add monthly latest
	[[ "$output" == "snapshot "*" unchanged [monthly]" ]]
	run mm tag --set '' latest
	[[ "$output" == *" is now "*" []" ]]
	# The data is untouched.
	mm restore latest --target "$T/out" >/dev/null
	[ "$(cat "$T/out$T/src/a")" = "a" ]
	run mm check
	[ "$status" -eq 0 ]
	run mm tag latest
	[ "$status" -eq 2 ]
	run mm tag --add x ffffffff
	[ "$status" -eq 18 ]
}
