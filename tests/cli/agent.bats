#!/usr/bin/env bats
# mamori-agent, the resident monitoring agent: what it maps, and the
# mamori child it hands the http checks and webhook alerts to (one per
# cycle, `every`, answers that are not results, a missing helper).

load helpers
load webhook

teardown() {
	kill_background
}

agent() {
	"$(dirname "$MAMORI")/mamori-agent" "$@"
}

# A mamori that notes each time the agent runs it, then is mamori.
counting_mamori() {
	printf '#!/bin/sh\necho "$*" >> "%s/helper.log"\nexec "%s" "$@"\n' "$T" "$MAMORI" \
		> "$T/counting-mamori"
	chmod +x "$T/counting-mamori"
}

# An http check on the receiver (extra keys in $1) and one on port $2.
web_conf() {
	cat > "$T/mamori.conf" <<EOF
[monitor]
interval = 1s
state-dir = $T/mon

[check web]
type = http
url = http://127.0.0.1:$HOOK_PORT/
$1

[check portal]
type = http
url = http://127.0.0.1:$2/
timeout = 2s

[alert ops-hook]
type = webhook
url = http://127.0.0.1:$HOOK_PORT/hook
EOF
}

@test "mamori-agent maps neither libcurl nor the repository code's libraries" {
	run readelf -d "$(dirname "$MAMORI")/mamori-agent"
	[ "$status" -eq 0 ]
	needed=$(printf '%s\n' "$output" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
		grep -v -E '^lib(asan|ubsan)\.' | sort | tr '\n' ' ')
	[ "$needed" = "libargon2.so.1 libc.so.6 libcrypto.so.3 libinih.so.1 libm.so.6 libsystemd.so.0 " ]
	# mamori itself has them; libarchive and libmicrohttpd it loads only in
	# dump and metrics --listen
	run readelf -d "$MAMORI"
	[[ "$output" == *"[libcurl.so.4]"* ]]
	[[ "$output" == *"[libzstd.so.1]"* ]]
	[[ "$output" != *"libarchive"* ]]
	[[ "$output" != *"libmicrohttpd"* ]]
}

@test "two http checks go to one mamori child a cycle; the webhook alert through a second" {
	start_receiver
	counting_mamori
	dead=$(free_port)
	web_conf "" "$dead"
	export MAMORI_NOW=@1800000000
	run agent --config "$T/mamori.conf" --cycles 1 --quiet --verbose --program "$T/counting-mamori"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"mamori monitor: web OK: http://127.0.0.1:$HOOK_PORT/ answered HTTP 200 in "[0-9]+" ms"$ ]]
	[[ "${lines[1]}" == "mamori monitor: portal CRITICAL: http://127.0.0.1:$dead/: connection refused or unreachable: is the web server running? ("* ]]
	[ "${#lines[@]}" -eq 2 ]
	[ "$(cat "$T/helper.log")" = "monitor check --wire --config $T/mamori.conf -- web portal
monitor send --wire --config $T/mamori.conf -- ops-hook" ]
	[ "$(python3 -c 'import json,sys; a=json.loads(open(sys.argv[1]).readline()); print(a["check"], a["kind"], a["state"], a["previous_state"], a["type"])' "$T/hook.jsonl")" = "portal problem CRITICAL OK http" ]
	# the next cycle: no change, so one child and no alert
	run agent --config "$T/mamori.conf" --cycles 1 --program "$T/counting-mamori"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$T/helper.log")" -eq 3 ]
	[ "$(wc -l < "$T/hook.jsonl")" -eq 1 ]
}

@test "a receiver that hangs holds up no cycle: the alert is delivered in the background and accounted for at exit" {
	start_receiver 0 30
	dead=$(free_port)
	cat > "$T/mamori.conf" <<EOF
[monitor]
interval = 1s
state-dir = $T/mon

[check port]
type = tcp
address = 127.0.0.1:$dead

[alert ops-hook]
type = webhook
url = http://127.0.0.1:$HOOK_PORT/hook
timeout = 6s
EOF
	# cycles at 0, 1 and 2 s; the delivery gives up at 6 s
	run agent --config "$T/mamori.conf" --cycles 3 --quiet --verbose
	[ "$status" -eq 0 ]
	# the three cycles first, then, when the agent stops, the delivery that
	# timed out (a delivery in the cycle would have come before cycle 2)
	[ "${#lines[@]}" -eq 4 ]
	for i in 0 1 2; do
		[ "${lines[$i]}" = "mamori monitor: port CRITICAL: 127.0.0.1:$dead: connection refused (nothing listens on port $dead: is the service running?)" ]
	done
	[[ "${lines[3]}" == "mamori monitor: alert ops-hook for check port not delivered (try 1, retried later): webhook http://127.0.0.1:$HOOK_PORT/hook: "* ]]
	[[ "${lines[3]}" == *"timed out"* ]]
	# kept for its retry
	grep -q '^memo port @q.ops-hook problem%202%200%20' "$T/mon/state"
}

