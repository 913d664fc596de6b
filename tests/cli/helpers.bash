# Shared set-up for mamori's command-line tests (bats).
# Each test gets its own folder, repository and password file.

setup() {
	: "${MAMORI:?MAMORI must name the mamori binary (ctest sets it)}"
	: "${MAMORI_SRC:?MAMORI_SRC must name the source tree}"
	T=$BATS_TEST_TMPDIR
	export MAMORI_REPOSITORY=$T/repo
	export MAMORI_PASSWORD_FILE=$T/password
	export MAMORI_TEST_KDF=1
	# The ledger of each test lives in the test's folder, never in /var/lib/mamori.
	export MAMORI_STATE_DIR=$T/state
	unset MAMORI_PASSWORD
	printf 'test password\n' > "$MAMORI_PASSWORD_FILE"
	TOOLS=$MAMORI_SRC/tests/tools
	# ASan: report leaks, fail loudly.
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
}

mm() {
	"$MAMORI" "$@"
}

# The snapshot ID printed by `backup --json`.
snap_id() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# A field of the summary of `backup --json` output given on stdin.
summary_field() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"][sys.argv[1]])' "$1"
}

skip_unless_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# Run a command with the fault shim (tests/shims/faults.c) preloaded; ASan
# must come first among the libraries, so its link-order check is off.
with_faults() {
	LD_PRELOAD="$MAMORI_SHIM_FAULTS" ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" "$@"
}

# Wait (bounded, no timing assertion) until process $1 is stopped.
wait_stopped() {
	for _ in $(seq 1 2400); do
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		[ -e "/proc/$1" ] || return 1
		sleep 0.05
	done
	return 1
}

# Start a program (not a shell function: $! must be the program itself)
# in the background with its output in file $1; BG_PID is its pid, and
# kill_background (called from a file's teardown) kills it even when the
# test fails. Use env to give it variables: start_bg OUT env A=1 "$MAMORI" ...
start_bg() {
	local out=$1
	shift
	"$@" > "$out" 2>&1 &
	BG_PID=$!
	echo "$BG_PID" >> "$T/bg.pids"
}

kill_background() {
	[ -f "$T/bg.pids" ] || return 0
	while read -r p; do
		kill -9 "$p" 2>/dev/null || true
	done < "$T/bg.pids"
}

# The environment that preloads the fault shim, for env: env $(faults_env) ...
faults_env() {
	echo "LD_PRELOAD=$MAMORI_SHIM_FAULTS ASAN_OPTIONS=$ASAN_OPTIONS:verify_asan_link_order=0"
}
