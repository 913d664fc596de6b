# A real OpenSSH sshd on 127.0.0.1 for the SFTP tests, in a folder of its
# own: its own sshd_config, host key, authorized_keys and a free port; and
# a client configuration of its own (never the user's ~/.ssh).
#
#   sshd_start DIR    start it (sets SSHD_DIR, SSHD_PORT, SSHD_PID, SSH_CONFIG)
#   sshd_stop         kill it and every process it started
#   sshd_sessions_kill   kill the sessions (the connections) but not the listener
#   free_port         print a TCP port nothing listens on now
#
# The client reaches it as "mamori-test" (HostName 127.0.0.1, the port) or
# as 127.0.0.1 with the port given; known_hosts holds its key.

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

sshd_start() {
	SSHD_DIR=$1
	mkdir -p "$SSHD_DIR"
	chmod 700 "$SSHD_DIR"
	local sftp_server
	for sftp_server in /usr/lib/openssh/sftp-server /usr/libexec/sftp-server ""; do
		[ -x "$sftp_server" ] && break
	done
	[ -n "$sftp_server" ] || { echo "no sftp-server (apt-get install openssh-sftp-server)" >&2; return 1; }
	# sshd wants its privilege separation folder (systemd makes it at boot).
	[ -d /run/sshd ] || mkdir -p -m 0755 /run/sshd 2>/dev/null || true
	ssh-keygen -q -t ed25519 -N '' -C mamori-test-host -f "$SSHD_DIR/host_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C mamori-test-client -f "$SSHD_DIR/id_ed25519"
	cp "$SSHD_DIR/id_ed25519.pub" "$SSHD_DIR/authorized_keys"
	SSHD_PORT=$(free_port)
	cat > "$SSHD_DIR/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_ed25519
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
MaxStartups 64
MaxSessions 64
LogLevel ERROR
Subsystem sftp $sftp_server
CONF
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")" \
		> "$SSHD_DIR/known_hosts"
	SSH_CONFIG=$SSHD_DIR/ssh_config
	cat > "$SSH_CONFIG" <<CONF
Host mamori-test
	HostName 127.0.0.1
	Port $SSHD_PORT
Host *
	User $(id -un)
	IdentityFile $SSHD_DIR/id_ed25519
	IdentitiesOnly yes
	IdentityAgent none
	UserKnownHostsFile $SSHD_DIR/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	ControlMaster no
	LogLevel ERROR
CONF
	sshd_run
}

# (Re)start the listener from the configuration sshd_start wrote.
sshd_run() {
	# -D: stay in the foreground as our child (so we know its pid); -e: log to stderr.
	/usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config" </dev/null >/dev/null 2>>"$SSHD_DIR/sshd.log" 3>&- &
	SSHD_PID=$!
	echo "$SSHD_PID" > "$SSHD_DIR/pid"
	# Ready when it answers a login (bounded: 20 s).
	local i
	for i in $(seq 1 200); do
		if ssh -F "$SSH_CONFIG" -o BatchMode=yes mamori-test true 2>/dev/null; then
			export SSHD_DIR SSHD_PORT SSHD_PID SSH_CONFIG
			return 0
		fi
		kill -0 "$SSHD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "sshd did not start:" >&2
	cat "$SSHD_DIR/sshd.log" >&2
	return 1
}

# Every descendant of a pid, deepest first.
_descendants() {
	local p
	for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		_descendants "$p"
		echo "$p"
	done
}

sshd_sessions_kill() {
	local p
	for p in $(_descendants "$SSHD_PID"); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

sshd_stop() {
	[ -n "${SSHD_DIR:-}" ] && [ -f "$SSHD_DIR/pid" ] || return 0
	SSHD_PID=$(cat "$SSHD_DIR/pid")
	sshd_sessions_kill
	kill -KILL "$SSHD_PID" 2>/dev/null || true
	wait "$SSHD_PID" 2>/dev/null || true
	rm -f "$SSHD_DIR/pid"
}
