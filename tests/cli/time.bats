#!/usr/bin/env bats
# mamori time check against real peers on loopback: Debian's chronyd, ntpsec's
# ntpd in a network namespace of the test's own, a responder that misbehaves.
# No daemon started here can change the machine's clock: chronyd runs with
# -x, ntpd with "disable ntp", and both without CAP_SYS_TIME (setpriv).

load helpers

NTPSEC_ROOT=${MAMORI_NTPSEC_ROOT:-/opt/mamori-test/ntpsec}
FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
NOTIME="setpriv --bounding-set=-sys_time --inh-caps=-sys_time"

setup() {
	: "${MAMORI:?MAMORI must name the mamori binary (ctest sets it)}"
	T=$BATS_TEST_TMPDIR
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
	RESPONDER=$MAMORI_SRC/tests/tools/ntp-responder
	PIDS=()
	NETNS=""
	# no host configuration may leak into a test
	export MAMORI_TIME_CONFIG_ROOT=$T/root
	mkdir -p "$T/root"
}

teardown() {
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$NETNS" ]; then
		ip netns pids "$NETNS" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$NETNS" 2>/dev/null || true
	fi
}

# A UDP port on 127.0.0.1 that nothing uses right now.
free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_responder MODE [OFFSET]: sets PORT
start_responder() {
	rm -f "$T/port.$1"
	python3 "$RESPONDER" "$1" "$T/port.$1" "${2:-0}" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	for _ in $(seq 100); do
		[ -s "$T/port.$1" ] && break
		sleep 0.1
	done
	PORT=$(cat "$T/port.$1")
}

# start_chronyd [faketime-offset]: chronyd serving local stratum 8 on CPORT
start_chronyd() {
	command -v chronyd >/dev/null || skip "chronyd not installed: run scripts/install-deps --test"
	CPORT=$(free_port)
	mkdir -p "$T/chrony"
	chmod 700 "$T/chrony"
	cat > "$T/chrony/chrony.conf" <<-EOF
	port $CPORT
	bindaddress 127.0.0.1
	allow 127.0.0.1
	local stratum 8
	cmdport 0
	pidfile $T/chrony/chronyd.pid
	driftfile $T/chrony/drift
	bindcmdaddress $T/chrony/chronyd.sock
	EOF
	if [ -n "${1:-}" ]; then
		[ -r "$FAKETIME_LIB" ] || skip "libfaketime not installed: run scripts/install-deps --test"
		env LD_PRELOAD="$FAKETIME_LIB" FAKETIME="$1" FAKETIME_DONT_RESET=1 \
			$NOTIME chronyd -d -x -u root -f "$T/chrony/chrony.conf" -L 0 \
			-l "$T/chrony/log" >/dev/null 2>&1 3>&- &
	else
		$NOTIME chronyd -d -x -u root -f "$T/chrony/chrony.conf" -L 0 \
			-l "$T/chrony/log" >/dev/null 2>&1 3>&- &
	fi
	PIDS+=($!)
	python3 "$RESPONDER" wait 127.0.0.1 "$CPORT"
	# it cannot touch the clock, and says so
	grep -q "Disabled control of system clock" "$T/chrony/log"
}

offset_of() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)["offset"])'
}

@test "chronyd on loopback: good, stratum 8, OK and exit 0" {
	start_chronyd
	run mm time check --samples 3 --interval 0.1 --timeout 2 --json "127.0.0.1:$CPORT"
	[ "$status" -eq 0 ]
	python3 - "$output" <<-'EOF'
	import json, sys
	r = json.loads(sys.argv[1])
	s = r["sources"][0]
	assert s["verdict"] == "good", s
	assert s["stratum"] == 8 and s["leap"] == 0 and s["received"] == 3 and s["sent"] == 3, s
	assert s["refid"] == "127.127.1.1", s   # chrony's local reference
	assert abs(r["offset"]) < 0.01, r
	assert r["state"] == "OK" and r["survivors"] == 1 and r["falsetickers"] == 0, r
	assert r["step_needed"] is False
	EOF
	run mm time check --samples 2 --interval 0.1 --timeout 2 --nagios "127.0.0.1:$CPORT"
	[ "$status" -eq 0 ]
	[[ "$output" == "TIME OK: offset "*" s from 1 of 1 sources|offset="*"s;60.000000;120.000000; delay="*"s jitter="*"s" ]]
}

