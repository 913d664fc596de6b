#!/usr/bin/env bats
# The continuity policy: configuration errors, run, status as faked time
# passes (MAMORI_NOW), the per-dataset run lock, drills, plan, systemd units.

load helpers

policy_setup() {
	export TZ=UTC
	export MAMORI_STATE_DIR=$T/state
	export MAMORI_CONFIG=$T/mamori.conf
	unset MAMORI_REPOSITORY MAMORI_PASSWORD_FILE
	printf 'local secret\n' > "$T/local.pw"
	printf 'offsite secret\n' > "$T/offsite.pw"
	mm -r "$T/repo" --password-file "$T/local.pw" init --key-name "情報政策課 山田" >/dev/null
	# an offsite copy needs the same chunking and IDs (docs/cli.md, copy)
	mm -r "$T/offsite" --password-file "$T/offsite.pw" init \
		--copy-chunker-params-from "$T/repo" --from-password-file "$T/local.pw" >/dev/null
	mkdir -p "$T/src/jumin" "$T/src/bunsho"
	seq 1 50000 > "$T/src/jumin/register.csv"
	printf '税務 2026\n' > "$T/tax.txt"
	printf 'minutes\n' > "$T/src/bunsho/minutes.txt"
	cat > "$MAMORI_CONFIG" <<CONF
# three datasets of different priorities
[repository local]
url = $T/repo
password-file = $T/local.pw

[repository offsite]
url = $T/offsite
password-command = cat $T/offsite.pw

[dataset juminkiroku]
paths = $T/src/jumin
repository = local
copy-to = offsite
priority = 1
rpo = 1h
rto = 4h
schedule = hourly
keep = hourly=24 daily=14 weekly=8 monthly=12 yearly=5
check = daily 100%

[dataset zeimu]
command = cat $T/tax.txt
filename = zeimu.dump
repository = local
priority = 2
rpo = 4h
rto = 8h
schedule = *-*-* 02:00

[dataset bunsho]
paths = $T/src/bunsho
repository = local
priority = 3
rpo = 1d
CONF
}

at() {
	MAMORI_NOW=$1 "$MAMORI" "${@:2}"
}

