#!/bin/bash
# mkhost.sh ROOT VENDOR COUNT [UVM_MAJOR]
# Build a fake host under ROOT with COUNT GPUs of VENDOR (nvidia|amd|intel):
# PCI sysfs entries, DRM sysfs links, /proc/devices, /proc/driver/nvidia,
# mknod-made device nodes with the real numbering, and (nvidia) driver
# libraries and binaries.  Needs root for mknod.  Calling it again with
# another vendor adds to the same host.
# Environment (nvidia):
#   MIG=1      GPU 0 in MIG mode with two GPU instances (GI 1 and 2, CI 0
#              each): /proc/driver/nvidia/capabilities/gpu0/mig/gi*/ci*/access,
#              /proc/driver/nvidia-caps/mig-minors and /dev/nvidia-caps nodes
#   IMEX=N     N IMEX channels /dev/nvidia-caps-imex-channels/channel0..N-1
#   LIBDIR=D   driver libraries in D (default /usr/lib/x86_64-linux-gnu)
#   REALLIBS=1 the libraries are real ELF objects built with gcc
#              (-Wl,-soname,libcuda.so.1; cuInit returns 42)
set -eu
root=$1 vendor=$2 count=$3 uvm=${4:-509}
mkdir -p "$root/proc" "$root/dev/dri" "$root/sys/bus/pci/devices" "$root/sys/class/drm" "$root/sys/bus/pci/drivers"
case $vendor in
  nvidia) vid=0x10de class=0x030200 drv=nvidia bus=1 ;;
  amd) vid=0x1002 class=0x030000 drv=amdgpu bus=3 ;;
  intel) vid=0x8086 class=0x030000 drv=i915 bus=5 ;;
  *) echo "unknown vendor $vendor" >&2; exit 2 ;;
esac
# /proc/devices: fixed majors plus the dynamic ones of this boot
if [ ! -f "$root/proc/devices" ]; then
  printf 'Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n195 nvidia-frontend\n226 drm\n%s nvidia-uvm\n%s nvidia-caps\n%s kfd\n%s nvidia-caps-imex-channels\n\nBlock devices:\n  8 sd\n259 blkext\n' \
    "$uvm" "$((uvm - 1))" "$((uvm - 2))" "$((uvm - 3))" > "$root/proc/devices"
fi
mkdir -p "$root/sys/bus/pci/drivers/$drv"
# card numbers continue after existing DRM cards
card=$(ls "$root/sys/class/drm" 2>/dev/null | grep -c '^card' || true)
for i in $(seq 0 $((count - 1))); do
  pci=$(printf '0000:%02x:%02x.0' $((bus + i / 32)) $((i % 32)))
  d=$root/sys/bus/pci/devices/$pci
  mkdir -p "$d"
  echo "$class" > "$d/class"; echo "$vid" > "$d/vendor"; printf '0x%04x\n' $((0x2330 + i)) > "$d/device"
  ln -sfn "../../../bus/pci/drivers/$drv" "$d/driver"
  if [ "$vendor" = nvidia ]; then
    mkdir -p "$root/proc/driver/nvidia/gpus/$pci"
    printf 'Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 42\nGPU UUID: \t GPU-%08x-1111-2222-3333-44444444444%d\nVideo BIOS: \t 96.00.99.00.01\nBus Type: \t PCIe\nDevice Minor: \t %d\nBus Location: \t %s\n' \
      $((0xabc0 + i)) $((i % 10)) "$i" "$pci" > "$root/proc/driver/nvidia/gpus/$pci/information"
    [ -e "$root/dev/nvidia$i" ] || mknod "$root/dev/nvidia$i" c 195 "$i"
  else
    c=$((card + i)); r=$((128 + card + i))
    mkdir -p "$root/sys/class/drm/card$c" "$root/sys/class/drm/renderD$r"
    ln -sfn "../../../bus/pci/devices/$pci" "$root/sys/class/drm/card$c/device"
    ln -sfn "../../../bus/pci/devices/$pci" "$root/sys/class/drm/renderD$r/device"
    [ -e "$root/dev/dri/card$c" ] || mknod "$root/dev/dri/card$c" c 226 "$c"
    [ -e "$root/dev/dri/renderD$r" ] || mknod "$root/dev/dri/renderD$r" c 226 "$r"
    [ "$vendor" = amd ] && echo "AMD Instinct MI300X" > "$d/product_name"
  fi