@test "servers come from the configured chrony.conf under the config root" {
	start_chronyd
	mkdir -p "$T/root/etc/chrony/sources.d"
	printf 'confdir /etc/chrony/conf.d\nsourcedir /etc/chrony/sources.d\nmakestep 1 3\n' > "$T/root/etc/chrony/chrony.conf"
	printf 'server 127.0.0.1 port %s iburst\n' "$CPORT" > "$T/root/etc/chrony/sources.d/local.sources"
	run mm time check --samples 1 --timeout 2
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Servers from $T/root/etc/chrony/chrony.conf" ]
	[[ "${lines[2]}" == "127.0.0.1                127.0.0.1:$CPORT"* ]]
	[[ "${lines[2]}" == *" good" ]]
	[[ "${lines[3]}" == "OK: offset "*" s from 1 of 1 sources" ]]
	run mm time check --samples 1 --timeout 2 --json
	[[ "$output" == *"\"origin\":\"$T/root/etc/chrony/sources.d/local.sources:1\""* ]]
}

@test "no servers given and none configured: UNKNOWN, exit 3, says what to do" {
	run mm time check
	[ "$status" -eq 3 ]
	[ "$output" = "mamori: no time servers given and none configured in /etc/chrony/chrony.conf, /etc/ntpsec/ntp.conf, /etc/ntp.conf or /etc/systemd/timesyncd.conf: name a server, e.g. 'mamori time check ntp.nict.jp'" ]
	run mm time check --nagios
	[ "$status" -eq 3 ]
	[[ "$output" == "TIME UNKNOWN: no time servers given and none configured in "* ]]
	run mm time check --samples 99 127.0.0.1
	[ "$status" -eq 3 ]
	[[ "$output" == *"--samples takes a number 1..16"* ]]
}

@test "chronyd 37 s ahead under libfaketime: +37 s, a step is needed, CRITICAL" {
	start_chronyd +37s
	run mm time check --samples 8 --interval 0.05 --timeout 2 --json "127.0.0.1:$CPORT"
	[ "$status" -eq 0 ] # 37 s is below check_ntp_time's default 60 s
	off=$(printf '%s' "$output" | offset_of)
	python3 -c "import sys; o=float(sys.argv[1]); assert abs(o - 37) < 0.01, o" "$off"
	[[ "$output" == *'"step_needed":true'* ]]
	run mm time check --samples 2 --interval 0.1 --timeout 2 --nagios --warn 1 --crit 10 "127.0.0.1:$CPORT"
	[ "$status" -eq 2 ]
	[[ "$output" == "TIME CRITICAL: offset +3"[67].*" s from 1 of 1 sources; the clock is so far off that a step, not a slew, is needed (a 500 ppm slew would take 20."[56]" hours): step it once (chronyc makestep, or ntpd -g at start) and find why it drifted|offset=3"[67].*"s;1.000000;10.000000; delay="* ]]
	run mm time check --samples 2 --interval 0.1 --timeout 2 --warn 30 --crit 40 "127.0.0.1:$CPORT"
	[ "$status" -eq 1 ]
	[[ "${lines[2]}" == "WARNING: offset +3"[67].*"a step, not a slew, is needed"* ]]
}

