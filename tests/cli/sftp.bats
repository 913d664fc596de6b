#!/usr/bin/env bats
# The SFTP backend against a real OpenSSH sshd on 127.0.0.1 (its own
# config, host key, authorized_keys and port; see sshd.bash), and the
# faults an administrator meets: nothing listening, a silent server, an
# unknown or changed host key, a refused login, a missing folder, a full
# disk on the far side, and the connection dropping in the middle.

load helpers
load sshd

setup_file() {
	sshd_start "$BATS_FILE_TMPDIR/sshd"
}

teardown_file() {
	sshd_stop
	if [ -n "${SSHD_DIR:-}" ] && mountpoint -q "$SSHD_DIR/full" 2>/dev/null; then
		umount "$SSHD_DIR/full" || true
	fi
}

teardown() {
	# A silent server a test started (by its pid).
	if [ -n "${SILENT_PID:-}" ]; then
		kill "$SILENT_PID" 2>/dev/null || true
		wait "$SILENT_PID" 2>/dev/null || true
	fi
	# sshd again if a test killed it.
	if [ ! -f "$SSHD_DIR/pid" ] || ! kill -0 "$(cat "$SSHD_DIR/pid")" 2>/dev/null; then
		sshd_run
	fi
}

# mamori with the test's own ssh configuration (never the user's ~/.ssh).
ms() {
	"$MAMORI" -o "sftp.args=-F $SSH_CONFIG" "$@"
}

remote_repo() {
	REMOTE=$SSHD_DIR/remote/$BATS_TEST_NUMBER/repo
	export MAMORI_REPOSITORY=sftp:mamori-test:$REMOTE
}

@test "sftp: init, backup, restore and check through sshd; modes and no temporary files left" {
	remote_repo
	run ms init
	[ "$status" -eq 0 ]
	[[ "$output" == "created mamori repository at sftp:mamori-test:$REMOTE"* ]]
	mkdir -p "$T/src/sub"
	head -c 5000000 /dev/urandom > "$T/src/big.bin"
	printf 'hello\n' > "$T/src/sub/small.txt"
	ln -s small.txt "$T/src/sub/link"
	run ms --json backup "$T/src"
	[ "$status" -eq 0 ]
	id=$(printf '%s' "$output" | snap_id)
	run ms restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	"$TOOLS/treecmp" "$T/src" "$T/out$T/src"
	run ms check --read-data
	[ "$status" -eq 0 ]
	[[ "$output" == *"no errors found"* ]]
	# The URL form with the port reaches the same repository.
	run ms --json -r "sftp://127.0.0.1:$SSHD_PORT$REMOTE" snapshots
	[ "$status" -eq 0 ]
	[[ "$output" == *"\"id\":\"$id\""* ]]
	# Folders 0700, files 0600; every temporary file renamed or removed.
	[ "$(find "$REMOTE" -type d ! -perm 0700 | wc -l)" -eq 0 ]
	[ "$(find "$REMOTE" -type f ! -perm 0600 | wc -l)" -eq 0 ]
	[ "$(find "$REMOTE" -name '.tmp-*' | wc -l)" -eq 0 ]
	[ "$(find "$REMOTE/data" -mindepth 2 -type f | wc -l)" -ge 2 ]
	# A second backup of the same files adds nothing.
	run ms --json backup "$T/src"
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | summary_field blobs_added)" -eq 0 ]
}

@test "sftp: several threads share the connections (ranged reads, lists)" {
	remote_repo
	ms init >/dev/null
	mkdir -p "$T/src"
	for i in $(seq 1 40); do
		head -c $((i * 7919)) /dev/urandom > "$T/src/f$i"
	done
	head -c 20000000 /dev/urandom > "$T/src/large"
	run ms -o sftp.connections=2 backup --threads 4 "$T/src"
	[ "$status" -eq 0 ]
	run ms -o sftp.connections=3 restore latest --target "$T/out"
	[ "$status" -eq 0 ]
	"$TOOLS/treecmp" "$T/src" "$T/out$T/src"
	run ms -o sftp.connections=1 check --read-data
	[ "$status" -eq 0 ]
}

@test "sftp: nothing listening on the port: exit 28, connection refused" {
	port=$(free_port)
	run ms -r "sftp://127.0.0.1:$port/srv/repo" snapshots
	[ "$status" -eq 28 ]
	[[ "$output" == *"sftp 127.0.0.1:/srv/repo: connection refused or host unreachable"* ]]
	[[ "$output" == *"(ssh: ssh: connect to host 127.0.0.1 port $port: Connection refused)"* ]]
}

