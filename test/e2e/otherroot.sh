#!/bin/bash
# SPDX-License-Identifier: MIT
#
# otherroot.sh - a Debian 13 (trixie) root for running the outside on
# another distribution: /var/tmp/tungate-trixie, made once with debootstrap
# from Debian's packages and kept between runs.
#
#   test/e2e/otherroot.sh [DIR]     prints DIR when it is ready
#
# The root has the NSS modules a desktop or corporate laptop names in its
# nsswitch.conf (libnss-myhostname, libnss-mdns, libnss-sss) and such a
# nsswitch.conf: a static tungate that loaded one of them would crash in
# it. The mirror is this machine's own apt source. The root is built in a
# temporary directory and renamed into place when complete, so an
# interrupted run leaves nothing that looks done; STAMP records what it
# holds, and a root with another stamp is made again.
set -e -o pipefail

ROOT=${1:-/var/tmp/tungate-trixie}
PACKAGES=libnss-myhostname,libnss-mdns,libnss-sss
STAMP="trixie minbase $PACKAGES nsswitch-desktop 2"

if [ "$(cat "$ROOT/.tungate-root" 2>/dev/null)" = "$STAMP" ]; then
	echo "$ROOT"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "otherroot.sh: debootstrap needs root" >&2
	exit 1
fi
command -v debootstrap >/dev/null ||
	{ echo "otherroot.sh: debootstrap is not installed (make deps)" >&2; exit 1; }

# the first Debian archive this machine's apt uses (not its security one)
mirror() {
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		grep -h '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
			2>/dev/null | awk '{ print ($2 ~ /^\[/) ? $3 : $2 }'
	} | grep -v -e security -e "^$" | head -n 1 || true
}
MIRROR=$(mirror)
[ -n "$MIRROR" ] || { echo "otherroot.sh: no Debian mirror in this machine's apt sources" >&2; exit 1; }

start=$(date +%s)
tmp=$(mktemp -d "$ROOT.new.XXXXXX")
trap 'rm -rf --one-file-system "$tmp"' EXIT
echo "otherroot.sh: making a Debian 13 root in $ROOT (a few minutes, once)" >&2
debootstrap --variant=minbase --include="$PACKAGES" trixie "$tmp" "$MIRROR" \
	>"$tmp.log" 2>&1 || { tail -n 20 "$tmp.log" >&2; rm -f "$tmp.log"; exit 1; }
rm -f "$tmp.log"
# what Ubuntu, Fedora and Debian desktops ship, and sssd on corporate ones
cat >"$tmp/etc/nsswitch.conf" <<'EON'
passwd:         files systemd sss
group:          files systemd sss
shadow:         files sss
gshadow:        files
hosts:          files mdns4_minimal [NOTFOUND=return] resolve [!UNAVAIL=return] myhostname dns
networks:       files
protocols:      db files
services:       db files sss
ethers:         db files
rpc:            db files
netgroup:       nis sss
EON
# a laptop's own files; the tests bind-mount their own over them
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >"$tmp/etc/hosts"
printf 'nameserver 127.0.0.1\n' >"$tmp/etc/resolv.conf"
chmod 755 "$tmp"
# nothing of the install remains that a later run could trip on
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
echo "$STAMP" >"$tmp/.tungate-root"
rm -rf --one-file-system "$ROOT"
mv "$tmp" "$ROOT"
trap - EXIT
echo "otherroot.sh: made in $(($(date +%s) - start)) s" >&2
echo "$ROOT"
