#!/usr/bin/env bats
# mamori key list|add|remove|passwd: one key per administrator.

load helpers

# The ID of the key in use (or of the key named $1) from `key list --json`.
key_id() {
	mm --json key list | python3 -c '
import json, sys
keys = json.load(sys.stdin)
want = sys.argv[1] if len(sys.argv) > 1 else None
print([k["id"] for k in keys if (k.get("name") == want if want else k["in_use"])][0])' "$@"
}

# `key list` with the times masked.
key_list_masked() {
	mm key list | sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}/TIME               /'
}

@test "key add: a second administrator's key opens the repository; list names both" {
	mm init --key-name tanaka >/dev/null
	printf 'sato password\n' > "$T/pw2"
	run env MAMORI_NEW_PASSWORD_FILE="$T/pw2" "$MAMORI" key add --key-name sato
	[ "$status" -eq 0 ]
	a=$(key_id tanaka)
	b=$(key_id sato)
	[ "$output" = "added key ${b:0:8}" ]
	who="$(id -un)@$(hostname)"
	run key_list_masked
	[ "$status" -eq 0 ]
	# Oldest first: tanaka was made by init.
	expected=$(printf '  ID        Created              Added by                  Name\n* %s  TIME                 %-24s  tanaka\n  %s  TIME                 %-24s  sato\n2 keys; * the key in use' \
		"${a:0:8}" "$who" "${b:0:8}" "$who")
	[ "$output" = "$expected" ]
	# The new password opens it, and that key is then the one in use.
	run mm --password-file "$T/pw2" key list
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" == "* ${b:0:8}  "* ]]
	# JSON: every field of both keys.
	run mm --json key list
	python3 - "$output" "$a" "$b" "$(id -un)" "$(hostname)" <<'EOF'
import json, sys
keys = json.loads(sys.argv[1])
a, b, user, host = sys.argv[2:6]
assert [k["id"] for k in keys] == [a, b], keys
assert [k["short_id"] for k in keys] == [a[:8], b[:8]]
assert [k["in_use"] for k in keys] == [True, False]
assert [k["name"] for k in keys] == ["tanaka", "sato"]
assert all(k["user"] == user and k["host"] == host and k["version"] == 2 for k in keys)
assert all(k["created"].endswith("Z") and k["created_ns"] > 0 for k in keys)
EOF
	# A name with a newline and a byte that is not UTF-8: escaped in the
	# list, kept in JSON.
	MAMORI_NEW_PASSWORD_FILE="$T/pw2" mm key add --key-name "$(printf 'new\nline\377')" >/dev/null
	run mm key list
	[[ "${lines[3]}" == *"  new\\x0aline\\xff" ]]
	run mm --json key list
	python3 -c 'import json,sys; assert json.loads(sys.argv[1])[2]["name"] == "new\nline\u00ff"' "$output"
}

@test "key add: the password is never taken from argv; mismatched or missing is refused" {
	mm init >/dev/null
	run mm key add --key-name x secret
	[ "$status" -eq 2 ]
	[[ "$output" == *"takes no arguments (the password is never one)"* ]]
	# No terminal and no file: says how to give one.
	run setsid -w "$MAMORI" key add < /dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"no new password: set MAMORI_NEW_PASSWORD_FILE or --new-password-file"* ]]
	printf '\n' > "$T/empty"
	run mm key add --new-password-file "$T/empty"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is empty"* ]]
	[ "$(ls "$T/repo/keys" | wc -l)" -eq 1 ]
}

@test "key remove: refuses the last key and the key in use; --force removes the key in use" {
	mm init --key-name tanaka >/dev/null
	a=$(key_id)
	run mm key remove "${a:0:6}"
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: key ${a:0:8} is the only key of this repository: removing it would make the repository unreadable; add another key first ('mamori key add')" ]
	printf 'other\n' > "$T/pw2"
	MAMORI_NEW_PASSWORD_FILE="$T/pw2" mm key add --key-name sato >/dev/null
	b=$(key_id sato)
	run mm key remove "${a:0:8}"
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: key ${a:0:8} is the key in use (it opened the repository with this password): use 'mamori key passwd' to change it, or --force to remove it" ]
	[ -e "$T/repo/keys/$a" ]
	# Unknown and malformed IDs.
	run mm key remove ffffffffffffffffffff
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: no key 'ffffffffffffffffffff' in this repository: see 'mamori key list'" ]
	run mm key remove not-hex
	[ "$status" -eq 1 ]
	[ "$output" = "mamori: 'not-hex' is not a key ID: give a hex ID prefix from 'mamori key list'" ]
	# Another administrator removes sato's key; then --force removes one's own.
	run mm --password-file "$T/pw2" key remove "${a:0:8}"
	[ "$status" -eq 0 ]
	[ "$output" = "removed key ${a:0:8}" ]
	[ ! -e "$T/repo/keys/$a" ]
	run mm key list
	[ "$status" -eq 12 ]
	MAMORI_NEW_PASSWORD_FILE="$MAMORI_PASSWORD_FILE" mm --password-file "$T/pw2" key add --key-name tanaka2 >/dev/null
	run mm --json --password-file "$T/pw2" key remove --force "${b:0:8}"
	[ "$status" -eq 0 ]
	[ "$output" = "{\"removed\":\"$b\"}" ]
	run mm --password-file "$T/pw2" key list
	[ "$status" -eq 12 ]
	run mm key list
	[ "$status" -eq 0 ]
}

