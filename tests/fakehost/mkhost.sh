#!/bin/bash
# mkhost.sh ROOT VENDOR COUNT [UVM_MAJOR]
# Build a fake host under ROOT with COUNT GPUs of VENDOR (nvidia|amd|intel):
# PCI sysfs entries, DRM sysfs links, /proc/devices, /proc/driver/nvidia,
# mknod-made device nodes with the real numbering, and (nvidia) driver
# libraries and binaries.  Needs root for mknod.  Calling it again with
# another vendor adds to the same host.
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
  printf 'Character devices:\n  1 mem\n  4 /dev/vc/0\n  5 /dev/tty\n136 pts\n195 nvidia-frontend\n226 drm\n%s nvidia-uvm\n%s nvidia-caps\n%s kfd\n\nBlock devices:\n  8 sd\n259 blkext\n' \
    "$uvm" "$((uvm - 1))" "$((uvm - 2))" > "$root/proc/devices"
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
  mkdir -p "$root/proc/driver/nvidia" "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin" "$root/lib/firmware/nvidia/550.54.15"
  echo "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024" > "$root/proc/driver/nvidia/version"
  [ -e "$root/dev/nvidiactl" ] || mknod "$root/dev/nvidiactl" c 195 255
  [ -e "$root/dev/nvidia-modeset" ] || mknod "$root/dev/nvidia-modeset" c 195 254
  [ -e "$root/dev/nvidia-uvm" ] || mknod "$root/dev/nvidia-uvm" c "$uvm" 0
  [ -e "$root/dev/nvidia-uvm-tools" ] || mknod "$root/dev/nvidia-uvm-tools" c "$uvm" 1
  for l in libcuda libnvidia-ml libnvidia-ptxjitcompiler; do
    echo "fake $l" > "$root/usr/lib/x86_64-linux-gnu/$l.so.550.54.15"
    ln -sfn "$l.so.550.54.15" "$root/usr/lib/x86_64-linux-gnu/$l.so.1"
  done
  printf '#!/bin/sh\necho fake nvidia-smi\n' > "$root/usr/bin/nvidia-smi"; chmod +x "$root/usr/bin/nvidia-smi"
  echo fw > "$root/lib/firmware/nvidia/550.54.15/gsp_ga10x.bin"
elif [ "$vendor" = amd ]; then
  [ -e "$root/dev/kfd" ] || mknod "$root/dev/kfd" c "$((uvm - 2))" 0
fi
