#!/bin/sh
# Builds the Docker sandbox image without any image registry: a minimal Debian root file system
# from Debian's own mirror (debootstrap), imported as an image. The rootfs tarball is cached so a
# re-run (CI, a fresh test daemon) only imports it.
#
# Usage: scripts/build-sandbox-image.sh [IMAGE]        (default delegate-sandbox:bookworm)
# Env:   DOCKER_HOST       daemon to import into (e.g. unix:///tmp/d/docker.sock)
#        DELEGATE_CACHE    cache directory (default $HOME/.cache/delegate)
#        DEBIAN_MIRROR     mirror URL (default http://deb.debian.org/debian)
#        DEBIAN_SUITE      suite (default bookworm)
#        REBUILD=1         ignore the cached tarball
set -eu

image="${1:-delegate-sandbox:bookworm}"
cache="${DELEGATE_CACHE:-$HOME/.cache/delegate}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="${DEBIAN_SUITE:-bookworm}"
tarball="$cache/sandbox-rootfs.tar"

mkdir -p "$cache"
if [ ! -s "$tarball" ] || [ "${REBUILD:-0}" = 1 ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 1; }
  work="$(mktemp -d "${TMPDIR:-/tmp}/delegate-rootfs.XXXXXX")"
  # The rootfs is deleted on every exit path; proc/sys/dev may still be mounted after a failure.
  trap 'for m in proc sys dev/pts dev; do umount -l "$work/root/$m" 2>/dev/null || true; done; rm -rf "$work"' EXIT INT TERM
  echo "debootstrap $suite from $mirror (about a minute)" >&2
  debootstrap --variant=minbase --include=git,ca-certificates "$suite" "$work/root" "$mirror" >"$work/log" 2>&1 || {
    tail -n 30 "$work/log" >&2; exit 1; }
  # Nothing the sandbox needs: package caches and docs only make the image bigger.
  rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* \
         "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/locale"
  tar -C "$work/root" --numeric-owner -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
fi

echo "importing $tarball as $image" >&2
docker import --change 'CMD ["/bin/sh"]' --change 'ENV LANG=C.UTF-8' "$tarball" "$image" >/dev/null
echo "$image"