@test "key passwd: a new key with the same name replaces the key in use; data stays readable" {
	mm init --key-name tanaka >/dev/null
	mkdir "$T/src"
	echo hello > "$T/src/a"
	mm backup "$T/src" >/dev/null
	a=$(key_id)
	printf 'new password\n' > "$T/new"
	run mm key passwd --new-password-file "$T/new"
	[ "$status" -eq 0 ]
	b=$(mm --password-file "$T/new" --json key list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	[ "$output" = "password changed: key ${b:0:8} replaces key ${a:0:8}" ]
	[ "$(ls "$T/repo/keys")" = "$b" ]
	run mm key list
	[ "$status" -eq 12 ]
	run mm --password-file "$T/new" key list
	[[ "${lines[1]}" == "* ${b:0:8}  "*"  tanaka" ]]
	run mm --password-file "$T/new" ls latest "$T/src/a"
	[ "$output" = "$T/src/a" ]
}

@test "a key file of a newer version: exit 21 and says to upgrade" {
	mm init >/dev/null
	k=$(ls "$T/repo/keys")
	# Encoding version (u16 at offset 4) set to 9.
	printf '\x09\x00' | dd of="$T/repo/keys/$k" bs=1 seek=4 conv=notrunc status=none
	run mm snapshots
	[ "$status" -eq 21 ]
	[ "$output" = "mamori: $T/repo: no key this mamori can read opens with the password; keys/${k:0:12}…: key file: encoding version 9 is not supported (this mamori reads versions 1 to 2; upgrade mamori)" ]
	printf '\x00\x00' | dd of="$T/repo/keys/$k" bs=1 seek=4 conv=notrunc status=none
	run mm snapshots
	[ "$status" -eq 21 ]
	[[ "$output" == *"encoding version 0 is not supported (this mamori reads versions 1 to 2; the file is damaged)" ]]
}

@test "umask 000: every file of the repository is 0600 and every folder 0700" {
	umask 000
	mm init >/dev/null
	mkdir "$T/src"
	head -c 200000 /dev/urandom > "$T/src/a"
	echo b > "$T/src/b"
	mm backup "$T/src" >/dev/null
	printf 'second\n' > "$T/pw2"
	MAMORI_NEW_PASSWORD_FILE="$T/pw2" mm key add >/dev/null
	# Every kind of object is there.
	for d in keys data index snapshots; do
		[ "$(find "$T/repo/$d" -type f | wc -l)" -ge 1 ]
	done
	[ -f "$T/repo/config" ]
	run find "$T/repo" -type f ! -perm 0600
	[ "$output" = "" ]
	run find "$T/repo" -type d ! -perm 0700
	[ "$output" = "" ]
}

# A repository made by root, opened by another user.
foreign_setup() {
	F=$(mktemp -d /tmp/mamori-foreign-XXXXXX)
	chmod 755 "$F"
	cp "$MAMORI_PASSWORD_FILE" "$F/pw"
	chmod 644 "$F/pw"
}

teardown() {
	if [ -n "${F:-}" ]; then rm -rf "$F"; fi
}

@test "a repository of another user: exit 22 names the owner and what to do" {
	if [ "$(id -u)" -eq 0 ]; then
		foreign_setup
		mm -r "$F/repo" init >/dev/null
		run setpriv --reuid=65534 --regid=65534 --clear-groups "$MAMORI" -r "$F/repo" --password-file "$F/pw" snapshots
		[ "$status" -eq 22 ]
		nobody=$(getent passwd 65534 | cut -d: -f1)
		[ "$output" = "mamori: $F/repo/config: permission denied: the repository at $F/repo belongs to root (uid 0) and its files are readable by that user only (0600/0700); mamori runs as $nobody (uid 65534). Run it as root (uid 0), or give this user its own repository" ]
	else
		mm init >/dev/null
		chmod 000 "$T/repo/keys"
		run mm snapshots
		chmod 700 "$T/repo/keys"
		[ "$status" -eq 22 ]
		me="$(id -un) (uid $(id -u))"
		[ "$output" = "mamori: $T/repo/keys: permission denied: the repository at $T/repo belongs to $me and its files are readable by that user only (0600/0700); mamori runs as $me. Run it as $me or as root, or give this user its own repository" ]
	fi
}