@test "ntpsec's ntpd in a network namespace: mamori agrees with ntpdig within 1 ms" {
	[ -x "$NTPSEC_ROOT/usr/sbin/ntpd" ] || skip "ntpsec's ntpd not unpacked: run scripts/install-deps --test"
	command -v ntpdig >/dev/null || skip "ntpdig not installed: run scripts/install-deps --test"
	NETNS=mamori-ts-$$-$BATS_TEST_NUMBER
	ip netns add "$NETNS" 2>"$T/netns.err" || skip "network namespaces unavailable: $(cat "$T/netns.err")"
	ip -n "$NETNS" link set lo up
	mkdir -p "$T/ntpd"
	cat > "$T/ntpd/ntp.conf" <<-EOF
	disable ntp
	tos orphan 6 orphanwait 0
	driftfile $T/ntpd/drift
	restrict default nomodify noquery nopeer
	restrict 127.0.0.1
	EOF
	ip netns exec "$NETNS" $NOTIME "$NTPSEC_ROOT/usr/sbin/ntpd" -n -c "$T/ntpd/ntp.conf" \
		-p "$T/ntpd/pid" -l "$T/ntpd/log" >/dev/null 2>&1 3>&- &
	PIDS+=($!)
	ip netns exec "$NETNS" python3 "$RESPONDER" wait 127.0.0.1 123
	# it cannot adjust the clock even though it runs as root
	grep -q "ntp_adjtime: Operation not permitted" "$T/ntpd/log"
	# Both keep their least-delay sample of eight, so a sample that waited for
	# a busy CPU does not count (ntpdig picks the smallest error bound).
	run ip netns exec "$NETNS" "$MAMORI" time check --samples 8 --interval 0.05 --timeout 2 --json 127.0.0.1
	[ "$status" -eq 0 ]
	ours=$(printf '%s' "$output" | offset_of)
	[[ "$output" == *'"stratum":6'* ]]
	[[ "$output" == *'"verdict":"good"'* ]]
	run ip netns exec "$NETNS" ntpdig -j -t 2 -p 8 -g 50 127.0.0.1
	[ "$status" -eq 0 ]
	theirs=$(printf '%s' "$output" | offset_of)
	python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); assert abs(a - b) < 0.001, (a, b)" "$ours" "$theirs"
}

@test "nothing listens: ICMP port unreachable diagnosed" {
	port=$(free_port)
	run mm time check --samples 4 "127.0.0.1:$port"
	[ "$status" -eq 3 ]
	[[ "${lines[1]}" == "127.0.0.1                127.0.0.1:$port"*" -   0/1 "*" unreachable" ]]
	[ "${lines[2]}" = "  127.0.0.1: ICMP port unreachable: nothing listens on UDP port $port there; check that the NTP daemon runs on that host and the port is right" ]
	[ "${lines[3]}" = "UNKNOWN: no usable time source: 127.0.0.1: ICMP port unreachable: nothing listens on UDP port $port there; check that the NTP daemon runs on that host and the port is right" ]
	# -v: a legend first, as chronyc sources -v
	run mm -v time check --samples 1 "127.0.0.1:$port"
	[ "$status" -eq 3 ]
	[ "${lines[0]}" = "  .- NAME: as configured or given; ADDRESS: the one asked" ]
	[[ "${lines[9]}" == "NAME "*" VERDICT" ]] # (bats drops the empty line)
}