@test "status goes CRITICAL -> OK -> WARNING -> CRITICAL as time passes; run makes the snapshots" {
	policy_setup
	run at 2026-12-01T00:00:00Z status --nagios
	[ "$status" -eq 2 ]
	[ "$output" = "MAMORI CRITICAL - 3 datasets: 3 critical, 0 warning, 0 unknown, 0 ok; juminkiroku: never backed up, zeimu: never backed up, bunsho: never backed up | 'juminkiroku_age'=Us;2880;3600;0 'juminkiroku_offsite_age'=Us;2880;3600;0 'zeimu_age'=Us;11520;14400;0 'bunsho_age'=Us;69120;86400;0" ]

	run at 2026-12-01T00:00:00Z run
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "juminkiroku (priority 1)" ]
	[[ "${lines[1]}" =~ ^"  backup  done: snapshot "[0-9a-f]{8}" saved"$ ]]
	[ "${lines[2]}" = "  forget  done: 0 snapshots removed, 1 kept by 'hourly=24 daily=14 weekly=8 monthly=12 yearly=5'" ]
	[[ "${lines[3]}" =~ ^"  copy    done: 1 snapshots copied to offsite (0 there already), "[0-9.]+" KiB stored"$ ]]
	[[ "${lines[4]}" =~ ^"  check   done: no problems (1 snapshots, "[0-9]+" of "[0-9]+" packs read)"$ ]]
	[ "${lines[5]}" = "zeimu (priority 2)" ]
	[[ "${lines[6]}" =~ ^"  backup  done: snapshot "[0-9a-f]{8}" saved"$ ]]
	[ "${lines[7]}" = "  forget  not due: no keep rule" ]
	[ "${lines[10]}" = "bunsho (priority 3)" ]
	[ "${#lines[@]}" -eq 15 ]
	# the snapshots carry the dataset's tag; the command's output is one file
	run mm -r "$T/repo" --password-file "$T/local.pw" --json snapshots
	[ "$(printf '%s' "$output" | python3 -c 'import json,sys; print(sorted((s["tags"][0], s["paths"][0]) for s in json.load(sys.stdin)))')" = "[('dataset=bunsho', '$T/src/bunsho'), ('dataset=juminkiroku', '$T/src/jumin'), ('dataset=zeimu', '/zeimu.dump')]" ]

	run at 2026-12-01T00:10:00Z status --nagios
	[ "$status" -eq 0 ]
	[ "$output" = "MAMORI OK - 3 datasets: 0 critical, 0 warning, 0 unknown, 3 ok | 'juminkiroku_age'=600s;2880;3600;0 'juminkiroku_offsite_age'=600s;2880;3600;0 'zeimu_age'=600s;11520;14400;0 'bunsho_age'=600s;69120;86400;0" ]
	run at 2026-12-01T00:10:00Z status
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "OK: 3 datasets, 0 critical, 0 warning, 0 unknown, 3 ok" ]
	[ "${lines[1]}" = "juminkiroku (priority 1): OK: last backup 10m ago, 16% of its RPO of 1h" ]
	[[ "${lines[2]}" =~ ^"  backup   OK: snapshot "[0-9a-f]{8}" of 2026-12-01T00:00:00Z, 10m ago (RPO 1h)"$ ]]
	[ "${lines[3]}" = "  offsite  OK: copy in offsite of 2026-12-01T00:00:00Z, 10m old (RPO 1h)" ]
	[ "${lines[4]}" = "  check    OK: no problems at 2026-12-01T00:00:00Z (daily)" ]
	[ "${lines[5]}" = "  drill    no drill yet (RTO 4h)" ]

	# 50 minutes: over 80 % of juminkiroku's RPO of 1h
	run at 2026-12-01T00:50:00Z status --nagios
	[ "$status" -eq 1 ]
	[ "$output" = "MAMORI WARNING - 3 datasets: 0 critical, 1 warning, 0 unknown, 2 ok; juminkiroku: last backup 50m ago, 83% of its RPO of 1h | 'juminkiroku_age'=3000s;2880;3600;0 'juminkiroku_offsite_age'=3000s;2880;3600;0 'zeimu_age'=3000s;11520;14400;0 'bunsho_age'=3000s;69120;86400;0" ]

	# 2 hours: juminkiroku missed its RPO
	run at 2026-12-01T02:00:00Z status --nagios
	[ "$status" -eq 2 ]
	[ "$output" = "MAMORI CRITICAL - 3 datasets: 1 critical, 0 warning, 0 unknown, 2 ok; juminkiroku: last backup 2h ago, over its RPO of 1h | 'juminkiroku_age'=7200s;2880;3600;0 'juminkiroku_offsite_age'=7200s;2880;3600;0 'zeimu_age'=7200s;11520;14400;0 'bunsho_age'=7200s;69120;86400;0" ]
	run at 2026-12-01T02:00:00Z --json status
	[ "$status" -eq 2 ]
	[ "$(printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], [x["status"] for x in d["datasets"]], d["datasets"][0]["backup"]["age"])')" = "CRITICAL ['CRITICAL', 'OK', 'OK'] 7200" ]

	# a run at 02:00: juminkiroku (hourly) and zeimu (02:00) are due, bunsho is not
	run at 2026-12-01T02:00:00Z run
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^"  backup  done: snapshot " ]]
	[ "${lines[4]}" = "  check   not due: checked recently enough" ]
	[[ "${lines[6]}" =~ ^"  backup  done: snapshot " ]]
	[ "${lines[11]}" = "  backup  not due: last snapshot is recent enough" ]
	run at 2026-12-01T02:10:00Z status --nagios
	[ "$status" -eq 0 ]
	# a day later everything is stale and the daily check is overdue
	run at 2026-12-03T03:00:00Z status
	[ "$status" -eq 2 ]
	[ "${lines[1]}" = "juminkiroku (priority 1): CRITICAL: last backup 2d1h ago, over its RPO of 1h" ]
	[ "${lines[4]}" = "  check    WARNING: no problems at 2026-12-01T00:00:00Z (daily)" ]
	[ "${lines[6]}" = "zeimu (priority 2): CRITICAL: last backup 2d1h ago, over its RPO of 4h" ]
	[ "${lines[9]}" = "bunsho (priority 3): CRITICAL: last backup 2d3h ago, over its RPO of 1d" ]
}

