# The webhook receiver (tests/tools/webhook-receiver) on 127.0.0.1 for the
# monitoring tests: load webhook after helpers.

RECEIVER=${MAMORI_SRC:-.}/tests/tools/webhook-receiver

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait (bounded) for a file to appear with something in it; 1 if it never does.
wait_file() {
	for _ in $(seq 1 1200); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Start the receiver writing alerts to $T/hook.jsonl, on port $1 (default:
# a free one), waiting $2 seconds before it reads each (default 0); HOOK_PORT
# is the port.
start_receiver() {
	rm -f "$T/hook.port"
	start_bg "$T/receiver.log" python3 "$RECEIVER" "$T/hook.jsonl" "$T/hook.port" "${1:-0}" "${2:-0}"
	wait_file "$T/hook.port"
	HOOK_PORT=$(cat "$T/hook.port")
}
