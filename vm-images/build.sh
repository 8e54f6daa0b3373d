#!/usr/bin/env bash
# Builds one lab guest image per kernel:
#   vm-images/build.sh BUILD_DIR [KERNEL...]
# into BUILD_DIR/vm-image/KERNEL/{vmlinuz,initramfs.cpio,kernel.version,kernel.config}.
# KERNEL is a Debian kernel series (6.1: what Debian 12 installs; 6.12: from
# bookworm-security), taking the newest package of that series, or a full
# version such as 6.12.48+deb12-amd64. Default: $LAB_KERNELS, else "6.1 6.12".
#
# Everything comes from Debian packages (kernel via `apt-get download`, tools
# from the installed host packages) plus our own binaries in BUILD_DIR/bin.
# The output is reproducible (sorted cpio, fixed owners and mtimes) and the
# build is skipped when the hash of every input is unchanged. Kernel packages
# are kept in ${FAMFS_CACHE:-/var/cache/famfs}/kernels across builds.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR [KERNEL...]" >&2; exit 1; }
[ $# -ge 1 ] || usage
mkdir -p "$1"
build_dir=$(realpath "$1")
shift
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || read -r -a kernels <<< "${LAB_KERNELS:-6.1 6.12}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${FAMFS_CACHE:-/var/cache/famfs}/kernels
mkdir -p "$cache"

# Modules the lab needs; their dependencies are resolved with modprobe below.
# kmem and dax_cxl serve volatile CXL regions (kernels >= 6.3); a module the
# kernel lacks or has built in is skipped.
modules=(nfit nd_pmem dax_pmem device_dax cxl_acpi cxl_pci cxl_mem cxl_pmem
         dax_cxl kmem virtio_pci virtio_console virtio_pmem fuse hwpoison_inject)

# Host tools copied into the guest (installed by ci/install-deps.sh).
host_tools=(/usr/bin/busybox /usr/bin/ndctl /usr/bin/daxctl /usr/bin/cxl
            /usr/sbin/qemu-ga /usr/bin/fusermount3)

# Our binaries: whichever exist (the famfs ones are written in parallel).
our_tools=(famfs mkfs.famfs famfs_fused pcq labmem)
# Our shared objects, put beside the binaries (/usr/bin), where `famfs run`
# looks for the interception library. Sanitizer builds do not make it.
our_libs=(libfamfs_intercept.so)

# Dynamically linked data movers for the interception scenario: busybox is
# static, so LD_PRELOAD cannot reach its applets. They live off PATH
# (/usr/libexec/lab) so that every other scenario keeps busybox's versions.
# GNU md5sum (stdio) and cat (copy_file_range) are left out: the library
# serves neither way of reading.
lab_dynamic_tools=(/usr/bin/dd /usr/bin/cmp)
lab_dynamic_dir=/usr/libexec/lab

log() { echo "vm-image: $*" >&2; }

# The newest package of a series (6.1 -> linux-image-6.1.0-NN-amd64,
# 6.12 -> linux-image-6.12.NN+deb12-amd64), or the package of a full version.
kernel_package() {
    local kernel=$1 pattern pkg
    case "$kernel" in
        *-amd64) echo "linux-image-$kernel"; return ;;
        [0-9]*.[0-9]*) pattern="^linux-image-${kernel//./\\.}[.-][0-9.]+(-[0-9]+)?(\+deb[0-9]+)?-amd64\$" ;;
        *) log "unknown kernel '$kernel' (a series such as 6.1 or 6.12, or a version ending in -amd64)"; exit 1 ;;
    esac
    pkg=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" | sort -V | tail -n1 || true)
    if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
        # A fresh machine may have no package lists yet.
        apt-get update -q >&2 || true
        pkg=$(apt-cache pkgnames linux-image- 2>/dev/null | grep -E "$pattern" | sort -V | tail -n1 || true)
    fi
    if [ -z "$pkg" ]; then
        # No apt lists (offline): fall back to the newest cached kernel of the series.
        pkg=$(ls "$cache" 2>/dev/null | sed -n 's/_.*//; /^linux-image-[0-9]/p' | grep -E "$pattern" |
              sort -V | tail -n1 || true)
    fi
    [ -n "$pkg" ] || { log "no Debian kernel package for kernel $kernel (run apt-get update)"; exit 1; }
    echo "$pkg"
}

fetch_kernel_deb() {
    local pkg=$1 deb
    deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
    if [ -z "$deb" ]; then
        log "downloading $pkg"
        (cd "$cache" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
        deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
        [ -n "$deb" ] || { log "apt-get download $pkg failed"; exit 1; }
    fi
    echo "$deb"
}

# Every file to put into the guest: the tools plus the libraries ldd names.
guest_binaries() {
    local t
    for t in "${host_tools[@]}"; do
        [ -x "$t" ] || { log "missing $t (run ci/install-deps.sh)"; exit 1; }
        echo "$t"
    done
    for t in "${our_tools[@]}"; do
        if [ -x "$build_dir/bin/$t" ]; then echo "$build_dir/bin/$t"; else log "note: $t not built, not in image"; fi
    done
    for t in "${our_libs[@]}"; do
        if [ -f "$build_dir/bin/$t" ]; then echo "$build_dir/bin/$t"; else log "note: $t not built, not in image"; fi
    done
    for t in "${lab_dynamic_tools[@]}"; do
        [ -x "$t" ] || { log "missing $t (coreutils, diffutils)"; exit 1; }
        echo "$t"
    done
}

is_lab_dynamic_tool() {
    local t
    for t in "${lab_dynamic_tools[@]}"; do [ "$t" = "$1" ] && return 0; done
    return 1
}

shared_libs() {
    local bin
    for bin in "$@"; do
        ldd "$bin" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}' || true
    done | sort -u
}

