#!/usr/bin/env bash
# A Debian 13 (trixie) root for building with trixie's toolchain (GCC 14) on
# a Debian 12 machine, made once with debootstrap and kept in a cache folder.
#
#   ci/debian13-root.sh path                 make the root if missing; print its folder
#   ci/debian13-root.sh install [--suite SUITE] PACKAGE...
#                                            install PACKAGEs with the root's own apt
#                                            (nothing happens when they are present);
#                                            --suite takes them from SUITE (for example
#                                            trixie-backports), added to the root's sources
#   ci/debian13-root.sh sources SUITE...     add SUITEs to the root's sources (not the host's)
#   ci/debian13-root.sh run [--bind SRC DST | --ro-bind SRC DST]... -- COMMAND...
#                                            run COMMAND in the root (as root, clean environment)
#
# The root is ${FAMFS_CACHE:-/var/cache/famfs}/debian13-root. It is made under
# another name and renamed when complete, so an interrupted run never leaves a
# half root that is taken for a whole one. /proc, /sys, /dev, /dev/shm and the
# --bind folders (and a fresh /tmp) are mounted only while a command runs, in a
# mount namespace of its own, and unmounted when it ends, however it ends: no
# mount is left behind.
set -euo pipefail

self=$(realpath "$0")
cache=${FAMFS_CACHE:-/var/cache/famfs}
root=$cache/debian13-root
mirror=http://deb.debian.org/debian
lock_timeout=600
say() { echo "debian13-root: $*" >&2; }
die() { say "$*"; exit 1; }

# Internal: `__mounted ROOT [binds] -- COMMAND...`, started by in_root inside
# a private mount namespace: mounts, runs COMMAND chrooted, unmounts.
if [ "${1-}" = __mounted ]; then
  r=$2; shift 2
  mounted=()
  unmount_all() {
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
      umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}"
    done
  }
  trap unmount_all EXIT
  trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM
  mnt() { local target=$1; shift; mount "$@" "$target"; mounted+=("$target"); }
  mnt "$r/proc" -t proc proc
  mnt "$r/sys" -t sysfs -o ro sysfs
  mnt "$r/dev" --bind /dev
  mnt "$r/dev/pts" -t devpts -o newinstance,ptmxmode=0666 devpts
  mnt "$r/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
  mnt "$r/tmp" -t tmpfs -o mode=1777,nosuid,nodev tmp   # nothing a command leaves stays in the cache
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    case $1 in
      --bind|--ro-bind)
        [ -d "$r$3" ] || mkdir -p "$r$3"
        mnt "$r$3" --bind "$2"
        [ "$1" = --bind ] || mount -o remount,bind,ro "$r$3"
        shift 3 ;;
      *) die "run: unknown option $1" ;;
    esac
  done
  [ "${1-}" = -- ] && shift
  [ $# -gt 0 ] || die "run: no command"
  # Not exec: the EXIT trap unmounts after the command.
  status=0
  chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" DEBIAN_FRONTEND=noninteractive "$@" || status=$?
  exit $status
fi

in_root() { unshare --mount --propagation private "$self" __mounted "$root" "$@"; }

# One creator or installer at a time (the root's apt has its own locks too).
take_lock() { mkdir -p "$cache"; exec 9>"$cache/debian13-root.lock"; flock -w $lock_timeout 9 || die "$cache/debian13-root.lock held for ${lock_timeout}s"; }

create() {
  [ -d "$root" ] && return 0
  take_lock
  [ -d "$root" ] && return 0
  command -v debootstrap >/dev/null || "$(dirname "$self")/install-deps.sh"
  rm -rf --one-file-system "$cache"/debian13-root.new.*   # what interrupted runs left
  local tmp t0=$SECONDS
  tmp=$(mktemp -d "$cache/debian13-root.new.XXXXXX")
  chmod 755 "$tmp"
  say "debootstrap trixie into $tmp"
  unshare --mount --propagation private \
    debootstrap --variant=minbase trixie "$tmp" "$mirror" >"$tmp.log" 2>&1 ||
    { tail -n 20 "$tmp.log" >&2; die "debootstrap failed (log: $tmp.log)"; }
  rm -f "$tmp.log"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"   # no services start in the root
  chmod 755 "$tmp/usr/sbin/policy-rc.d"
  mv -T "$tmp" "$root"
  say "made $root in $((SECONDS - t0)) s"
}

add_sources() {
  local s line
  for s in "$@"; do
    line="deb $mirror $s main"
    grep -qxF "$line" "$root/etc/apt/sources.list" || echo "$line" >>"$root/etc/apt/sources.list"
  done
}

# installed PACKAGE [SUITE]: PACKAGE is installed (in the version SUITE would give).
installed() {
  local v
  v=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${db:Status-Abbrev}${Version}' "$1" 2>/dev/null) || return 1
  [[ $v == ii* ]] || return 1
  [ -z "${2-}" ] || chroot "$root" apt-cache -t "$2" policy "$1" 2>/dev/null | grep -xF "  Candidate: ${v#ii }" >/dev/null
}

install() {
  local suite="" p missing=() t0=$SECONDS
  if [ "${1-}" = --suite ]; then suite=$2; shift 2; fi
  [ $# -gt 0 ] || die "install: no package named"
  create
  for p in "$@"; do installed "$p" "$suite" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  take_lock
  [ -z "$suite" ] || add_sources "$suite"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  say "installing ${missing[*]}${suite:+ from $suite}"
  local apt=(apt-get -q -o "DPkg::Lock::Timeout=$lock_timeout") log=$cache/debian13-root.apt.log
  { in_root -- "${apt[@]}" update &&
    in_root -- "${apt[@]}" install -y --no-install-recommends ${suite:+-t "$suite"} "${missing[@]}" &&
    in_root -- "${apt[@]}" clean; } >"$log" 2>&1 ||
    { tail -n 20 "$log" >&2; die "cannot install ${missing[*]} (log: $log)"; }
  say "installed in $((SECONDS - t0)) s"
}

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, chroot, mount)"
case ${1-} in
  path) create; echo "$root" ;;
  install) shift; install "$@" ;;
  sources) shift; [ $# -gt 0 ] || die "sources: no suite named"; create; take_lock; add_sources "$@" ;;
  run) shift; create; in_root "$@" ;;
  *) sed -n '2,/^set -e/p' "$self" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
