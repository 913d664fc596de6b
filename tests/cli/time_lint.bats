#!/usr/bin/env bats
# mamori time lint: Debian's default configurations, and one broken
# configuration per rule, each with the exact report and exit code.

load helpers

# lint FILE: run it from the test folder so the output names FILE as given.
lint() {
	cd "$T"
	run "$MAMORI" time lint "$@"
}

@test "Debian 12's chrony.conf as shipped: clean, exit 0" {
	[ -r /usr/share/chrony/chrony.conf ] || skip "chrony not installed: run scripts/install-deps --test"
	cp /usr/share/chrony/chrony.conf "$T/chrony.conf"
	lint chrony.conf
	[ "$status" -eq 0 ]
	[ "$output" = "chrony.conf: chrony.conf, 0 errors, 0 warnings" ]
	lint --json chrony.conf
	[ "$output" = '{"file":"chrony.conf","kind":"chrony","sources":4,"findings":[],"warnings":0,"errors":0}' ]
}

@test "Debian 12's ntpsec ntp.conf as shipped: clean, exit 0" {
	conf=${MAMORI_NTPSEC_ROOT:-/opt/mamori-test/ntpsec}/etc/ntpsec/ntp.conf
	[ -r "$conf" ] || skip "ntpsec not unpacked: run scripts/install-deps --test"
	cp "$conf" "$T/ntp.conf"
	lint ntp.conf
	[ "$status" -eq 0 ]
	[ "$output" = "ntp.conf: ntp.conf, 0 errors, 0 warnings" ]
	lint --json ntp.conf
	[ "$output" = '{"file":"ntp.conf","kind":"ntp","sources":16,"findings":[],"warnings":0,"errors":0}' ]
}

