#!/usr/bin/env bats
# The continuity report: one self-contained page, rendered by a real
# browser (headless Chromium from Debian's chromium package); the rendered
# DOM must hold the incident titles, dataset and repository names and the
# ledger's status. The screenshot stays in the build folder as an artifact.

load helpers

teardown() {
	[ -n "${PROFILE:-}" ] && rm -rf "$PROFILE"
	true
}

chrome() {
	PROFILE=$(mktemp -d)
	timeout 180 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$PROFILE" \
		"$@" 2>/dev/null
	local rc=$?
	rm -rf "$PROFILE"
	PROFILE=
	return $rc
}

make_history() {
	export MAMORI_CONFIG=$T/no-such.conf # no datasets configured
	mkdir -p "$T/data/住民記録" && echo "record" > "$T/data/住民記録/a.csv"
	MAMORI_NOW=2026-11-20T09:00:00Z mm init >/dev/null
	mm backup "$T/data/住民記録" >/dev/null
	mm backup "$T/data/住民記録" >/dev/null
	MAMORI_NOW=2026-11-30T10:10:00Z mm incident open --title "ファイルサーバのディスク故障" \
		--severity 1 --scope "税務課の共有フォルダ" --occurred 2026-11-30T10:00:00Z --rto 4h \
		--dataset 住民記録 >/dev/null
	MAMORI_NOW=2026-11-30T11:00:00Z mm incident action INC-4 "昨夜のスナップショットから復元" --owner 田中 >/dev/null
	MAMORI_NOW=2026-11-30T12:00:00Z mm incident recover INC-4 >/dev/null
	MAMORI_NOW=2026-12-01T09:00:00Z mm incident alert --check ntp --state CRITICAL \
		--message "<script>alert(1)</script> unsynchronised" >/dev/null
}

@test "report: self-contained, escaped, Japanese and English labels" {
	make_history
	run mm report --output "$T/ja.html" --lang ja
	[ "$status" -eq 0 ]
	[ "$output" = "report written to $T/ja.html" ]
	[ "$(stat -c %a "$T/ja.html")" = "600" ]
	mm report --lang en > "$T/en.html"
	# Nothing external: no scripts, links, images or URLs to fetch.
	! grep -Eq '<(script|link|img|iframe)|src=|url\(|https?:' "$T/ja.html"
	grep -q '<html lang="ja">' "$T/ja.html"
	grep -q '<h1>事業継続レポート</h1>' "$T/ja.html"
	grep -q '<h1>Continuity report</h1>' "$T/en.html"
	# The alert's message is text, not markup.
	grep -q '&lt;script&gt;alert(1)&lt;/script&gt; unsynchronised' "$T/ja.html"
	# Sections other modules fill later say so.
	grep -q '<section id="monitoring" data-configured="no"><h2>監視</h2><p class="not-configured"><strong>未設定</strong>' "$T/ja.html"
	# The clock: the kernel's state as the time-sync module reads it.
	grep -Eq '<section id="clock" data-configured="yes"><h2>Clock synchronisation</h2><dl><dt>State</dt><dd><span class="badge (ok|crit)">(un)?synchronised</span>' "$T/en.html"
	grep -q '<section id="datasets" data-configured="no">' "$T/en.html"
}

