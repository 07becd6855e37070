#!/usr/bin/env bash
# The cgroup v2 stage: boots Debian's cloud kernel under qemu (software emulation) with a
# busybox initramfs, shares this machine's root filesystem read-only into the guest over
# virtiofs (under a writable layer in guest memory), and runs tests/vm/guest.sh there with the
# shared root as its root, so the guest runs the freshly built binaries with this machine's
# libraries. The guest has a real cgroup2
# hierarchy with cpu, memory and pids; this host binds them to cgroup v1.
#
#   scripts/vm-test.sh [BUILD_DIR]             (default: build; run as root)
#   scripts/vm-test.sh --bench RUNS [BUILD_DIR]  the cgroup cost benchmark instead of the tests
#                                                (both boots: sites nsbox finds, systemd scopes)
#
# The tests boot twice: with a plain init (cgroups a delegated directory or the root subtree),
# then with systemd as init, where nsbox has to ask systemd for a scope over D-Bus.
# Exit status: 0 when every guest passed (every limit test as root and as the unprivileged user
# nsboxtest), 1 when a guest failed or could not run the tests.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
guest_args=()
bench=0
if [[ ${1:-} == --bench ]]; then
    bench=1
    guest_args=(--bench "$2")
    shift 2
fi
build=$(cd "${1:-$repo/build}" && pwd)
if ((bench)); then
    systemd_guest_args=(--bench-systemd "${guest_args[1]}" "$build")
    guest_args+=("$build")
else
    systemd_guest_args=(--systemd "$build")
    guest_args=("$build" "$repo")
fi
cache=${NSBOX_VM_CACHE:-/var/cache/nsbox-vm}
catalog=${NSBOX_ESCAPE_CATALOG:-}
if [[ -z $catalog ]]; then
    for dir in "$repo/../shared/escape" /work/shared/escape; do
        [[ -f $dir/run.py ]] && { catalog=$(cd "$dir" && pwd); break; }
    done
fi
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci fuse virtiofs
         overlay)

say() { printf '== vm: %s\n' "$*"; }

if [[ $(id -u) != 0 ]]; then
    echo "vm-test.sh: run as root (it starts virtiofsd and installs packages)" >&2
    exit 1
fi
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[[ -x /usr/lib/qemu/virtiofsd ]] || missing+=(qemu-system-common)
[[ -x /bin/busybox ]] && /bin/busybox --list 2>/dev/null | grep -qx insmod || missing+=(busybox-static)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