@test "sftp: a server that accepts and never answers: exit 28, timed out within the bound" {
	python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
' > "$T/port" &
	SILENT_PID=$!
	for i in $(seq 1 100); do [ -s "$T/port" ] && break; sleep 0.1; done
	port=$(cat "$T/port")
	run timeout 60 "$MAMORI" -o "sftp.args=-F $SSH_CONFIG" -o sftp.timeout=2 \
		-r "sftp://127.0.0.1:$port/srv/repo" snapshots
	[ "$status" -eq 28 ]
	[[ "$output" == *"connection timed out (a firewall dropping packets, or a server that does not answer)"* ]]
	[[ "$output" == *"timed out"*")"* ]]
}

@test "sftp: our own deadline on replies: a server that stops answering after the handshake" {
	# sftp.command runs a fake server: it answers INIT with VERSION 3,
	# then reads requests and never replies.
	cat > "$T/silent-sftp" <<'PY'
#!/usr/bin/env python3
import struct, sys, time
sys.stdin.buffer.read(9)
sys.stdout.buffer.write(struct.pack(">IBI", 5, 2, 3))
sys.stdout.flush()
time.sleep(600)
PY
	chmod +x "$T/silent-sftp"
	run timeout 60 "$MAMORI" -o "sftp.command=$T/silent-sftp" -o sftp.timeout=1 -o sftp.retries=0 \
		-r "sftp:somewhere:/srv/repo" snapshots
	[ "$status" -eq 28 ]
	[ "$output" = "mamori: sftp somewhere:/srv/repo: no answer from the server within 1 s (a stuck server or network; a slow link may need -o sftp.timeout=SECONDS)" ]
}

@test "sftp: unknown host key: exit 30, says how to check it" {
	: > "$T/known_hosts"
	sed "s|UserKnownHostsFile .*|UserKnownHostsFile $T/known_hosts|" "$SSH_CONFIG" > "$T/ssh_config"
	run "$MAMORI" -o "sftp.args=-F $T/ssh_config" -r "sftp:mamori-test:/srv/repo" snapshots
	[ "$status" -eq 30 ]
	[[ "$output" == *"the host key of mamori-test is not known: connect once with 'ssh mamori-test'"* ]]
	[[ "$output" == *"(ssh: No ED25519 host key is known for [127.0.0.1]:$SSHD_PORT"* ]]
}

@test "sftp: changed host key: exit 30, warns of interception" {
	ssh-keygen -q -t ed25519 -N '' -f "$T/other"
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$T/other.pub")" > "$T/known_hosts"
	sed "s|UserKnownHostsFile .*|UserKnownHostsFile $T/known_hosts|" "$SSH_CONFIG" > "$T/ssh_config"
	run "$MAMORI" -o "sftp.args=-F $T/ssh_config" -r "sftp:mamori-test:/srv/repo" snapshots
	[ "$status" -eq 30 ]
	[[ "$output" == *"the host key of mamori-test has CHANGED since it was recorded"* ]]
	[[ "$output" == *"REMOTE HOST IDENTIFICATION HAS CHANGED"* ]]
}

@test "sftp: wrong user: exit 30, permission denied (publickey)" {
	run ms -r "sftp://nosuchuser@127.0.0.1:$SSHD_PORT/srv/repo" snapshots
	[ "$status" -eq 30 ]
	[[ "$output" == *"sftp nosuchuser@127.0.0.1:/srv/repo: permission denied: the server refused the login"* ]]
	[[ "$output" == *"Permission denied (publickey)"* ]]
}

@test "sftp: no such folder: exit 10; an unknown host name: exit 28" {
	run ms -r "sftp:mamori-test:$SSHD_DIR/no/such/folder" snapshots
	[ "$status" -eq 10 ]
	[[ "$output" == *"no repository here"* ]]
	run ms -r "sftp:no-such-host.invalid:/srv/repo" snapshots
	[ "$status" -eq 28 ]
	[[ "$output" == *"host name no-such-host.invalid not resolved"* ]]
}