@test "run forgets by the dataset's keep, only the dataset's own snapshots" {
	policy_setup
	sed -i 's/^keep = hourly=24 daily=14 weekly=8 monthly=12 yearly=5$/keep = last=2/' "$MAMORI_CONFIG"
	for h in 00 01 02 03; do
		at 2026-12-01T$h:00:00Z run juminkiroku bunsho >/dev/null
	done
	run at 2026-12-01T04:00:00Z run juminkiroku
	[ "$status" -eq 0 ]
	[[ "${lines[2]}" =~ ^"  forget  done: 1 snapshots removed, 2 kept by 'last=2'; pruned: "[0-9.]+" "[KMG]?"B freed ("[0-9]+" packs deleted, "[0-9]+" repacked)"$ ]]
	[[ "${lines[3]}" =~ ^"  copy    done: 1 snapshots copied to offsite (1 there already), " ]]
	run mm -r "$T/repo" --password-file "$T/local.pw" --json snapshots
	# juminkiroku keeps its two newest; bunsho (no keep, due once a day) its one
	[ "$(printf '%s' "$output" | python3 -c 'import json,sys; print([(s["tags"][0], s["time"]) for s in json.load(sys.stdin)])')" = "[('dataset=bunsho', '2026-12-01T00:00:00Z'), ('dataset=juminkiroku', '2026-12-01T03:00:00Z'), ('dataset=juminkiroku', '2026-12-01T04:00:00Z')]" ]
}

@test "a repository's password from password-command; a failing one is UNKNOWN in status" {
	policy_setup
	cat >> "$MAMORI_CONFIG" <<CONF

[dataset offsite-only]
paths = $T/src/bunsho
repository = offsite
priority = 9
rpo = 1h

[repository broken]
url = $T/offsite
password-command = sh -c 'echo wrong; exit 5'

[dataset locked-out]
paths = $T/src/bunsho
repository = broken
priority = 10
rpo = 1h
CONF
	run at 2026-12-01T00:00:00Z run offsite-only
	[ "$status" -eq 0 ]
	[[ "${lines[1]}" =~ ^"  backup  done: snapshot " ]]
	run at 2026-12-01T00:10:00Z status --nagios offsite-only locked-out
	[ "$status" -eq 3 ]
	[ "$output" = "MAMORI UNKNOWN - 2 datasets: 0 critical, 0 warning, 1 unknown, 1 ok; locked-out: repository broken: password-command: sh exited with status 5 | 'offsite-only_age'=600s;2880;3600;0 'locked-out_age'=Us;2880;3600;0" ]
}

@test "a second run for a dataset already running is not started" {
	policy_setup
	mkdir -p "$MAMORI_STATE_DIR"
	run flock "$MAMORI_STATE_DIR/zeimu.lock" env MAMORI_NOW=2026-12-01T00:00:00Z "$MAMORI" run zeimu bunsho
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "zeimu (priority 2): skipped: dataset zeimu: a run is already in progress ($MAMORI_STATE_DIR/zeimu.lock is locked)" ]
	[ "${lines[1]}" = "bunsho (priority 3)" ]
	run at 2026-12-01T00:00:00Z status --nagios zeimu
	[ "$status" -eq 2 ]
	[[ "$output" == "MAMORI CRITICAL - 1 datasets: 1 critical, 0 warning, 0 unknown, 0 ok; zeimu: never backed up |"* ]]
	run at 2026-12-01T00:00:00Z status --nagios nosuch
	[ "$status" -eq 2 ]
	[ "$output" = "mamori: no dataset 'nosuch' in $MAMORI_CONFIG" ]
}