@test "report rendered in headless Chromium: incidents, datasets, repository, ledger status" {
	command -v chromium >/dev/null || { echo "chromium is missing: run scripts/install-deps --test" >&2; return 1; }
	make_history
	mm report --output "$T/report.html" --lang ja >/dev/null
	chrome --dump-dom "file://$T/report.html" > "$T/dom.html"
	[ -s "$T/dom.html" ]
	python3 - "$T/dom.html" "$T" <<'EOF'
import sys
from html.parser import HTMLParser

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.attrs = [], {}, {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id") or a.get("class") or tag)
        if "id" in a:
            self.attrs[a["id"]] = a
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
    def handle_data(self, d):
        for k in set(self.stack):
            self.text[k] = self.text.get(k, "") + d

dom = open(sys.argv[1], encoding="utf-8").read()
p = P()
p.feed(dom)
inc = p.text["incidents"]
assert "ファイルサーバのディスク故障" in inc, inc
assert "ntp: <script>alert(1)</script> unsynchronised" in inc, inc   # shown as text
assert "<script>alert" not in dom.replace("&lt;script&gt;", ""), "markup injected"
assert "住民記録" in inc and "税務課の共有フォルダ" in inc, inc
assert "昨夜のスナップショットから復元" in inc and "田中" in inc, inc
assert "達成" in inc, inc                                  # recovered in 2 h, RTO 4 h
assert sys.argv[2] + "/repo" in p.text["backups"], p.text["backups"]
assert "2 件のスナップショット" in p.text["backups"], p.text["backups"]
assert "住民記録" in p.text["backups"], p.text["backups"]   # the backed-up path
led = p.text["ledger"]
assert "改ざんなし" in led, led
assert p.attrs["open-incidents"] is not None and p.text["open-incidents"] == "2", p.text["open-incidents"]
assert "未設定" in p.text["monitoring"], p.text["monitoring"]
assert "synchronised" in p.text["clock"] and "kernel: estimated error" in p.text["clock"], p.text["clock"]
EOF
	shot=$MAMORI_BUILD/report-screenshot.png
	rm -f "$shot"
	chrome --window-size=1280,2600 --screenshot="$shot" "file://$T/report.html" >/dev/null
	[ -s "$shot" ]
	[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
}

@test "report: a tampered ledger is shown as tampered, with the first bad record" {
	make_history
	off=$(python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read(); off = 0
for _ in range(2):
    (n,) = struct.unpack_from("<I", d, off + 4); off += 44 + n
print(off + 40)' "$T/state/ledger")
	printf 'Z' | dd of="$T/state/ledger" bs=1 seek="$off" conv=notrunc 2>/dev/null
	mm report --lang en --output "$T/r.html" >/dev/null
	grep -q '<p class="ledger-status crit" data-status="tampered">TAMPERED</p>' "$T/r.html"
	grep -q '<dt>First bad record</dt><dd class="crit">3</dd>' "$T/r.html"
}

@test "report: the datasets of the configuration, with RPO, RTO and status" {
	mkdir -p "$T/src" && echo "resident register" > "$T/src/a.csv"
	mm init >/dev/null
	cat > "$T/mamori.conf" <<CONF
[repository local]
url = $T/repo
password-file = $T/password

[dataset juminkiroku]
paths = $T/src
repository = local
priority = 1
rpo = 1d
rto = 4h
CONF
	export MAMORI_CONFIG=$T/mamori.conf
	mm run >/dev/null
	mm report --lang en --output "$T/r.html" >/dev/null
	grep -q '<section id="datasets" data-configured="yes">' "$T/r.html"
	grep -q '<td class="dataset-name">juminkiroku</td><td>1d 0h</td><td>4h 0m</td>' "$T/r.html"
	grep -q '<span class="badge ok">OK</span>' "$T/r.html"
	# Without a configuration the section says so.
	MAMORI_CONFIG=$T/none.conf mm report --lang en --output "$T/r2.html" >/dev/null
	grep -q '<section id="datasets" data-configured="no">' "$T/r2.html"
}

@test "report: the monitoring section shows every check of mamori.conf with its state and cause" {
	port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	cat > "$T/mamori.conf" <<-CONF
	[monitor]
	state-dir = $T/monitor

	[check files-etc]
	type = files
	files = $T/watched

	[check web]
	type = tcp
	address = 127.0.0.1:$port
	CONF
	echo "one" > "$T/watched"
	export MAMORI_CONFIG=$T/mamori.conf
	mm init >/dev/null
	run mm report --lang en --output "$T/r.html"
	[ "$status" -eq 0 ]
	grep -q '<section id="monitoring" data-configured="yes">' "$T/r.html"
	python3 - "$T/r.html" "$port" <<-'PY'
	import html, re, sys
	page = open(sys.argv[1], encoding="utf-8").read()
	sec = re.search(r'<section id="monitoring".*?</section>', page, re.S).group(0)
	text = html.unescape(re.sub(r"<[^>]+>", " ", sec))
	assert "files-etc" in text and "web" in text, text
	assert "CRITICAL" in text, text
	assert "127.0.0.1:%s: connection refused" % sys.argv[2] in text, text
	PY
}
