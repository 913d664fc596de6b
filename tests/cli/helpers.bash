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
