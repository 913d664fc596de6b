#!/usr/bin/env bats
# S3 repositories against a real, signature-checking store: a one-node Ceph
# cluster with its RADOS Gateway on 127.0.0.1 (tests/peers/ceph-rgw), one
# for the whole file. An independent client (s3cmd) lists and fetches what
# mamori wrote. Faults: the gateway stopped mid-backup, a server that never
# answers, a wrong secret key, a missing bucket, a clock 20 minutes off;
# copy into and out of the bucket.

load helpers
# helpers.bash's setup, kept under another name: this file's setup adds to it.
eval "$(declare -f setup | sed '1s/^setup/helpers_setup/')"

setup_file() {
	PEERS=$MAMORI_SRC/tests/peers
	export CEPH_DIR
	CEPH_DIR=$(mktemp -d /tmp/mm-ceph.XXXXXX)
	rmdir "$CEPH_DIR" # ceph-rgw wants to make it
	"$PEERS/ceph-rgw" up "$CEPH_DIR" >/dev/null
	set -a
	. "$CEPH_DIR/s3.env"
	set +a
	S3_PORT=${S3_ENDPOINT##*:}
	export S3_PORT
	# s3cmd, the independent client, signs with V4 too.
	export S3CMD_CONF=$CEPH_DIR/s3cmd.conf
	cat >"$S3CMD_CONF" <<-EOF
	[default]
	access_key = $AWS_ACCESS_KEY_ID
	secret_key = $AWS_SECRET_ACCESS_KEY
	host_base = 127.0.0.1:$S3_PORT
	host_bucket = 127.0.0.1:$S3_PORT
	use_https = False
	signature_v2 = False
	bucket_location = us-east-1
	EOF
}

teardown_file() {
	"$MAMORI_SRC/tests/peers/ceph-rgw" down "$CEPH_DIR" || true
}

setup() {
	helpers_setup
	# One bucket per test; quick retries so failures end fast.
	BUCKET=mm-t$BATS_TEST_NUMBER
	export MAMORI_REPOSITORY=s3:$S3_ENDPOINT/$BUCKET/repo
	export MAMORI_S3_RETRIES=2 MAMORI_S3_RETRY_DELAY=0.2 MAMORI_S3_TIMEOUT=30
	PIDS=()
}

teardown() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	# A test that stopped the gateway gives it back to the others.
	if ! curl -s -o /dev/null "$S3_ENDPOINT/"; then
		"$MAMORI_SRC/tests/peers/ceph-rgw" gw-start "$CEPH_DIR"
	fi
}

s3c() {
	s3cmd -c "$S3CMD_CONF" "$@"
}

json_field() {
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(*[d[k] for k in sys.argv[1:]])' "$@"
}

# Start s3-proxy in front of the gateway; sets PROXY_PORT and PROXY_LOG.
start_proxy() {
	PROXY_LOG=$T/proxy-$RANDOM.log
	: >"$PROXY_LOG"
	"$MAMORI_SRC/tests/peers/s3-proxy" "$S3_PORT" "$T/proxy.port" "$PROXY_LOG" "$@" &
	PIDS+=($!)
	for _ in $(seq 1 400); do [ -s "$T/proxy.port" ] && break; sleep 0.05; done
	PROXY_PORT=$(cat "$T/proxy.port")
	rm -f "$T/proxy.port"
}