# Unpacking the 70 MB kernel package dominates a rebuild: keep it unpacked.
extracted_kernel() {
    local deb=$1 dir
    dir=$cache/unpacked-$(basename "$deb" .deb)
    if [ ! -d "$dir" ]; then
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        dpkg -x "$deb" "$dir.tmp"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

stage_modules() {
    local root=$1 kroot=$2 kver=$3 ko
    mkdir -p "$root/lib/modules/$kver" "$root/etc/lab"
    [ -f "$kroot/lib/modules/$kver/modules.dep" ] || depmod -b "$kroot" "$kver"
    # An empty config dir keeps the host's modprobe.d (e.g. ndctl's install
    # hook) out of dependency resolution.
    local noconf; noconf=$(mktemp -d)
    for m in "${modules[@]}"; do
        modprobe -C "$noconf" -d "$kroot" -S "$kver" --show-depends "$m" 2>/dev/null |
            awk '$1 == "insmod" {print $2}' || log "kernel $kver: no module $m (skipped)"
    done | awk '!seen[$0]++' | while read -r ko; do
        rel=${ko#"$kroot/lib/modules/$kver/"}
        mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
        # busybox insmod takes plain modules: newer kernels ship .ko.xz.
        case "$rel" in
            *.ko.xz) rel=${rel%.xz}; xz -dc "$ko" > "$root/lib/modules/$kver/$rel" ;;
            *) cp "$ko" "$root/lib/modules/$kver/$rel" ;;
        esac
        echo "$rel"
    done > "$root/etc/lab/modules"
    rmdir "$noconf"
    cp "$kroot/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$root/lib/modules/$kver/"
    depmod -b "$root" "$kver"
}

stage_binaries() {
    local root=$1; shift
    local bin lib applet
    mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/sbin" "$root/sbin" "$root$lab_dynamic_dir"
    for bin in "$@"; do
        if is_lab_dynamic_tool "$bin"; then
            cp "$bin" "$root$lab_dynamic_dir/"
            continue
        fi
        case "$bin" in
            /usr/sbin/*) cp "$bin" "$root/usr/sbin/" ;;
            "$build_dir"/*)
                # Debug info would triple the initramfs and slow every boot.
                cp "$bin" "$root/usr/bin/"
                strip --strip-debug "$root/usr/bin/$(basename "$bin")" ;;
            *) cp "$bin" "$root/usr/bin/" ;;
        esac
    done
    mv "$root/usr/bin/busybox" "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    for lib in $(shared_libs "$@"); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

stage_etc() {
    local root=$1
    mkdir -p "$root"/{proc,sys,dev,tmp,run,root,var/lib,var/log,mnt/famfs,opt/famfs,etc}
    ln -s ../run "$root/var/run"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
    echo 'root:x:0:' > "$root/etc/group"
    echo 'user_allow_other' > "$root/etc/fuse.conf"
    printf 'export PATH=/usr/bin:/usr/sbin:/bin:/sbin\nexport PS1="\\h:\\w# "\n' > "$root/etc/profile"
    install -m 0755 "$here/init" "$root/init"
}

pack_cpio() {
    local root=$1 dest=$2
    find "$root" -exec touch -h -d @0 {} +
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        cpio -o -H newc -R 0:0 --reproducible --quiet) > "$dest.tmp"
    mv "$dest.tmp" "$dest"
}

stage_dir=""
trap 'rm -rf "$stage_dir"' EXIT

build_image() {
    local kernel=$1 out=$build_dir/vm-image/$1 start pkg deb kver bins hash root kroot
    start=$(date +%s.%N)
    pkg=$(kernel_package "$kernel")
    deb=$(fetch_kernel_deb "$pkg")
    mapfile -t bins < <(guest_binaries)
    hash=$( { sha256sum "$here/build.sh" "$here/init" "$deb" "${bins[@]}" $(shared_libs "${bins[@]}") |
              awk '{print $1}'; printf '%s\n' "${modules[@]}"; } | sha256sum | awk '{print $1}')
    mkdir -p "$out"
    if [ -f "$out/inputs.sha256" ] && [ "$(cat "$out/inputs.sha256")" = "$hash" ] &&
       [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio" ]; then
        log "kernel $kernel: up to date ($out)"
        return
    fi
    root=$(mktemp -d "$build_dir/vm-stage.XXXXXX")
    stage_dir=$root
    kroot=$(extracted_kernel "$deb")
    mkdir -p "$root/rootfs"
    kver=$(ls "$kroot/lib/modules" | head -n1)
    stage_modules "$root/rootfs" "$kroot" "$kver"
    stage_binaries "$root/rootfs" "${bins[@]}"
    stage_etc "$root/rootfs"
    pack_cpio "$root/rootfs" "$out/initramfs.cpio"
    cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
    cp "$kroot/boot/config-$kver" "$out/kernel.config"
    echo "$kver" > "$out/kernel.version"
    echo "$hash" > "$out/inputs.sha256"
    rm -rf "$root"
    log "kernel $kernel: built $out (kernel $kver, initramfs $(du -h "$out/initramfs.cpio" | cut -f1)) in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
}

for k in "${kernels[@]}"; do build_image "$k"; done