@test "sources: none is an error, two a warning, a duplicate adds nothing" {
	printf 'makestep 1 3\ndriftfile /x\n' > "$T/none.conf"
	lint none.conf
	[ "$status" -eq 2 ]
	[ "$output" = "none.conf:0: error: no time source (server, pool, peer or refclock): the clock is not synchronised to anything [sources]
none.conf: chrony.conf, 1 error, 0 warnings" ]
	printf 'server a.example iburst\nserver b.example iburst\nmakestep 1 3\ndriftfile /x\n' > "$T/few.conf"
	lint few.conf
	[ "$status" -eq 1 ]
	[ "$output" = "few.conf:0: warning: 2 sources: fewer than three cannot outvote a falseticker; configure at least three (or a pool) [sources]
few.conf: chrony.conf, 0 errors, 1 warning" ]
	printf 'server a.example iburst\nserver b.example iburst\nserver A.example iburst\nmakestep 1 3\ndriftfile /x\n' > "$T/dup.conf"
	lint dup.conf
	[ "$status" -eq 1 ]
	[ "$output" = "dup.conf:3: warning: A.example is already a source on line 1: a duplicate counts twice in the vote and can outvote the others [duplicate]
dup.conf:0: warning: 2 sources: fewer than three cannot outvote a falseticker; configure at least three (or a pool) [sources]
dup.conf: chrony.conf, 0 errors, 2 warnings" ]
}

@test "tinker panic 0" {
	printf 'server a.example iburst\nserver b.example iburst\nserver c.example iburst\ntinker panic 0\ndriftfile /x\nrestrict default kod nomodify noquery\n' > "$T/panic.conf"
	lint panic.conf
	[ "$status" -eq 1 ]
	[ "$output" = "panic.conf:4: warning: tinker panic 0: ntpd accepts a time jump of any size, so one wrong source can set the clock years off; remove it (ntpd -g already allows the first large correction) [panic-zero]
panic.conf: ntp.conf, 0 errors, 1 warning" ]
}

@test "minpoll/maxpoll outside 3..17 and minpoll > maxpoll" {
	printf 'pool p.example iburst minpoll 2 maxpoll 18\nserver b.example iburst minpoll 10 maxpoll 6\nmakestep 1 3\ndriftfile /x\n' > "$T/poll.conf"
	lint poll.conf
	[ "$status" -eq 2 ]
	[ "$output" = "poll.conf:1: error: minpoll 2 is outside 3..17 (8 s .. 36 h): the daemon clamps or rejects it [poll-range]
poll.conf:1: error: maxpoll 18 is outside 3..17 (8 s .. 36 h): the daemon clamps or rejects it [poll-range]
poll.conf:2: error: minpoll 10 is greater than maxpoll 6 [poll-order]
poll.conf: chrony.conf, 3 errors, 0 warnings" ]
}

@test "servers without iburst" {
	printf 'pool p.example\nserver b.example\nmakestep 1 3\ndriftfile /x\n' > "$T/iburst.conf"
	lint iburst.conf
	[ "$status" -eq 1 ]
	[ "$output" = "iburst.conf:1: warning: pool p.example without iburst: the first synchronisation after a start takes minutes instead of seconds [iburst]
iburst.conf:2: warning: server b.example without iburst: the first synchronisation after a start takes minutes instead of seconds [iburst]
iburst.conf: chrony.conf, 0 errors, 2 warnings" ]
}

@test "ntpd without restrict default ... noquery nomodify" {
	printf 'pool p.example iburst\ndriftfile /x\nrestrict default kod limited\nrestrict 127.0.0.1\n' > "$T/restrict.conf"
	lint restrict.conf
	[ "$status" -eq 1 ]
	[ "$output" = "restrict.conf:3: warning: no 'restrict default ... nomodify noquery': anyone may query this ntpd with mode 6/7 packets (used for traffic amplification attacks) or change it; add 'restrict default kod nomodify nopeer noquery limited' [restrict]
restrict.conf: ntp.conf, 0 errors, 1 warning" ]
	# no restrict line at all: the file as a whole; read as ntp.conf by its name
	printf 'server a.example iburst\nserver b.example iburst\nserver c.example iburst\ndriftfile /x\n' > "$T/ntp.conf"
	lint --json ntp.conf
	[ "$status" -eq 1 ]
	[ "$output" = '{"file":"ntp.conf","kind":"ntp","sources":3,"findings":[{"line":0,"severity":"info","rule":"kind","message":"no directive tells ntp.conf from chrony.conf; read as ntp.conf because of the file name"},{"line":0,"severity":"warning","rule":"restrict","message":"no '"'"'restrict default ... nomodify noquery'"'"': anyone may query this ntpd with mode 6/7 packets (used for traffic amplification attacks) or change it; add '"'"'restrict default kod nomodify nopeer noquery limited'"'"'"}],"warnings":1,"errors":0}' ]
}

@test "chrony without makestep" {
	printf 'pool p.example iburst\nrtcsync\ndriftfile /x\n' > "$T/makestep.conf"
	lint makestep.conf
	[ "$status" -eq 1 ]
	[ "$output" = "makestep.conf:0: warning: no makestep: a large offset at start would be slewed for days (500 ppm at most) instead of stepped; add 'makestep 1 3' [makestep]
makestep.conf: chrony.conf, 0 errors, 1 warning" ]
}

@test "missing driftfile" {
	printf 'pool p.example iburst\nmakestep 1 3\n' > "$T/drift.conf"
	lint drift.conf
	[ "$status" -eq 1 ]
	[ "$output" = "drift.conf:0: warning: no driftfile: the clock's frequency error is learned again after every restart [driftfile]
drift.conf: chrony.conf, 0 errors, 1 warning" ]
}

@test "local / orphan stratum and the local clock driver" {
	printf 'pool p.example iburst\nmakestep 1 3\ndriftfile /x\nlocal stratum 10\n' > "$T/local.conf"
	lint local.conf
	[ "$status" -eq 1 ]
	[ "$output" = "local.conf:4: warning: local: when every source is lost this host keeps serving its own clock at the stratum given, and its clients follow it wherever it drifts; keep it only on an isolated network with several servers (and add 'orphan') [local-clock]
local.conf: chrony.conf, 0 errors, 1 warning" ]
	printf 'pool p.example iburst\ndriftfile /x\nrestrict default nomodify noquery\nserver 127.127.1.0\nfudge 127.127.1.0 stratum 10\ntos orphan 8\n' > "$T/orphan.conf"
	lint orphan.conf
	[ "$status" -eq 1 ]
	[ "$output" = "orphan.conf:4: warning: server 127.127.1.0 is ntpd's undisciplined local clock: when the real sources are lost this host serves its own clock, and its clients follow it wherever it drifts; remove it (or use orphan mode on an isolated network with several servers) [local-clock]
orphan.conf:6: warning: tos orphan 8: when every source is lost this host serves its own clock at stratum 8; keep it only on an isolated network with several servers [local-clock]
orphan.conf: ntp.conf, 0 errors, 2 warnings" ]
}

@test "unknown directives (typos)" {
	printf 'pool p.example iburst\nmakestep 1 3\ndriftfile /x\nmakestpe 1 3\nrtcsyn\n' > "$T/typo.conf"
	lint typo.conf
	[ "$status" -eq 2 ]
	[ "$output" = "typo.conf:4: error: unknown directive 'makestpe' (a typo?): chronyd refuses to start [unknown-directive]
typo.conf:5: error: unknown directive 'rtcsyn' (a typo?): chronyd refuses to start [unknown-directive]
typo.conf: chrony.conf, 2 errors, 0 warnings" ]
}

@test "neither syntax, hostile bytes, a missing file" {
	printf 'just some text\n' > "$T/unknown.conf"
	lint unknown.conf
	[ "$status" -eq 2 ]
	[ "$output" = "unknown.conf:0: error: cannot tell whether this is an ntp.conf (ntpd, ntpsec) or a chrony.conf: none of the directives that only one of them has (restrict, tinker, tos / makestep, rtcsync, allow, local ...) is here [kind]
unknown.conf: unknown syntax, 1 error, 0 warnings" ]
	python3 -c 'import random, sys; random.seed(7); sys.stdout.buffer.write(random.randbytes(200000))' > "$T/random.conf"
	printf '\nmakestep 1 3\n\0server\0x\n' >> "$T/random.conf"
	lint random.conf
	[ "$status" -eq 2 ]
	[ "${lines[-1]}" = "random.conf: chrony.conf, 765 errors, 3 warnings" ]
	lint nothing.conf
	[ "$status" -eq 2 ]
	[[ "$output" == "mamori: "*"nothing.conf"* ]]
}
