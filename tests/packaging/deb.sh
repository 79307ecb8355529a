#!/usr/bin/env bash
# deb.sh: the Debian package of `make deb` (scripts/deb.sh), built and checked without installing
# it on this machine: its control fields and files (dpkg-deb), extracted into a scratch root
# (dpkg -x), the extracted binary run (--version, --print-config of the packaged configuration,
# then serving on a free loopback port until stopped by its pid), the man page read, and the
# unit checked by systemd-analyze verify (any warning fails) when systemd-analyze exists.
#   tests/packaging/deb.sh [BUILD_DIR]     (default build, built already)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/runnel-deb-test.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
checks=0
fail() { echo "deb.sh: FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); }

deb="$(scripts/deb.sh "$build" | tail -1)"
[ -f "$deb" ] || fail "scripts/deb.sh made no package ($deb)"
version="$("$build/runnel" --version | awk '{print $2}')"

# control fields
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = runnel ] || fail "Package: $(field Package)"; ok
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), the binary says $version"; ok
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] || fail "Architecture: $(field Architecture)"; ok
depends="$(field Depends)"
for lib in 'libc6 (>= ' libevent-core-2.1-7 libnghttp2-14 libjansson4 libssl3 libsqlite3-0 libyaml-0-2 adduser; do
  case "$depends" in *"$lib"*) ok ;; *) fail "Depends lacks $lib: $depends" ;; esac
done

# files, modes and the conffile
contents="$(dpkg-deb --contents "$deb")"
for f in "-rwxr-xr-x root/root .* ./usr/bin/runnel$" \
         "-rw-r--r-- root/root .* ./usr/share/man/man1/runnel.1.gz$" \
         "-rw-r--r-- root/root .* ./lib/systemd/system/runnel.service$" \
         "-rw-r--r-- root/root .* ./etc/runnel/runnel.yaml$"; do
  grep -Eq -- "$f" <<<"$contents" || fail "no file matching '$f' in:
$contents"
  ok
done
dpkg-deb --ctrl-tarfile "$deb" | tar -x -O ./conffiles | grep -qx /etc/runnel/runnel.yaml || fail "runnel.yaml is not a conffile"; ok
mkdir "$scratch/ctrl"
dpkg-deb --control "$deb" "$scratch/ctrl"
for s in postinst prerm postrm; do sh -n "$scratch/ctrl/$s" || fail "$s does not parse"; ok; done
grep -q 'adduser --system' "$scratch/ctrl/postinst" || fail "postinst makes no runnel user"; ok

# extracted into a scratch root: the binary runs
root="$scratch/root"
dpkg -x "$deb" "$root"
bin="$root/usr/bin/runnel"
[ "$("$bin" --version)" = "runnel $version" ] || fail "--version: $("$bin" --version)"; ok
cfg="$root/etc/runnel/runnel.yaml"
printed="$(env -u RUNNEL_CONFIG "$bin" serve --print-config --config "$cfg")" || fail "--print-config exited $?"
grep -Eqx 'data-dir: "/var/lib/runnel"  # file, line [0-9]+' <<<"$printed" || fail "data-dir not from the file:
$printed"; ok
grep -Eqx 'listen: "127.0.0.1:4567"  # file, line [0-9]+' <<<"$printed" || fail "listen not from the file"; ok
grep -Eqx 'fsync: "always"  # file, line [0-9]+' <<<"$printed" || fail "fsync not from the file"; ok
# the packaged configuration serves, with the listen address and data dir moved to scratch ones
mkfifo "$scratch/out"
"$bin" serve --config "$cfg" --listen 127.0.0.1:0 --data-dir "$scratch/data" >"$scratch/out" 2>"$scratch/err" &
pid=$!
read -r line <"$scratch/out" || fail "no endpoint line: $(cat "$scratch/err")"
port="$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\) .*|\1|p' <<<"$line")"
[ -n "$port" ] || fail "endpoint line: $line"; ok
"$bin" health "http://127.0.0.1:$port/health/ready" >/dev/null || fail "not ready on $port"; ok
kill -TERM "$pid"
wait "$pid" || fail "runnel exited $? on SIGTERM"
pid=""
[ -d "$scratch/data" ] || fail "no data dir made"; ok

# the man page: from --help, every option of --help in it
man="$(zcat "$root/usr/share/man/man1/runnel.1.gz")"
grep -q '^\.TH RUNNEL "1"' <<<"$man" || fail "man page header"; ok
for opt in $("$bin" --help | sed -n 's/^  --\([a-z-]*\).*/\1/p'); do
  grep -q -- "-\\\\-${opt//-/\\\\-}" <<<"$man" || fail "the man page lacks --$opt"
  ok
done
grep -q '^\.SH FILES' <<<"$man" || fail "man page has no FILES"; ok

# the unit: the sandboxing the brief asks for, and systemd's own check
unit="$root/lib/systemd/system/runnel.service"
for kv in 'ExecStart=/usr/bin/runnel serve --config /etc/runnel/runnel.yaml' 'User=runnel' \
          'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
          'ReadWritePaths=/var/lib/runnel' 'StateDirectory=runnel' 'LimitNOFILE=65536' 'Restart=on-failure'; do
  grep -qx -- "$kv" "$unit" || fail "the unit lacks $kv"
  ok
done
if command -v systemd-analyze >/dev/null; then
  # verify checks that ExecStart's binary exists: a copy naming the extracted one
  mkdir "$scratch/unit"
  sed "s|/usr/bin/runnel|$bin|g" "$unit" >"$scratch/unit/runnel.service"
  out="$(systemd-analyze verify --man=no "$scratch/unit/runnel.service" 2>&1)" || fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
  ok
  score="$(systemd-analyze security --offline=yes "$scratch/unit/runnel.service" 2>/dev/null | sed -n 's/.*Overall exposure level for runnel.service: \([0-9.]*\).*/\1/p')"
  echo "deb.sh: systemd-analyze security exposure $score (0 safest, 10 unsafe)"
else
  echo "deb.sh: systemd-analyze is not installed: the unit is not verified"
fi
echo "deb.sh: $deb: $checks checks passed"
