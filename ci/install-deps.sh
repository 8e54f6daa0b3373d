#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the lab need.
# Idempotent: does nothing (and needs no network) when everything is present.
# Takes packages only from the running release (its -updates and -security
# included, never backports), and waits up to 10 minutes for apt's locks.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev zlib1g-dev
  libfuse3-dev fuse3 libdaxctl-dev libndctl-dev libyaml-cpp-dev libyaml-dev libmicrohttpd-dev curl attr
  qemu-system-x86 qemu-utils busybox-static ndctl qemu-guest-agent cpio
  daxctl kmod
  python3 python3-pytest
  debootstrap
)

declare -A installed=()
while read -r status name; do
  if [ "$status" = ii ]; then installed[$name]=1; fi
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${packages[@]}" 2>/dev/null)
missing=()
for p in "${packages[@]}"; do [ -n "${installed[$p]-}" ] || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0

lock_timeout=600
locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)

# "PID PATH" of a process holding one of apt's locks, if any.
lock_holder() {
  lslocks --noheadings --output PID,PATH 2>/dev/null |
    awk -v locks="${locks[*]}" 'BEGIN { n = split(locks, l, " "); for (i = 1; i <= n; i++) held[l[i]] = 1 }
                                 $2 in held && !found++ { print $1, $2 }'
}

# Waits until no process holds apt's locks (apt-get update does not wait by
# itself), for at most lock_timeout seconds.
wait_for_apt() {
  local holder waited=0
  while holder=$(lock_holder) && [ -n "$holder" ]; do
    if [ $waited -ge $lock_timeout ]; then
      echo "install-deps: gave up after ${lock_timeout}s: ${holder#* } is still held by PID ${holder%% *}" >&2
      exit 1
    fi
    [ $waited -gt 0 ] || echo "install-deps: waiting for the apt lock ${holder#* } held by PID ${holder%% *}" \
      "($(cat "/proc/${holder%% *}/comm" 2>/dev/null)), up to ${lock_timeout}s"
    sleep 2; waited=$((waited + 2))
  done
}

. /etc/os-release
: "${VERSION_CODENAME:?install-deps: /etc/os-release names no VERSION_CODENAME}"
# -t with a pattern: plain "-t bookworm" would prefer bookworm's own version
# over a newer one in bookworm-security.
release="/^${VERSION_CODENAME}(-updates|-security)?\$/"
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o "DPkg::Lock::Timeout=$lock_timeout")
[ "$(id -u)" -eq 0 ] || apt=(sudo "${apt[@]}")

echo "install-deps: installing ${missing[*]} from $VERSION_CODENAME"
wait_for_apt
"${apt[@]}" update
wait_for_apt
"${apt[@]}" install -y --no-install-recommends -t "$release" "${missing[@]}"