@test "a socket that never answers: timeout diagnosed, asked once, within the bound" {
	start_responder silent
	run timeout 20 "$MAMORI" time check --samples 4 --timeout 0.5 --json "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"verdict":"unreachable","cause":"timeout","advice":"no reply within the timeout: UDP '"$PORT"' is probably blocked by a firewall or NAT on the path (check the host'"'"'s nftables/iptables, the border firewall, and that the server runs)","sent":1,"received":0'* ]]
	[[ "$output" == *'"state":"UNKNOWN"'* ]]
}

@test "kiss-o'-death RATE and DENY: judged, explained, not asked again" {
	start_responder rate
	run mm time check --samples 4 --interval 0.1 --json "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"verdict":"kiss-o'"'"'-death","kiss":"RATE","advice":"kiss-o'"'"'-death RATE: the server limits how often it may be asked: this host polls too often; do not ask again before the poll interval grows","sent":1,"received":0'* ]]
	start_responder deny
	run mm time check --samples 4 --interval 0.1 "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "${lines[1]}" == *" kiss-o'-death" ]]
	[ "${lines[2]}" = "  127.0.0.1: kiss-o'-death DENY: the server denies this host access (its access control refuses the address); use another server or ask its operator" ]
}

@test "replies from another address than asked: dropped and diagnosed" {
	start_responder otherport
	run mm time check --samples 2 --interval 0.1 --timeout 0.5 "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "${lines[1]}" == *" -   0/2 "*" unreachable" ]]
	[ "${lines[2]}" = "  127.0.0.1: replies came from another address than asked (2 dropped): a NAT or a multihomed server answers from the wrong address; ask the address that answers" ]
}

@test "time status names the running chronyd and agrees with itself" {
	start_chronyd
	run mm time status --json
	[ "$status" -le 1 ]
	# (another chronyd may run too: the first found is named)
	python3 - "$output" "$status" <<-'EOF'
	import json, sys
	r = json.loads(sys.argv[1])
	assert "chronyd" in [d["name"] for d in r["daemons"]], r
	assert r["synchronised"] == (sys.argv[2] == "0"), r
	assert r["leap"] in ("none", "insert", "delete", "in progress", "done"), r
	assert r["maximum_error"] >= r["estimated_error"] >= 0, r
	EOF
	run mm time status
	[[ "$output" == *"time daemon:     chronyd"* ]]
	run mm time status extra
	[ "$status" -eq 2 ]
}

@test "leap alarm: unsynchronised server" {
	start_responder leap
	run mm time check --samples 2 --interval 0.1 "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "${lines[1]}" == *" 2   2/2 "*" unsynchronised" ]]
	[ "${lines[2]}" = "  127.0.0.1: the server is not synchronised itself (leap indicator 3, alarm): its time cannot be trusted; check its own sources" ]
}

@test "wrong origin timestamp and truncated packet: dropped as bogus, never a crash" {
	start_responder badorigin
	run mm time check --samples 2 --interval 0.1 --timeout 0.5 "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "${lines[1]}" == *" -   0/2 "*" unreachable" ]]
	[ "${lines[2]}" = "  127.0.0.1: every reply failed the protocol checks (2 dropped, last: origin timestamp does not match our request (a stale, replayed or spoofed packet)); the server is broken or something on the path rewrites or replays packets" ]
	start_responder truncated
	run mm time check --samples 1 --timeout 0.5 --json "127.0.0.1:$PORT"
	[ "$status" -eq 3 ]
	[[ "$output" == *'"cause":"bogus-replies","advice":"every reply failed the protocol checks (1 dropped, last: truncated reply: 40 bytes, an NTP header has 48); the server is broken or something on the path rewrites or replays packets","sent":1,"received":0,"dropped_bogus":1'* ]]
}

@test "three sources, one 5 s off: named falseticker, offset from the other two" {
	start_responder good 0; a=$PORT
	mv "$T/port.good" "$T/port.good.a"
	start_responder good 0; b=$PORT
	mv "$T/port.good" "$T/port.good.b"
	start_responder good 5; c=$PORT
	run mm time check --samples 2 --interval 0.1 --timeout 5 --json "127.0.0.1:$a" "127.0.0.1:$b" "127.0.0.1:$c"
	echo "$output"
	[ "$status" -eq 0 ]
	python3 - "$output" "$c" <<-'EOF'
	import json, sys
	r = json.loads(sys.argv[1])
	bad = [s for s in r["sources"] if s["verdict"] == "falseticker"]
	assert len(bad) == 1 and bad[0]["address"] == "127.0.0.1:" + sys.argv[2], r
	assert r["survivors"] == 2 and r["falsetickers"] == 1, r
	assert abs(r["offset"]) < 0.05, r
	EOF
}