@test "sftp: bad locations and options are refused before ssh runs" {
	run ms -r "sftp:-oProxyCommand=touch_$BATS_TEST_NUMBER:/r" snapshots
	[ "$status" -eq 1 ]
	[[ "$output" == *"the host in '-oProxyCommand=touch_$BATS_TEST_NUMBER:/r' is empty or holds characters ssh would not take"* ]]
	run ms -r "sftp:mamori-test" snapshots
	[ "$status" -eq 1 ]
	[[ "$output" == *"names no folder: write sftp:[USER@]HOST:/PATH"* ]]
	run ms -o sftp.timeout=abc -r "sftp:mamori-test:/r" snapshots
	[ "$status" -eq 1 ]
	[[ "$output" == *"-o sftp.timeout=abc: give a whole number from 1 to 3600"* ]]
	run ms -o novalue snapshots
	[ "$status" -eq 2 ]
}

@test "sftp: full disk on the far side: says so; the repository stays valid" {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
	mkdir -p "$SSHD_DIR/full"
	mountpoint -q "$SSHD_DIR/full" || mount -t tmpfs -o size=3m,mode=0700 tmpfs "$SSHD_DIR/full" ||
		skip "cannot mount a tmpfs here (no CAP_SYS_ADMIN in this container)"
	export MAMORI_REPOSITORY=sftp:mamori-test:$SSHD_DIR/full/repo
	ms init >/dev/null
	mkdir -p "$T/src"
	printf 'small\n' > "$T/src/small"
	ms backup "$T/src" >/dev/null
	head -c 8000000 /dev/urandom > "$T/src/big"
	run ms backup "$T/src"
	[ "$status" -eq 1 ]
	[[ "$output" == *"no space left on the far side: the server's file system holding $SSHD_DIR/full/repo/data"*"free space there or use another folder"* ]]
	run ms check
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 1 snapshots"* ]]
	[ "$(find "$SSHD_DIR/full/repo" -name '.tmp-*' | wc -l)" -eq 0 ]
}

# Start a backup of T/src in the background (extra mamori options first),
# stop it once its first pack has arrived, run the given command (which
# takes the server or its connections away), let it go on; rc in BACKUP_RC.
interrupt_backup() {
	ms "$@" backup "$T/src" --threads 2 > "$T/out.txt" 2>&1 &
	pid=$!
	for i in $(seq 1 1200); do
		[ -n "$(find "$REMOTE/data" -mindepth 2 -type f ! -name '.*' 2>/dev/null | head -1)" ] && break
		sleep 0.05
	done
	kill -STOP "$pid"
	$INTERRUPT
	kill -CONT "$pid"
	BACKUP_RC=0
	wait "$pid" || BACKUP_RC=$?
	cat "$T/out.txt"
}

@test "sftp: sshd killed in the middle of a backup: exit 29, connection dropped; repository valid" {
	remote_repo
	ms init >/dev/null
	mkdir -p "$T/src"
	head -c 64000000 /dev/urandom > "$T/src/big"
	INTERRUPT=sshd_stop interrupt_backup -o sftp.retries=1
	[ "$BACKUP_RC" -eq 29 ]
	# Whichever thread saw it first: its own connection dropping, or a new
	# one refused after another had dropped.
	grep -Eq "^mamori: (sftp mamori-test:$REMOTE: )?the connection dropped" "$T/out.txt"
	grep -q "; tried again 1 time over [0-9]* s, last: sftp mamori-test:$REMOTE: connection refused" "$T/out.txt"
	# The server comes back: the repository is valid, no snapshot was written.
	sshd_run
	run ms check
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 0 snapshots"* ]]
	# The next run completes.
	run ms backup "$T/src"
	[ "$status" -eq 0 ]
	run ms check --read-data
	[ "$status" -eq 0 ]
}

@test "sftp: connections dropped in the middle of a backup, sshd still there: retried, completes" {
	remote_repo
	ms init >/dev/null
	mkdir -p "$T/src"
	head -c 48000000 /dev/urandom > "$T/src/big"
	printf 'small\n' > "$T/src/small"
	INTERRUPT=sshd_sessions_kill interrupt_backup
	[ "$BACKUP_RC" -eq 0 ]
	run ms check --read-data
	[ "$status" -eq 0 ]
	[[ "$output" == *"checked 1 snapshots"* ]]
	ms restore latest --target "$T/out" >/dev/null
	"$TOOLS/treecmp" "$T/src" "$T/out$T/src"
}