@test "a check with 'every' is looked at again only when that time has passed, across restarts" {
	start_receiver
	counting_mamori
	web_conf "every = 1m" "$HOOK_PORT"
	sed -i '/^\[check portal\]/,/^$/d' "$T/mamori.conf"
	MAMORI_NOW=@1800000000 agent --config "$T/mamori.conf" --cycles 1 --program "$T/counting-mamori"
	MAMORI_NOW=@1800000030 agent --config "$T/mamori.conf" --cycles 1 --program "$T/counting-mamori"
	MAMORI_NOW=@1800000059 agent --config "$T/mamori.conf" --cycles 1 --program "$T/counting-mamori"
	[ "$(cat "$T/helper.log")" = "monitor check --wire --config $T/mamori.conf -- web" ]
	MAMORI_NOW=@1800000060 run agent --config "$T/mamori.conf" --cycles 1 --quiet --verbose --program "$T/counting-mamori"
	[ "$status" -eq 0 ]
	[ "$(wc -l < "$T/helper.log")" -eq 2 ]
	[[ "$output" =~ "web OK: http://127.0.0.1:$HOOK_PORT/ answered HTTP 200" ]]
	# mamori monitor check (one look, asked by a person) never reuses
	run mm monitor check --config "$T/mamori.conf" --json web
	[ "$status" -eq 0 ]
	[[ "$output" == *'"state":"OK"'* ]]
}

# Line $1 is in $output, whole.
has_line() {
	printf '%s\n' "$output" | grep -Fqx -- "$1"
}

@test "a helper that answers nonsense, or is missing, makes the checks UNKNOWN and the agent goes on" {
	start_receiver
	web_conf "" "$HOOK_PORT"
	printf '#!/bin/sh\necho hello\n' > "$T/liar"
	chmod +x "$T/liar"
	export MAMORI_NOW=@1800000000
	run agent --config "$T/mamori.conf" --cycles 2 --quiet --verbose --program "$T/liar"
	[ "$status" -eq 0 ]
	has_line "mamori monitor: web UNKNOWN: $T/liar answered with something else than check results: not a check result (the first line is not 'mamori-result 1': are mamori and mamori-agent from the same version?)"
	# the liar is the alerts' helper too: the alert is kept for a retry
	has_line "mamori monitor: alert ops-hook for check web not delivered (try 1, retried later): $T/liar answered 'hello', not 'sent'"
	[ "$(printf '%s\n' "$output" | grep -c 'web UNKNOWN')" -eq 2 ]
	run agent --config "$T/mamori.conf" --cycles 1 --quiet --verbose --program "$T/nowhere/mamori"
	[ "$status" -eq 0 ]
	has_line "mamori monitor: web UNKNOWN: $T/nowhere/mamori, which runs the http and backups checks, failed: cannot run $T/nowhere/mamori: No such file or directory"
	# one result short is not taken for the others
	printf '#!/bin/sh\nprintf "mamori-result 1\\nstate 0\\njudged 0\\nvalue 0\\npct -1\\nunit -\\nmessage fine\\n"\n' > "$T/short"
	chmod +x "$T/short"
	run agent --config "$T/mamori.conf" --cycles 1 --quiet --verbose --program "$T/short"
	has_line "mamori monitor: web UNKNOWN: $T/short answered with something else than check results: 1 check results for the 2 asked for"
	[ ! -s "$T/hook.jsonl" ]
}

