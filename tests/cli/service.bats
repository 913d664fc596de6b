#!/usr/bin/env bats
# The service probe asks systemd over D-Bus (sd-bus): a real dbus-daemon on
# a socket in the test's folder (DBUS_SYSTEM_BUS_ADDRESS), with a stand-in
# for systemd on it (tests/tools/fake-systemd); without a bus, systemctl.

load helpers

teardown() {
	kill_background
}

wait_exists() {
	for _ in $(seq 1 1200); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# A bus with a systemd stand-in answering from $T/units.json.
start_bus() {
	cat > "$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=$T/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
	start_bg "$T/dbus.log" dbus-daemon --config-file="$T/bus.conf" --nofork
	wait_exists "$T/bus"
	start_bg "$T/systemd.log" /usr/bin/python3 "$MAMORI_SRC/tests/tools/fake-systemd" \
		"unix:path=$T/bus" "$T/units.json" "$T/ready"
	wait_exists "$T/ready"
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/bus
}

# Checks of the services in $@; a root where systemd is the init system.
service_conf() {
	mkdir -p "$T/root/run/systemd/system"
	export MAMORI_MONITOR_ROOT=$T/root
	printf '[monitor]\nstate-dir = %s/mon\n' "$T" > "$T/mamori.conf"
	for u in "$@"; do
		printf '\n[check %s]\ntype = service\nunit = %s.service\n' "$u" "$u" >> "$T/mamori.conf"
	done
}

@test "service: each state systemd gives over D-Bus, with what to do" {
	cat > "$T/units.json" <<'EOF'
{"postgresql.service": {"LoadState": "loaded", "ActiveState": "failed", "SubState": "failed", "Result": "exit-code"},
 "ssh.service": {"LoadState": "loaded", "ActiveState": "active", "SubState": "running"},
 "nginx.service": {"LoadState": "loaded", "ActiveState": "inactive", "SubState": "dead"},
 "slapd.service": {"LoadState": "loaded", "ActiveState": "activating", "SubState": "start-pre"},
 "telnet.service": {"LoadState": "masked", "ActiveState": "inactive", "SubState": "dead"}}
EOF
	start_bus
	service_conf postgresql ssh nginx slapd telnet postgres
	run mm monitor check --config "$T/mamori.conf"
	[ "$status" -eq 2 ]
	[ "$output" = 'CHECK       TYPE     STATE     VALUE        CAUSE
postgresql  service  CRITICAL  -            postgresql.service is failed (exit-code): see `systemctl status postgresql.service` and `journalctl -u postgresql.service -n 50`
ssh         service  OK        -            ssh.service is active (running)
nginx       service  CRITICAL  -            nginx.service is inactive (stopped: `systemctl start nginx.service`; enable it to start at boot)
slapd       service  WARNING   -            slapd.service is activating
telnet      service  CRITICAL  -            telnet.service is masked: it cannot start (`systemctl unmask telnet.service`)
postgres    service  CRITICAL  -            postgres.service is not installed: systemd has no such unit (a typo in the check, or the package was removed)' ]
	run mm monitor metrics --config "$T/mamori.conf"
	[[ "$output" == *'mamori_service_active{check="ssh",unit="ssh.service"} 1'* ]]
	[[ "$output" == *'mamori_service_active{check="slapd",unit="slapd.service"} 0'* ]]
	# the agent asks in its own process (no mamori child): the state it saves
	# follows systemd's
	printf '{"postgresql.service": {"LoadState": "loaded", "ActiveState": "active", "SubState": "running"}}\n' > "$T/units.json"
	run "$(dirname "$MAMORI")/mamori-agent" --config "$T/mamori.conf" --cycles 1 --quiet \
		--verbose --program /nonexistent
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "mamori monitor: postgresql OK: postgresql.service is active (running)" ]
}

@test "service: without a system bus, systemctl; without systemd, UNKNOWN saying so" {
	service_conf postgresql
	export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/no-bus
	mkdir "$T/bin"
	printf '#!/bin/sh\n[ "$1 $2 $3" = "is-active -- postgresql.service" ] || exit 9\necho activating\nexit 3\n' > "$T/bin/systemctl"
	chmod +x "$T/bin/systemctl"
	PATH=$T/bin:$PATH run mm monitor check --config "$T/mamori.conf" --nagios
	[ "$status" -eq 1 ]
	[ "$output" = "MAMORI MONITOR WARNING - postgresql WARNING: postgresql.service is activating" ]
	rm -r "$T/root/run/systemd"
	run mm monitor check --config "$T/mamori.conf" --nagios
	[ "$status" -eq 3 ]
	[ "$output" = "MAMORI MONITOR UNKNOWN - postgresql UNKNOWN: cannot ask about postgresql.service: systemd is not running on this host (no /run/systemd/system)" ]
}
