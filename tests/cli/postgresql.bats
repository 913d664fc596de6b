#!/usr/bin/env bats
# A real PostgreSQL server (Debian's postgresql), started by the test on its
# own Unix socket folder (no TCP at all) and data folder as user nobody: a
# dataset backed up through pg_dump, restored through pg_restore into a fresh
# database, rows compared; a failing pg_dump writes no snapshot.

load helpers

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

pg_setup() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (the server runs as nobody)"
	[ -x "$PGBIN/initdb" ] || skip "PostgreSQL is not installed (scripts/install-deps --test)"
	# a folder nobody can use: the bats folder is private to us
	PGDIR=$(mktemp -d /tmp/mamori-pg-XXXXXX)
	chown nobody "$PGDIR"
	chmod 700 "$PGDIR"
	runuser -u nobody -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U nobody -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$T/initdb.log" 2>&1
	runuser -u nobody -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 120 \
		-o "-c listen_addresses='' -k $PGDIR -p 5432 -c fsync=off" start >/dev/null
	PG="-h $PGDIR -p 5432 -U nobody"
	"$PGBIN/createdb" $PG juminkiroku
	"$PGBIN/psql" $PG -q -v ON_ERROR_STOP=1 juminkiroku <<'SQL'
CREATE TABLE residents (id integer PRIMARY KEY, name text NOT NULL, born date, note text);
INSERT INTO residents
  SELECT i, '住民 ' || i, date '1950-01-01' + i, repeat(md5(i::text), 3)
  FROM generate_series(1, 20000) AS i;
INSERT INTO residents VALUES (20001, E'quote '' and tab\t and newline\n', NULL, NULL);
SQL
}

teardown() {
	if [ -n "${PGDIR:-}" ]; then
		runuser -u nobody -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$PGDIR"
	fi
}

@test "a PostgreSQL dataset: pg_dump through run, pg_restore into a fresh database, rows equal" {
	pg_setup
	export TZ=UTC MAMORI_STATE_DIR=$T/state MAMORI_CONFIG=$T/mamori.conf
	unset MAMORI_REPOSITORY MAMORI_PASSWORD_FILE
	printf 'pg secret\n' > "$T/pw"
	mm -r "$T/repo" --password-file "$T/pw" init >/dev/null
	cat > "$MAMORI_CONFIG" <<CONF
[repository local]
url = $T/repo
password-file = $T/pw

[dataset juminkiroku]
command = $PGBIN/pg_dump --format=custom --host=$PGDIR --port=5432 --username=nobody juminkiroku
filename = juminkiroku.dump
repository = local
priority = 1
rpo = 1h
rto = 4h

[dataset missing]
command = $PGBIN/pg_dump --format=custom --host=$PGDIR --port=5432 --username=nobody no_such_db
repository = local
priority = 2
rpo = 1h
CONF
	run "$MAMORI" run
	[ "$status" -eq 44 ]
	# pg_dump's own complaint goes to standard error, before the report
	[[ "$output" == *'pg_dump: error: connection to server on socket "'*'" failed: FATAL:  database "no_such_db" does not exist'* ]]
	[[ "$output" =~ "juminkiroku (priority 1)
  backup  done: snapshot "[0-9a-f]{8}" saved" ]]
	[[ "$output" == *"missing (priority 2)
  backup  FAILED: $PGBIN/pg_dump exited with status 1; no snapshot was written"* ]]
	id=$(mm -r "$T/repo" --password-file "$T/pw" --json snapshots | python3 -c 'import json,sys; v=json.load(sys.stdin); assert len(v) == 1, v; print(v[0]["id"])')
	run mm -r "$T/repo" --password-file "$T/pw" ls "$id"
	[ "$output" = "/juminkiroku.dump" ]
	# the restore a plan would run, then pg_restore into a fresh database
	mm -r "$T/repo" --password-file "$T/pw" restore "$id" --target "$T/restored" >/dev/null
	[ "$(head -c 5 "$T/restored/juminkiroku.dump")" = "PGDMP" ]
	"$PGBIN/createdb" $PG restored
	"$PGBIN/pg_restore" $PG --exit-on-error --no-owner --dbname=restored "$T/restored/juminkiroku.dump"
	q='SELECT id, name, born, note FROM residents ORDER BY id'
	"$PGBIN/psql" $PG -At -c "$q" juminkiroku > "$T/before"
	"$PGBIN/psql" $PG -At -c "$q" restored > "$T/after"
	[ "$(wc -l < "$T/before")" -ge 20001 ]
	cmp "$T/before" "$T/after"
	[ "$("$PGBIN/psql" $PG -At -c 'SELECT count(*) FROM residents' restored)" = "20001" ]
	# the drill restores it too and verifies every byte
	run "$MAMORI" drill juminkiroku
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^"juminkiroku (priority 1): snapshot "[0-9a-f]{8}": 1 files, " ]]
	run "$MAMORI" plan
	[[ "$output" == *"    pg_restore --create --dbname=postgres /var/tmp/mamori-restore/juminkiroku/juminkiroku.dump"* ]]
}