@test "monitor send --wire delivers the alert it reads, and says why when it cannot" {
	start_receiver
	web_conf "" "$HOOK_PORT"
	alert='mamori-alert 1
check data-disk
type disk
kind problem
state 2
previous 1
value 91.5
has-value 1
threshold warn%2080%25,%20crit%2090%25
cause /srv%2091%20%25%20full
host town-hall
time 1800000000'
	run sh -c 'printf "%s\n" "$1" | "$MAMORI" monitor send --wire --config "$2" ops-hook' _ "$alert" "$T/mamori.conf"
	[ "$status" -eq 0 ]
	[ "$output" = "sent" ]
	[ "$(python3 -c 'import json,sys; a=json.loads(open(sys.argv[1]).readline()); print(a["check"], a["state"], a["previous_state"], a["value"], a["threshold"], a["cause"], a["host"], a["time"])' "$T/hook.jsonl")" = "data-disk CRITICAL WARNING 91.5 warn 80%, crit 90% /srv 91 % full town-hall 2027-01-15T08:00:00Z" ]
	run sh -c 'echo hello | "$MAMORI" monitor send --wire --config "$1" ops-hook' _ "$T/mamori.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "error not an alert (the first line is not 'mamori-alert 1')" ]
	run sh -c '"$MAMORI" monitor send --wire --config "$1" ops-hook < /dev/null' _ "$T/mamori.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "error not an alert (the first line is not 'mamori-alert 1')" ]
	run sh -c 'printf "%s\nstate 9\n" "$1" | "$MAMORI" monitor send --wire --config "$2" ops-hook' _ "$alert" "$T/mamori.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "error alert, line 13: 'state' is not understood" ]
	run sh -c 'printf "%s\n" "$1" | "$MAMORI" monitor send --wire --config "$2" nope' _ "$alert" "$T/mamori.conf"
	[ "$status" -eq 1 ]
	[ "$output" = "error no [alert nope] in $T/mamori.conf" ]
	[ "$(wc -l < "$T/hook.jsonl")" -eq 1 ]
}

@test "monitor run checks the configuration first, and says so when mamori-agent is not beside mamori" {
	printf '[monitor]\ninterval = often\n' > "$T/bad.conf"
	run mm monitor run --config "$T/bad.conf" --cycles 1
	[ "$status" -eq 43 ]
	[[ "$output" == *"$T/bad.conf:2: interval"* ]]
	mkdir "$T/bin"
	cp "$MAMORI" "$T/bin/mamori"
	printf '[monitor]\ninterval = 1s\nstate-dir = %s/mon\n' "$T" > "$T/ok.conf"
	run "$T/bin/mamori" monitor run --config "$T/ok.conf" --cycles 1
	[ "$status" -eq 49 ]
	[ "$output" = "mamori: cannot start the agent $T/bin/mamori-agent: No such file or directory (it is installed beside mamori; reinstall mamori)" ]
}

# Wait (bounded) until file $1 has a line matching the extended regex $2.
wait_line() {
	for _ in $(seq 1 1200); do
		grep -Eq -- "$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

@test "SIGHUP reloads the configuration; a broken one is refused and the agent goes on with the old" {
	mkdir -p "$T/data"
	printf '[monitor]\ninterval = 1s\nstate-dir = %s/mon\n\n[check one]\ntype = disk\npath = %s/data\n' \
		"$T" "$T" > "$T/mamori.conf"
	start_bg "$T/agent.log" "$(dirname "$MAMORI")/mamori-agent" --config "$T/mamori.conf" --quiet --verbose
	pid=$BG_PID
	wait_line "$T/agent.log" '^mamori monitor: one OK: '
	printf '\n[check two]\ntype = memory\n' >> "$T/mamori.conf"
	kill -HUP "$pid"
	wait_line "$T/agent.log" "^mamori monitor: $T/mamori.conf reloaded: 2 checks, 0 alerts\$"
	wait_line "$T/agent.log" '^mamori monitor: two (OK|WARNING|CRITICAL): '
	printf '\n[check three]\ntype = dsik\n' >> "$T/mamori.conf"
	kill -HUP "$pid"
	wait_line "$T/agent.log" "was not reloaded"
	grep -Fqx "mamori monitor: $T/mamori.conf was not reloaded; the agent goes on with the configuration it had: $T/mamori.conf:13: type: unknown probe 'dsik'; expected one of disk, memory, cpu, network, tcp, http, service, process, raid, files, backups, time, logins" "$T/agent.log"
	# still watching both
	n=$(grep -c '^mamori monitor: two ' "$T/agent.log")
	wait_line "$T/agent.log" '^mamori monitor: one OK: '
	for _ in $(seq 1 1200); do
		[ "$(grep -c '^mamori monitor: two ' "$T/agent.log")" -gt "$n" ] && break
		sleep 0.05
	done
	[ "$(grep -c '^mamori monitor: two ' "$T/agent.log")" -gt "$n" ]
	kill -TERM "$pid"
	wait "$pid"
	! grep -q "three" "$T/mon/state"
}
