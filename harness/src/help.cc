#include "help.h"

namespace lab {

const char* const kHelpText = R"(harness - the famfs multi-host QEMU lab

Boots several QEMU guests that share one memory region (CXL type-3, nvdimm,
virtio-pmem or ivshmem), gives every guest the same device name /dev/famfs0
for it, and runs commands in the guests through qemu-guest-agent.

USAGE
  harness [--run-dir DIR] COMMAND [ARGS]
  harness --help | --version

  The run directory (default out/lab/current, or $LAB_RUN_DIR) holds the
  state of one lab, so separate invocations cooperate: `up` leaves the QEMUs
  running in the background, the other commands find them there.

LAB LIFE CYCLE
  up TOPOLOGY [--qemu Q] [--kernel K] [--image DIR] [--timeout S] [--keep-on-failure]
      Boot every host of TOPOLOGY in parallel (a name from topologies/, or a
      path), wait until each guest agent answers, then provision the shared
      device: the master creates the devdax namespace / CXL region, the other
      hosts attach to it. Afterwards /dev/famfs0 exists in every guest.
      The stack (default: the topology's qemu/kernel keys, else system + 6.1):
        --qemu system|10|11|PATH   the machine's QEMU, QEMU 10.0 from
                                   bookworm-backports, QEMU 11 from trixie-
                                   backports (both fetched into a cache on
                                   first use), or a qemu-system-x86_64 of yours
        --kernel 6.1|6.12|VERSION  the guest image built for that kernel
      Images live in DIR/KERNEL (DIR: $LAB_IMAGE or BUILD/vm-image; build
      them with make vm-image). The stack's capabilities and the decisions
      taken from them go to RUN/stack.txt; a topology the stack cannot run is
      refused before anything starts.
      On failure or Ctrl-C everything is torn down (logs are kept).
  down                     Stop every QEMU and delete the shared memory file.
  status                   Per host: pid, VM state (running/paused), agent.
  hosts                    Host names, one per line, master first.
  topologies               List the topologies the harness can find.

RUNNING THINGS IN GUESTS
  exec --host H [--timeout S] [--stdin FILE] -- CMD...
      Run CMD with /bin/sh -c in guest H (several words are shell-quoted and
      joined). The guest's stdout and stderr arrive separately; the exit
      status is the command's (128+N for signal N). Default timeout 120 s:
      the command is then killed and the exit status is 124. Exit 125 means
      the harness could not run it (host down, agent silent; a host paused
      by `stop` is refused at once, until `cont`).

  console --host H [--timeout S] [-- CMD...]
      The serial console: the fallback when the guest agent is dead. With
      CMD, runs it in the console shell and returns its exit status (output
      is best effort: stdout and stderr mixed); without, relays your terminal
      until Ctrl-D. Everything the console prints is in hosts/H/console.log.

FAULTS AND MACHINE CONTROL
  stop --host H            Freeze the guest (QMP stop): it keeps its stale
                           view of shared memory until `cont`.
  cont --host H            Let it run again.
  crash --host H [--how quit|reset|kill]
                           Take a host down abruptly (default quit: QEMU
                           exits now, like a power loss). The shared memory
                           survives; bring the host back with `restart`.
  restart --host H         Boot a crashed host again and re-attach it.
  qmp --host H CMD [JSON]  Send one QMP command; prints the JSON reply.
  hmp --host H "LINE"      One human monitor command (e.g. "info mtree",
                           "mce 0 9 0xbd000000000000c0 0x5 GPA 0x86").
  caps [--host H] [--qemu Q] [--kernel K] [--topology T]
                           What the stack can do: QMP commands, device
                           properties, guest kernel features, and the
                           decisions the lab takes from them. With a lab up:
                           its stack, plus what host H's kernel shows live.

  inject poison --host H [--file PATH] --offset N
         [--method auto|mce|hwpoison|cxl-poison-list] [--only]
                           Poison the page at device offset N of /dev/famfs0
                           (or at offset N of famfs file PATH, resolved on H)
                           on EVERY host of the lab (poison belongs to the
                           memory; --only: on H alone). mce: an SRAO machine
                           check at each guest's physical address; hwpoison:
                           in-guest debugfs; both reach memory_failure().
                           auto: mce with an Intel-vendor CPU, else hwpoison.
                           cxl-poison-list: QMP cxl-inject-poison, only an
                           entry in the CXL device's poison list (the data
                           stays readable; guests see it by reading the list).
  inject general-media-event --host H [--file PATH] --offset N
                           A CXL general media event record (uncorrectable
                           ECC on a host read) at that address of H's device.
  inject uncorrectable-error --host H
                           A CXL uncorrectable (AER) error of H's device.
  inject notify-failure --host H [--mount DIR] [--reason TEXT]
                           Tell H's famfs_fused the device failed: writes
                           "notify-failure TEXT" to DIR/.meta/.control
                           (DIR default /mnt/famfs). Files there then give EIO.

LOGS
  logs [--host H] [--lines N] [--transcript]
      Guest serial console logs (RUN/hosts/H/console.log) or the transcript
      of every command run (RUN/transcript.log, .jsonl).

INSIDE EVERY GUEST
  /dev/famfs0              the shared memory (-> /dev/dax0.0, or the ivshmem
                           BAR file /sys/bus/pci/devices/BDF/resource2)
  /usr/bin                 famfs, mkfs.famfs, famfs_fused, labmem (as built),
                           ndctl, daxctl, cxl, fusermount3; busybox in /bin
  /mnt/famfs               the mount point the scenarios use
  /opt/famfs/system_uuid   this host's famfs identity, kept across restarts
  labmem fill|check|memset|peek|poke|phys|size DEV ...
                           map DEV MAP_SHARED and write/compare bytes

EXAMPLES
  make vm-image && build/bin/harness up cxl2
  build/bin/harness exec --host node2 -- labmem check /dev/famfs0 --offset 64M --length 1M --seed 7
  build/bin/harness stop --host node2; ...; build/bin/harness cont --host node2
  build/bin/harness down
)";

}  // namespace lab