@test "a failing dataset command or pre command writes no snapshot; run exits 44" {
	policy_setup
	cat >> "$MAMORI_CONFIG" <<CONF

[dataset broken]
command = sh -c 'echo half a dump; exit 2'
repository = local
priority = 4
rpo = 1h

[dataset guarded]
paths = $T/src/bunsho
pre = false
post = touch $T/post-ran
repository = local
priority = 5
rpo = 1h
CONF
	run at 2026-12-01T00:00:00Z run broken guarded
	[ "$status" -eq 44 ]
	[ "${lines[0]}" = "broken (priority 4)" ]
	[ "${lines[1]}" = "  backup  FAILED: sh exited with status 2; no snapshot was written" ]
	[ "${lines[5]}" = "guarded (priority 5)" ]
	[ "${lines[6]}" = "  backup  FAILED: pre command: false exited with status 1; no backup made" ]
	[ ! -e "$T/post-ran" ]
	run mm -r "$T/repo" --password-file "$T/local.pw" --json snapshots
	[ "$output" = "[]" ]
	run at 2026-12-01T00:00:00Z status --nagios broken
	[ "$status" -eq 2 ]
	# with a passing pre, post runs after the backup
	sed -i 's/^pre = false$/pre = true/' "$MAMORI_CONFIG"
	run at 2026-12-01T00:00:00Z run guarded
	[ "$status" -eq 0 ]
	[ -e "$T/post-ran" ]
}

