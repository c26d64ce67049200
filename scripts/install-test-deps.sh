#!/usr/bin/env bash
# Installs the Debian packages the tests start as real peers, and nothing
# else: openipmi (ipmi_sim, the IPMI BMC simulator) and ipmitool (the
# independent client the IPMI tests cross-check with); chromium (the
# browser the console's tests drive); qemu-system-x86 (the emulated
# machine of the network-boot test, whose iPXE NIC ROMs come with it in
# ipxe-qemu), and what scripts/build-ramdisk.sh runs: dpkg-deb and
# apt-get download are always there, and the initramfs is packed by a Go
# program of ours. The Redfish tests need no package: their service runs
# in the test process.
#
# Safe to run again: it does nothing when every package is installed.
# Needs root (CI is root) or sudo. .ci/run calls it; by hand:
#   sudo scripts/install-test-deps.sh
set -euo pipefail

packages=(openipmi ipmitool chromium qemu-system-x86 ipxe-qemu)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: ${packages[*]} already installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo env DEBIAN_FRONTEND=noninteractive)
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing ${missing[*]}"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps: ${missing[*]} installed"