@test "s3: init, backup, restore and check through Ceph RGW; the objects are plain S3" {
	"$TOOLS/mkcorpus" "$T/corpus" --scale 0.02 >/dev/null
	run mm init
	[ "$status" -eq 0 ]
	[[ "$output" == *"created mamori repository at $MAMORI_REPOSITORY"* ]]
	# The bucket was made by init.
	s3c ls | grep -q "s3://$BUCKET\$"
	run mm init
	[ "$status" -eq 1 ]
	[[ "$output" == *"a repository already exists"* ]]
	run mm --json backup "$T/corpus"
	[ "$status" -eq 0 ]
	nfiles=$(find "$T/corpus" -type f -printf x | wc -c)
	[ "$(echo "$output" | summary_field files_new)" -eq "$nfiles" ]
	run mm --json backup "$T/corpus"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | summary_field bytes_read)" -eq 0 ]
	[ "$(echo "$output" | summary_field files_unchanged)" -eq "$nfiles" ]
	run mm snapshots
	[ "$status" -eq 0 ]
	[[ "$output" == *"2 snapshots"* ]]
	mm restore latest --target "$T/out" >/dev/null
	run "$TOOLS/treecmp" "$T/corpus" "$T/out$T/corpus"
	echo "$output"
	[ "$status" -eq 0 ]
	run mm --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field errors unindexed_packs snapshots)" = "0 0 2" ]
	npacks=$(echo "$output" | json_field packs)
	# Listings of 2 keys a page: every pack still found, page after page.
	run mm -o s3.list-keys=2 --json check
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field errors unindexed_packs snapshots packs)" = "0 0 2 $npacks" ]

	# What s3cmd sees: only mamori's layout under the prefix, no lock left.
	s3c ls -r "s3://$BUCKET/" | awk '{print $4}' | sed "s|^s3://$BUCKET/||" >"$T/keys"
	bad=$(grep -Ev '^repo/(config|(keys|index|snapshots|checkpoints)/[0-9a-f]{64}|data/([0-9a-f]{2})/[0-9a-f]{64})$' "$T/keys" || true)
	[ -z "$bad" ]
	if grep -q '^repo/locks/' "$T/keys"; then false; fi
	# Every pack sits in the folder of its first two digits.
	grep '^repo/data/' "$T/keys" | awk -F/ 'substr($4,1,2) != $3 {exit 1}'
	# Fetched by s3cmd into a plain folder, it is a local mamori repository.
	s3c sync --quiet "s3://$BUCKET/repo/" "$T/fetched/"
	run mm -r "$T/fetched" --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field errors snapshots)" = "0 2" ]
	mm -r "$T/fetched" restore latest --target "$T/out2" >/dev/null
	"$TOOLS/treecmp" "$T/corpus" "$T/out2$T/corpus" >/dev/null
}

@test "s3: a wrong secret key is named as a rejected signature (exit 23)" {
	mm init >/dev/null
	AWS_SECRET_ACCESS_KEY=not-the-secret run mm snapshots
	[ "$status" -eq 23 ]
	[[ "$output" == *"signature rejected: the secret key does not match access key $AWS_ACCESS_KEY_ID (from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); check AWS_SECRET_ACCESS_KEY"* ]]
	AWS_ACCESS_KEY_ID=NOSUCHKEY0000000000 run mm snapshots
	[ "$status" -eq 30 ]
	[[ "$output" == *"access denied: the store does not know access key NOSUCHKEY0000000000"* ]]
	# Credentials from a profile of a shared credentials file work the same.
	printf '[backup]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/credentials"
	run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
		AWS_PROFILE=backup "$MAMORI" snapshots
	[ "$status" -eq 0 ]
	[[ "$output" == *"0 snapshots"* ]]
}

@test "s3: a missing bucket is named (exit 25)" {
	run mm -r "s3:$S3_ENDPOINT/no-such-bucket/repo" snapshots
	[ "$status" -eq 25 ]
	[[ "$output" == *"bucket 'no-such-bucket' does not exist on 127.0.0.1; create it (mamori init does when the key may) or correct the location"* ]]
}

@test "s3: a clock 20 minutes behind: RequestTimeTooSkewed explained with the skew (exit 24)" {
	mm init >/dev/null
	FAKETIME_DONT_FAKE_MONOTONIC=1 ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1 \
		run faketime -f -20m "$MAMORI" snapshots
	echo "$output"
	[ "$status" -eq 24 ]
	# Measured from the gateway's Date header: 20 min, give or take the
	# second the request took.
	[[ "$output" =~ "clock skew: the local clock is "(19" min "5[0-9]|20" min "[0-9])" s behind the store's" ]]
	[[ "$output" == *"S3 refuses requests more than 15 minutes off"* ]]
}

@test "s3: a server that accepts and never answers: timeout within the bound (exit 28)" {
	python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1])); __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$T/silent.port" &
	PIDS+=($!)
	for _ in $(seq 1 400); do [ -s "$T/silent.port" ] && break; sleep 0.05; done
	port=$(cat "$T/silent.port")
	MAMORI_S3_TIMEOUT=2 MAMORI_S3_RETRIES=1 MAMORI_S3_RETRY_DELAY=0.1 \
		run timeout 120 "$MAMORI" -r "s3:http://127.0.0.1:$port/bkt/repo" snapshots
	[ "$status" -eq 28 ]
	[[ "$output" == *"127.0.0.1 accepted the connection but sent nothing for 2 s (s3.timeout): the gateway hangs or a proxy holds the request (gave up after 2 attempts)"* ]]
	# Nothing listens: refused, named.
	kill "${PIDS[0]}"; wait "${PIDS[0]}" 2>/dev/null || true
	run mm -o s3.retries=0 -r "s3:http://127.0.0.1:$port/bkt/repo" snapshots
	[ "$status" -eq 28 ]
	[[ "$output" == *"connection refused by 127.0.0.1 port $port: nothing listens there"* ]]
}

