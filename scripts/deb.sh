#!/usr/bin/env bash
# deb.sh: build runnel's Debian package from a built tree, with dpkg-deb (no debhelper).
#   scripts/deb.sh [BUILD_DIR]     (default build; `make deb` builds first)
# Writes BUILD_DIR/runnel_VERSION_ARCH.deb and prints its path last. Contents (packaging/deb/):
#   /usr/bin/runnel                          the binary, stripped
#   /usr/share/man/man1/runnel.1.gz          generated from `runnel --help` by help2man
#   /lib/systemd/system/runnel.service       the sandboxed unit
#   /etc/runnel/runnel.yaml                  the default configuration (a conffile)
#   /usr/share/doc/runnel/README.md.gz
# Depends comes from the binary's linked libraries (dpkg-shlibdeps), plus adduser (postinst).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
bin="$build/runnel"
[ -x "$bin" ] || { echo "deb: no $bin (make build first)" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps help2man; do
  command -v "$tool" >/dev/null || { echo "deb: $tool is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done

version="$("$bin" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
out="$build/runnel_${version}_${arch}.deb"
work="$(mktemp -d "${TMPDIR:-/tmp}/runnel-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/root"

install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/lib/systemd/system" \
  "$root/etc/runnel" "$root/usr/share/doc/runnel"
install -m 0755 -s "$bin" "$root/usr/bin/runnel"
install -m 0644 packaging/deb/runnel.service "$root/lib/systemd/system/runnel.service"
install -m 0644 packaging/deb/runnel.yaml "$root/etc/runnel/runnel.yaml"
for s in postinst prerm postrm; do install -m 0755 "packaging/deb/$s" "$root/DEBIAN/$s"; done
gzip -9n < README.md > "$root/usr/share/doc/runnel/README.md.gz"

# The man page: help2man runs the binary's --help and --version (no info page: -N).
help2man -N -s 1 -n "a server of the Amazon Kinesis Data Streams API" -i packaging/deb/runnel.h2m \
  --version-string="$version" "$root/usr/bin/runnel" > "$work/runnel.1"
gzip -9n < "$work/runnel.1" > "$root/usr/share/man/man1/runnel.1.gz"
chmod 0644 "$root/usr/share/man/man1/runnel.1.gz" "$root/usr/share/doc/runnel/README.md.gz"

# Depends: dpkg-shlibdeps wants a debian/control to read; a minimal one in the scratch dir.
mkdir -p "$work/src/debian"
printf 'Source: runnel\n\nPackage: runnel\nArchitecture: any\n' > "$work/src/debian/control"
shlibs="$(cd "$work/src" && dpkg-shlibdeps -O "$root/usr/bin/runnel" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
[ -n "$shlibs" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: runnel
Version: $version
Architecture: $arch
Maintainer: runnel developers <runnel@localhost>
Installed-Size: $size
Depends: $shlibs, adduser
Section: net
Priority: optional
Description: server of the Amazon Kinesis Data Streams API
 runnel speaks the Kinesis Data Streams API (AWS JSON 1.1 and CBOR over HTTP/1.1,
 HTTP/2 and TLS) from an embedded, crash-safe on-disk log. Unmodified AWS SDKs,
 the AWS CLI, the KCL and the KPL work against it with an endpoint override.
 .
 The package runs it as a sandboxed systemd service (runnel.service, not
 enabled at install) configured by /etc/runnel/runnel.yaml, data under
 /var/lib/runnel.
CONTROL
echo /etc/runnel/runnel.yaml > "$root/DEBIAN/conffiles"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