@test "every configuration error class is reported with file, line and what is expected" {
	cd "$T"
	base='[repository local]
url = /tmp/x
'
	ds='[dataset a]
paths = /tmp
repository = local
priority = 1
rpo = 1h
'
	check_err() {
		printf '%s' "$1" > "$T/c.conf"
		run "$MAMORI" status --config c.conf --state-dir "$T/st"
		[ "$status" -eq 43 ] || { echo "status $status: $output"; return 1; }
		[ "$output" = "mamori: $2" ] || { echo "got: $output"; return 1; }
	}
	check_err "$base$ds[datset b]
" "c.conf:8: unknown section [datset b]; expected one of: [repository NAME], [dataset NAME], [monitor], [check NAME], [alert NAME]"
	check_err "$base${ds}rpp = 1h
" "c.conf:8: unknown key 'rpp' in [dataset a]; expected one of: paths, excludes, command, filename, repository, copy-to, priority, rpo, rto, schedule, keep, check, pre, post"
	check_err "$base${ds}rpo = 2h
" "c.conf:8: duplicate key 'rpo' in [dataset a] (first at line 7); give each key once"
	check_err "$base$ds$ds" "c.conf:8: duplicate section [dataset a] (first at line 3); each section may appear once"
	check_err "$base[dataset a]
paths = /tmp
repository = local
priority = 1
rpo = 1 hour
" "c.conf:7: rpo in [dataset a]: '1 hour' is not a duration; expected a number with a unit s, m, h, d or w, such as 90s, 15m, 1h, 7d or 1h30m"
	check_err "$base${ds}schedule = *-*-* 02:00 Asia/Tokyo
" "c.conf:8: schedule in [dataset a]: calendar '*-*-* 02:00 Asia/Tokyo': not understood (a time zone is not supported); accepted: minutely, hourly, daily, weekly, monthly, quarterly, semiannually, yearly, annually, or [WEEKDAYS] [YEAR-MONTH-DAY] [HOUR:MINUTE[:SECOND]] with each part *, N, A..B, A,B or */STEP (e.g. 'Mon..Fri *-*-* 08..18:00/30')"
	check_err "$base[dataset a]
paths = /tmp
repository = local
priority = 1
" "c.conf:3: [dataset a] lacks the key 'rpo' (a duration such as 1h)"
	check_err "$base[dataset a]
paths = /tmp
repository = remote
priority = 1
rpo = 1h
" "c.conf:5: repository in [dataset a]: no [repository remote] in this file; expected one of: local"
	check_err "$base[dataset a]
paths = /tmp
command = pg_dump x
repository = local
priority = 1
rpo = 1h
" "c.conf:3: [dataset a] needs either paths (files and folders) or command (a dump on standard output), not both"
	check_err "$base[dataset a]
command = pg_dump x | gzip
repository = local
priority = 1
rpo = 1h
" "c.conf:4: command in [dataset a]: '|' is shell syntax, and commands run without a shell: quote it ('|') if it is meant literally, or put the pipeline in a script"
	check_err "$base${ds}keep = hourly=24 dayly=7
" "c.conf:8: keep in [dataset a]: keep policy: unknown rule 'dayly' (last, hourly, daily, weekly, monthly, yearly, within, tag)"
	check_err "$base${ds}keep = daily=0
" "c.conf:8: keep in [dataset a]: keeps nothing; give at least one rule with a count above 0, such as 'hourly=24 daily=14 weekly=8 monthly=12 yearly=5'"
	check_err "$base${ds}check = weekly 150%
" "c.conf:8: check in [dataset a]: '150%' is not a percentage; expected a number from 0 to 100 followed by %, such as 5%"
	check_err "$base[dataset a]
paths = /tmp
repository = local
priority = 0
rpo = 1h
" "c.conf:6: priority in [dataset a]: '0' is not a whole number from 1 to 1000"
	check_err "$base[dataset a]
paths = /tmp
repository = local
copy-to = local
priority = 1
rpo = 1h
" "c.conf:6: copy-to in [dataset a]: the offsite copy must go to another repository than 'local'"
	check_err "[repository local]
url = /tmp/x
options = zstd=3
$ds" "c.conf:3: options in [repository local]: unknown option 'zstd=3'; expected threads=N (0 to 256) or a backend option sftp.KEY=VALUE or s3.KEY=VALUE (as -o, docs/cli.md)"
	check_err "$base${ds}this line is not ini
" "c.conf:8: syntax error; expected [SECTION], KEY = VALUE, or a comment starting with # or ;"
	check_err "$base" "c.conf: no [dataset NAME] section; the policy needs at least one dataset"
	run "$MAMORI" status --config "$T/nonexistent.conf"
	[ "$status" -eq 43 ]
	[ "${lines[0]}" = "mamori: configuration file: $T/nonexistent.conf: No such file or directory" ]
	[ "${lines[1]}" = "mamori: give the file with --config FILE or MAMORI_CONFIG (default /etc/mamori/mamori.conf)" ]
	run "$MAMORI" status --config "$T/nonexistent.conf" --nagios
	[ "$status" -eq 3 ]
	[[ "$output" == *"MAMORI UNKNOWN - cannot read the policy (see the error)"* ]]
}

@test "the example configuration in the repository loads" {
	run "$MAMORI" systemd print --config "$MAMORI_SRC/config/mamori.conf.example" --unit-dir /etc/systemd/system
	[ "$status" -eq 0 ]
	[[ "$output" == *"OnCalendar=Mon..Fri *-*-* 08..18:00/30"* ]]
}