@test "s3: the gateway stopped mid-backup: clean error, valid repository, the next run sends only what is missing" {
	mkdir "$T/src"
	for i in 1 2 3 4 5; do head -c 12000000 /dev/urandom >"$T/src/f$i"; done
	mm init >/dev/null
	# The relay stops the real gateway when the third pack upload begins.
	start_proxy --stop-after 2 --on-stop "$MAMORI_SRC/tests/peers/ceph-rgw" gw-stop "$CEPH_DIR"
	run mm -r "s3:http://127.0.0.1:$PROXY_PORT/$BUCKET/repo" backup --threads 1 "$T/src"
	echo "$output"
	# refused (28) once the relay is gone, or cut (29) in the middle
	[ "$status" -eq 28 ] || [ "$status" -eq 29 ]
	[[ "$output" =~ (connection refused by 127.0.0.1 port $PROXY_PORT|the connection to 127.0.0.1 was cut) ]]
	"$MAMORI_SRC/tests/peers/ceph-rgw" gw-start "$CEPH_DIR"
	# Valid: no snapshot, every pack that arrived is whole and unindexed.
	run mm --json check --read-data
	echo "$output"
	[ "$status" -eq 0 ]
	arrived=$(s3c ls -r "s3://$BUCKET/repo/data/" | awk '{print $4}' | sort)
	narrived=$(echo "$arrived" | grep -c . || true)
	[ "$narrived" -ge 1 ]
	[ "$(echo "$output" | json_field errors snapshots unindexed_packs)" = "0 0 $narrived" ]
	# Resumed through a counting relay: the packs already there are not PUT again.
	start_proxy
	run mm -r "s3:http://127.0.0.1:$PROXY_PORT/$BUCKET/repo" backup "$T/src"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"warning: resuming: $narrived packs ("*" of an interrupted backup are reused, not sent again"* ]]
	s3c ls -r "s3://$BUCKET/repo/data/" | awk '{print $4}' | sort >"$T/after"
	nafter=$(grep -c . "$T/after")
	puts=$(grep -c '^PUT /'"$BUCKET"'/repo/data/' "$PROXY_LOG" || true)
	[ "$puts" -eq $((nafter - narrived)) ]
	# every PUT carries the SHA-256 of its body as x-amz-checksum-sha256
	# (what AWS asks for in a bucket with Object Lock retention)
	[ "$(grep -c '^sum ok ' "$PROXY_LOG")" -eq "$(grep -c '^PUT ' "$PROXY_LOG")" ]
	[ "$(grep -c '^sum ok ' "$PROXY_LOG")" -ge "$puts" ]
	if grep -q '^sum \(missing\|wrong\) ' "$PROXY_LOG"; then false; fi
	while read -r k; do
		if grep -q "^PUT /${k#s3://} " "$PROXY_LOG"; then false; fi
	done <<<"$arrived"
	run mm --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field errors unindexed_packs)" = "0 0" ]
	mm restore latest --target "$T/out" >/dev/null
	for i in 1 2 3 4 5; do cmp "$T/src/f$i" "$T/out$T/src/f$i"; done
}

@test "s3: copy from a local repository into the bucket and back out; a second copy sends nothing" {
	export MAMORI_REPOSITORY=$T/local
	mkdir "$T/src"
	head -c 3000000 /dev/urandom >"$T/src/a.bin"
	echo "住民記録" >"$T/src/b.txt"
	mm init >/dev/null
	mm backup "$T/src" >/dev/null
	printf 'second password\n' >"$T/password2"
	S3R=s3:$S3_ENDPOINT/$BUCKET/copy
	run mm -r "$S3R" --password-file "$T/password2" init \
		--copy-chunker-params-from "$T/local" --from-password-file "$MAMORI_PASSWORD_FILE"
	[ "$status" -eq 0 ]
	run mm --json copy --to "$S3R" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field snapshots_copied snapshots_skipped)" = "1 0" ]
	run mm --json copy --to "$S3R" --to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field snapshots_copied snapshots_skipped blobs_sent)" = "0 1 0" ]
	run mm -r "$S3R" --password-file "$T/password2" --json check --read-data
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field errors snapshots)" = "0 1" ]
	# And from the bucket into another local repository.
	run mm -r "$T/back" --password-file "$T/password2" init \
		--copy-chunker-params-from "$S3R" --from-password-file "$T/password2"
	[ "$status" -eq 0 ]
	run mm -r "$S3R" --password-file "$T/password2" --json copy --to "$T/back" \
		--to-password-file "$T/password2"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json_field snapshots_copied)" = "1" ]
	mm -r "$T/back" --password-file "$T/password2" restore latest --target "$T/out" >/dev/null
	cmp "$T/src/a.bin" "$T/out$T/src/a.bin"
	cmp "$T/src/b.txt" "$T/out$T/src/b.txt"
}