# The kernel package, unpacked next to nothing of the host's /boot.
package=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[[ -n $package ]] || { echo "vm-test.sh: no linux-image-cloud-amd64 in apt" >&2; exit 1; }
kernel_dir=$cache/$package
if [[ ! -d $kernel_dir ]]; then
    say "downloading $package"
    mkdir -p "$cache"
    download=$(mktemp -d "$cache/download.XXXXXX")
    (cd "$download" && apt-get download -q "$package" >/dev/null)
    dpkg-deb -x "$download"/*.deb "$download/root"
    mv "$download/root" "$kernel_dir"
    rm -rf "$download"
fi
vmlinuz=$(ls "$kernel_dir"/boot/vmlinuz-*)
module_root=$(ls -d "$kernel_dir"/lib/modules/*)

work=$(mktemp -d /tmp/nsbox-vm.XXXXXX)
virtiofsd_pid=
cleanup() {
    [[ -n $virtiofsd_pid ]] && kill "$virtiofsd_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# initramfs: busybox, the virtio/virtiofs/overlay modules and an init that mounts the shared
# root, prepares it for a chroot and runs the guest script.
initramfs=$work/initramfs
mkdir -p "$initramfs"/{bin,dev,proc,sys,host,modules}
cp /bin/busybox "$initramfs/bin/"
for tool in sh mount insmod mkdir ip poweroff switch_root cat echo; do
    ln -s busybox "$initramfs/bin/$tool"
done
for module in "${modules[@]}"; do
    cp "$(find "$module_root" -name "$module.ko" | head -n1)" "$initramfs/modules/"
done
cat >"$initramfs/init" <<INIT
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${modules[*]}; do insmod /modules/\$m.ko || echo "insmod \$m failed"; done
# The host's root, read-only, under a memory-backed writable layer: the guest sees every host
# file (the build, the checkout, users) and writes only to its own memory.
mkdir -p /lower /rw
mount -t virtiofs -o ro host /lower || { echo "NSBOX-VM-RESULT=1"; poweroff -f; }
mount -t tmpfs tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /host ||
    { echo "NSBOX-VM-RESULT=1"; poweroff -f; }
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
mount -t tmpfs tmpfs /host/run
ip link set lo up
# switch_root, not chroot: the kernel refuses user namespaces to a chrooted process.
if grep -q nsbox.init=systemd /proc/cmdline; then
    # systemd as init, told (systemd.unit=) to start only what the test needs: it runs as a
    # service after logins are allowed, on the serial console.
    units=/host/etc/systemd/system
    printf '%s\n' '[Unit]' 'Requires=nsbox-vm.service' 'After=nsbox-vm.service' \
        'AllowIsolate=yes' >\$units/nsbox-vm.target
    printf '%s\n' '[Unit]' 'Wants=systemd-logind.service systemd-user-sessions.service' \
        'After=systemd-logind.service systemd-user-sessions.service dbus.socket' \
        '[Service]' 'Type=oneshot' 'TimeoutStartSec=infinity' 'StandardOutput=tty' \
        'StandardError=inherit' 'TTYPath=/dev/ttyS0' 'TTYReset=no' \
        "ExecStart=/bin/sh -c '/bin/sh $repo/tests/vm/guest.sh ${systemd_guest_args[*]}; \
echo NSBOX-VM-RESULT=\\\$\\\$?; echo o >/proc/sysrq-trigger'" >\$units/nsbox-vm.service
    # A container marker in the shared root would make systemd ignore the kernel command line,
    # and tmpfiles' boot-time clean-up of /tmp would hide the build when it lives there.
    rm -f /host/.dockerenv
    mkdir -p /host/etc/tmpfiles.d
    : >/host/etc/tmpfiles.d/tmp.conf
    umount /host/dev/pts /host/dev/shm /host/run
    exec switch_root /host /lib/systemd/systemd
fi
exec switch_root /host /bin/sh -c \
    "/bin/sh $repo/tests/vm/guest.sh ${guest_args[*]} $catalog; echo NSBOX-VM-RESULT=\\\$?; \
     echo o >/proc/sysrq-trigger; sleep 10"
INIT
chmod +x "$initramfs/init"
(cd "$initramfs" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$work/initramfs.cpio.gz"

# Boots the guest once; extra kernel arguments choose its init. Sets guest_result.
boot() {  # LABEL [KERNEL_ARG...]
    local label=$1 memory=3G
    shift
    # virtiofsd serves one guest and exits with it.
    rm -f "$work/virtiofs.sock"
    /usr/lib/qemu/virtiofsd --socket-path="$work/virtiofs.sock" -o source=/ -o cache=always \
        -o sandbox=chroot >"$work/virtiofsd.log" 2>&1 &
    virtiofsd_pid=$!
    for _ in $(seq 50); do [[ -S $work/virtiofs.sock ]] && break; sleep 0.1; done
    say "booting $(basename "$vmlinuz") with $label (software emulation, 2 CPUs)"
    timeout 900 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m $memory -nographic -no-reboot \
        -kernel "$vmlinuz" -initrd "$work/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init $*" \
        -object memory-backend-memfd,id=mem,size=$memory,share=on -numa node,memdev=mem \
        -chardev socket,id=fs,path="$work/virtiofs.sock" \
        -device vhost-user-fs-pci,chardev=fs,tag=host </dev/null | tee "$work/console.log" |
        grep --line-buffered -av '^\s*$' || true
    guest_result=$(grep -ao 'NSBOX-VM-RESULT=[0-9]*' "$work/console.log" | tail -n1 | cut -d= -f2)
    if [[ -z $guest_result ]]; then
        echo "vm-test.sh: the guest ($label) did not report a result (see its console above)" >&2
        sed "s/^/virtiofsd: /" "$work/virtiofsd.log" >&2
        guest_result=1
    fi
    kill "$virtiofsd_pid" 2>/dev/null || true
    wait "$virtiofsd_pid" 2>/dev/null || true
    virtiofsd_pid=
    say "guest result ($label): $guest_result"
}

# NSBOX_VM_BOOTS picks the boots ("plain", "systemd"; default both) when working on one.
boots=${NSBOX_VM_BOOTS:-plain systemd}
status=0
if [[ " $boots " == *" plain "* ]]; then
    boot "a plain init"
    ((guest_result == 0)) || status=1
fi
if [[ " $boots " == *" systemd "* ]]; then
    boot "systemd as init" nsbox.init=systemd systemd.unit=nsbox-vm.target \
        systemd.show_status=error systemd.log_level=warning
    ((guest_result == 0)) || status=1
fi
exit "$status"