done
if [ "$vendor" = nvidia ]; then
  libdir=${LIBDIR:-/usr/lib/x86_64-linux-gnu}
  mkdir -p "$root/proc/driver/nvidia" "$root$libdir" "$root/usr/bin" "$root/lib/firmware/nvidia/550.54.15"
  echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024" > "$root/proc/driver/nvidia/version"
  [ -e "$root/dev/nvidiactl" ] || mknod "$root/dev/nvidiactl" c 195 255
  [ -e "$root/dev/nvidia-modeset" ] || mknod "$root/dev/nvidia-modeset" c 195 254
  [ -e "$root/dev/nvidia-uvm" ] || mknod "$root/dev/nvidia-uvm" c "$uvm" 0
  [ -e "$root/dev/nvidia-uvm-tools" ] || mknod "$root/dev/nvidia-uvm-tools" c "$uvm" 1
  for l in libcuda libnvidia-ml libnvidia-ptxjitcompiler; do
    if [ "${REALLIBS:-}" = 1 ]; then
      # No libc dependency (-nostdlib): a static test program can dlopen it.
      echo 'int cuInit (unsigned f) { return 42 + (int) f; }' > "$root/.fake-$l.c"
      gcc -shared -fPIC -nostdlib -Wl,-soname,$l.so.1 -o "$root$libdir/$l.so.550.54.15" "$root/.fake-$l.c"
      rm -f "$root/.fake-$l.c"
    else
      echo "fake $l" > "$root$libdir/$l.so.550.54.15"
    fi
    ln -sfn "$l.so.550.54.15" "$root$libdir/$l.so.1"
  done
  capmaj=$((uvm - 1))
  if [ "${MIG:-}" = 1 ]; then
    # minors as the driver numbers them: config 1, monitor 2, then per GPU
    # instance gpuG/giN/access and gpuG/giN/ciC/access
    mkdir -p "$root/proc/driver/nvidia-caps" "$root/dev/nvidia-caps"
    printf 'config 1\nmonitor 2\ngpu0/gi1/access 12\ngpu0/gi1/ci0/access 13\ngpu0/gi2/access 21\ngpu0/gi2/ci0/access 22\n' \
      > "$root/proc/driver/nvidia-caps/mig-minors"
    for gc in 1:12:13 2:21:22; do
      IFS=: read -r gi gm cm <<<"$gc"
      d=$root/proc/driver/nvidia/capabilities/gpu0/mig/gi$gi
      mkdir -p "$d/ci0"
      printf 'DeviceFileMinor: %s\nDeviceFileMode: 292\nDeviceFileModify: 1\n' "$gm" > "$d/access"
      printf 'DeviceFileMinor: %s\nDeviceFileMode: 292\nDeviceFileModify: 1\n' "$cm" > "$d/ci0/access"
      [ -e "$root/dev/nvidia-caps/nvidia-cap$gm" ] || mknod "$root/dev/nvidia-caps/nvidia-cap$gm" c "$capmaj" "$gm"
      [ -e "$root/dev/nvidia-caps/nvidia-cap$cm" ] || mknod "$root/dev/nvidia-caps/nvidia-cap$cm" c "$capmaj" "$cm"
    done
  fi
  if [ -n "${IMEX:-}" ]; then
    mkdir -p "$root/dev/nvidia-caps-imex-channels"
    for c in $(seq 0 $((IMEX - 1))); do
      [ -e "$root/dev/nvidia-caps-imex-channels/channel$c" ] || mknod "$root/dev/nvidia-caps-imex-channels/channel$c" c "$((uvm - 3))" "$c"
    done
  fi
  printf '#!/bin/sh\necho fake nvidia-smi\n' > "$root/usr/bin/nvidia-smi"; chmod +x "$root/usr/bin/nvidia-smi"
  echo fw > "$root/lib/firmware/nvidia/550.54.15/gsp_ga10x.bin"
elif [ "$vendor" = amd ]; then
  [ -e "$root/dev/kfd" ] || mknod "$root/dev/kfd" c "$((uvm - 2))" 0
fi
