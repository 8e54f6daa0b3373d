#!/usr/bin/env bash
# Builds the lab guest image: BUILD_DIR/vm-image/{vmlinuz,initramfs.cpio}.
#
# Everything comes from Debian packages (kernel via `apt-get download`, tools
# from the installed host packages) plus our own binaries in BUILD_DIR/bin.
# The output is reproducible (sorted cpio, fixed owners and mtimes) and the
# build is skipped when the hash of every input is unchanged.
#
# Environment: KERNEL_PKG=linux-image-6.1.0-NN-amd64 pins the kernel package.
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR" >&2; exit 1; }
[ $# -eq 1 ] || usage
mkdir -p "$1"
build_dir=$(realpath "$1")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=$build_dir/vm-cache
out=$build_dir/vm-image
mkdir -p "$cache" "$out"

# Modules the lab needs; their dependencies are resolved with modprobe below.
modules=(nfit nd_pmem dax_pmem device_dax cxl_acpi cxl_pci cxl_mem cxl_pmem
         virtio_pci virtio_console virtio_pmem fuse hwpoison_inject)

# Host tools copied into the guest (installed by ci/install-deps.sh).
host_tools=(/usr/bin/busybox /usr/bin/ndctl /usr/bin/daxctl /usr/bin/cxl
            /usr/sbin/qemu-ga /usr/bin/fusermount3)

# Our binaries: whichever exist (the famfs ones are written in parallel).
our_tools=(famfs mkfs.famfs famfs_fused labmem)

log() { echo "vm-image: $*" >&2; }

kernel_package() {
    if [ -n "${KERNEL_PKG:-}" ]; then echo "$KERNEL_PKG"; return; fi
    local pkg
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
        # A fresh machine may have no package lists yet.
        apt-get update -q >&2 || true
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
              awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    fi
    if [ -z "$pkg" ]; then
        # No apt lists (offline): fall back to the newest cached kernel.
        pkg=$(ls "$cache" 2>/dev/null | sed -n 's/_.*//; /^linux-image-[0-9]/p' |
              sort -V | tail -n1)
    fi
    [ -n "$pkg" ] || { log "cannot find the kernel package (run apt-get update)"; exit 1; }
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
        modprobe -C "$noconf" -d "$kroot" -S "$kver" --show-depends "$m" |
            awk '$1 == "insmod" {print $2}'
    done | awk '!seen[$0]++' | while read -r ko; do
        rel=${ko#"$kroot/lib/modules/$kver/"}
        mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
        cp "$ko" "$root/lib/modules/$kver/$rel"
        echo "$rel"
    done > "$root/etc/lab/modules"
    rmdir "$noconf"
    cp "$kroot/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$root/lib/modules/$kver/"
    depmod -b "$root" "$kver"
}

stage_binaries() {
    local root=$1; shift
    local bin lib applet
    mkdir -p "$root/bin" "$root/usr/bin" "$root/usr/sbin" "$root/sbin"
    for bin in "$@"; do
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

main() {
    local start pkg deb kver bins hash root kroot
    start=$(date +%s.%N)
    pkg=$(kernel_package)
    deb=$(fetch_kernel_deb "$pkg")
    mapfile -t bins < <(guest_binaries)
    hash=$( { sha256sum "$here/build.sh" "$here/init" "$deb" "${bins[@]}" $(shared_libs "${bins[@]}") |
              awk '{print $1}'; printf '%s\n' "${modules[@]}"; } | sha256sum | awk '{print $1}')
    if [ -f "$out/inputs.sha256" ] && [ "$(cat "$out/inputs.sha256")" = "$hash" ] &&
       [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio" ]; then
        log "up to date ($out)"
        return
    fi
    root=$(mktemp -d "$build_dir/vm-stage.XXXXXX")
    stage_dir=$root
    trap 'rm -rf "$stage_dir"' EXIT
    kroot=$(extracted_kernel "$deb")
    mkdir -p "$root/rootfs"
    kver=$(ls "$kroot/lib/modules" | head -n1)
    stage_modules "$root/rootfs" "$kroot" "$kver"
    stage_binaries "$root/rootfs" "${bins[@]}"
    stage_etc "$root/rootfs"
    pack_cpio "$root/rootfs" "$out/initramfs.cpio"
    cp "$kroot/boot/vmlinuz-$kver" "$out/vmlinuz"
    echo "$hash" > "$out/inputs.sha256"
    echo "$kver" > "$out/kernel.version"
    log "built $out (kernel $kver, initramfs $(du -h "$out/initramfs.cpio" | cut -f1)) in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}') s"
}

main