@test "systemd print gives the exact units; install writes them and systemd-analyze accepts them" {
	policy_setup
	run mm systemd print
	[ "$status" -eq 0 ]
	[ "$output" = "# /etc/systemd/system/mamori-juminkiroku.service
# Made by 'mamori systemd' from $MAMORI_CONFIG; run it again after changing the file.
[Unit]
Description=mamori: what is due for dataset juminkiroku (backup, retention, copy, check)
Documentation=man:mamori(1)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
StateDirectory=mamori
ExecStart=$MAMORI run --config $MAMORI_CONFIG juminkiroku
Nice=10
IOSchedulingClass=idle

# /etc/systemd/system/mamori-juminkiroku.timer
# Made by 'mamori systemd' from $MAMORI_CONFIG; run it again after changing the file.
[Unit]
Description=mamori: schedule of dataset juminkiroku

[Timer]
OnCalendar=hourly
Persistent=true
RandomizedDelaySec=60

[Install]
WantedBy=timers.target

# /etc/systemd/system/mamori-zeimu.service
# Made by 'mamori systemd' from $MAMORI_CONFIG; run it again after changing the file.
[Unit]
Description=mamori: what is due for dataset zeimu (backup, retention, copy, check)
Documentation=man:mamori(1)
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
StateDirectory=mamori
ExecStart=$MAMORI run --config $MAMORI_CONFIG zeimu
Nice=10
IOSchedulingClass=idle

# /etc/systemd/system/mamori-zeimu.timer
# Made by 'mamori systemd' from $MAMORI_CONFIG; run it again after changing the file.
[Unit]
Description=mamori: schedule of dataset zeimu

[Timer]
OnCalendar=*-*-* 02:00
Persistent=true
RandomizedDelaySec=60

[Install]
WantedBy=timers.target" ]
	run mm systemd install --unit-dir "$T/units"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "wrote $T/units/mamori-juminkiroku.service" ]
	[ "${lines[4]}" = "now: systemctl daemon-reload && systemctl enable --now mamori-juminkiroku.timer mamori-zeimu.timer" ]
	[ "$(ls "$T/units" | tr '\n' ' ')" = "mamori-juminkiroku.service mamori-juminkiroku.timer mamori-zeimu.service mamori-zeimu.timer " ]
	if command -v systemd-analyze >/dev/null; then
		run systemd-analyze verify --man=no "$T"/units/*
		[ "$status" -eq 0 ]
	fi
	run mm systemd
	[ "$status" -eq 2 ]
}

@test "plan lists datasets in restore order with snapshots, drill times, commands and key holders" {
	policy_setup
	at 2026-12-01T00:00:00Z run >/dev/null
	at 2026-12-01T00:05:00Z drill zeimu >/dev/null
	run at 2026-12-01T00:10:00Z plan
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "# Recovery plan" ]
	[ "${lines[1]}" = "From $MAMORI_CONFIG, made 2026-12-01T00:10:00Z by mamori 0.1.0." ]
	[ "${lines[3]}" = "## 1. juminkiroku (priority 1)" ]
	[[ "$output" =~ "- key holders (1 key file): '情報政策課 山田' ("[^@]+"@"[^,]+", key "[0-9a-f]{8}", this password)" ]]
	[[ "$output" =~ "- last good snapshot (offsite, offsite \`$T/offsite\`): "[0-9a-f]{8}" of 2026-12-01T00:00:00Z; if the local repository is lost, restore it from there: \`mamori -r $T/offsite restore "[0-9a-f]{64}" ...\`" ]]
	[[ "$output" == *"- expected time: unknown, no drill yet (run \`mamori drill juminkiroku\`)"* ]]
	[[ "$output" == *"## 2. zeimu (priority 2)"*"- expected time (drill of 2026-12-01T00:05:00Z): "*" for this dataset, "*" from the start of the plan, within the RTO"* ]]
	[[ "$output" == *"    mamori -r $T/repo --password-file $T/local.pw restore "*" --target /var/tmp/mamori-restore/zeimu"* ]]
	[[ "$output" == *"## 3. bunsho (priority 3)"* ]]
	run at 2026-12-01T00:10:00Z plan --format json
	[ "$status" -eq 0 ]
	[ "$(printf '%s' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([x["name"] for x in d["datasets"]], d["datasets"][1]["drill"]["ok"], d["datasets"][0]["drill"], d["datasets"][2]["commands"][0].endswith("--target /"))')" = "['juminkiroku', 'zeimu', 'bunsho'] True None True" ]
	run mm plan --format pdf
	[ "$status" -eq 2 ]
}
