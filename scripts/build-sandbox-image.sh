#!/bin/sh
# Builds a Docker sandbox image without any image registry: a Debian root file system from
# Debian's own mirror (debootstrap), imported as an image. The rootfs tarball is cached so a
# re-run (CI, a fresh test daemon) only imports it.
#
# Two flavours:
#   minimal    (delegate-sandbox:bookworm)   debootstrap minbase + git + ca-certificates: what the
#              sandbox itself needs (perl for its supervisor is essential in Debian). The sandbox
#              driver's tests use it: it builds in about a minute.
#   universal  (delegate-sandbox:universal)  the toolchains a repository's tests usually need:
#              the list is UNIVERSAL_PACKAGES below (docs/server.md gives its size).
#
# Usage: scripts/build-sandbox-image.sh [--universal|--minimal] [IMAGE]
# Env:   DOCKER_HOST       daemon to import into (e.g. unix:///tmp/d/docker.sock)
#        DELEGATE_CACHE    cache directory (default $HOME/.cache/delegate)
#        DEBIAN_MIRROR     mirror URL (default http://deb.debian.org/debian)
#        DEBIAN_SUITE      suite (default bookworm)
#        REBUILD=1         ignore the cached tarball
#        ROOTFS_ONLY=1     build (or keep) the cached tarball, import nothing
set -eu

flavour=minimal
case "${1:-}" in
  --universal) flavour=universal; shift ;;
  --minimal) shift ;;
esac
cache="${DELEGATE_CACHE:-$HOME/.cache/delegate}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${DEBIAN_SUITE:-bookworm}"

MINIMAL_PACKAGES="git,ca-certificates"
UNIVERSAL_PACKAGES="git,ca-certificates,build-essential,pkg-config,nodejs,npm,python3,python3-pip,python3-venv,python3-dev,ripgrep,jq,curl,wget,unzip,zip,xz-utils,bzip2,file,patch,less,procps,openssh-client,sqlite3"

if [ "$flavour" = universal ]; then
  image="${1:-delegate-sandbox:universal}"
  tarball="$cache/sandbox-rootfs-universal.tar"
  packages="$UNIVERSAL_PACKAGES"
else
  image="${1:-delegate-sandbox:bookworm}"
  tarball="$cache/sandbox-rootfs.tar"
  packages="$MINIMAL_PACKAGES"
fi

mkdir -p "$cache"
if [ ! -s "$tarball" ] || [ "${REBUILD:-0}" = 1 ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/delegate-rootfs.XXXXXX")"
  # The rootfs is deleted on every exit path; proc/sys/dev may still be mounted after a failure.
  trap 'for m in proc sys dev/pts dev; do umount -l "$work/root/$m" 2>/dev/null || true; done; rm -rf "$work"' EXIT INT TERM
  echo "debootstrap $suite ($flavour) from $mirror (minimal: about a minute; universal: several)" >&2
  debootstrap --variant=minbase --include="$MINIMAL_PACKAGES" "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 || {
    tail -n 30 "$work/log" >&2; exit 1; }
  if [ "$flavour" = universal ]; then
    # debootstrap's own resolver cannot configure npm's tree of node-* packages: apt in the new
    # root does, from the same mirror. No service may start (policy-rc.d), nothing is recommended.
    printf '#!/bin/sh\nexit 101\n' >"$work/root/usr/sbin/policy-rc.d"
    chmod 755 "$work/root/usr/sbin/policy-rc.d"
    echo "deb $mirror $suite main" >"$work/root/etc/apt/sources.list"
    mount -t proc proc "$work/root/proc"
    { chroot "$work/root" apt-get update &&
      DEBIAN_FRONTEND=noninteractive chroot "$work/root" apt-get install -y --no-install-recommends $(echo "$packages" | tr , ' ') &&
      chroot "$work/root" apt-get clean; } >>"$work/log" 2>&1 || { tail -n 30 "$work/log" >&2; exit 1; }
    umount "$work/root/proc"
    rm -f "$work/root/usr/sbin/policy-rc.d"
  fi
  # Nothing the sandbox needs: package caches and docs only make the image bigger.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
         "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
  # Written beside the cache and renamed: an interrupted build never leaves a tarball to reuse.
  tar -C "$work/root" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi
[ "${ROOTFS_ONLY:-0}" = 1 ] && { echo "$tarball"; exit 0; }

echo "importing $tarball as $image" >&2
docker import --change 'CMD ["/bin/sh"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$image" >/dev/null
echo "$image"
