#!/usr/bin/env bash
# Installs the Debian packages Kiln's tests use (the one list of them); already installed ones are skipped.
# Debian 12 (see ../shared/TESTENV.md). Runs apt-get as root, through sudo when not root.
# Usage: scripts/install-test-deps.sh [--check]   (--check: only list what is missing; exit 1 if anything is)
set -euo pipefail

packages=(
  docker-registry apache2-utils openssl   # real registry, htpasswd, test CA
  skopeo umoci tar                        # independent OCI readers/writers used as test oracles
  busybox-static debootstrap              # offline base images
  git pigz zstd bzip2 xz-utils            # context sources, compression references
  libcap2-bin attr                        # setcap/capsh, getfattr/setfattr: file capabilities and xattrs
  e2fsprogs                               # lsattr/chattr: ext4 top-directory flags (src/fs/top-dirs.ts)
  qemu-user-static                        # arm64 RUN steps of the multi-platform tests (binfmt registered per test, in a private user namespace)
)
# dockerd for the `docker load` test of --tar-path archives (the test starts its own daemon on a private socket).
# Installed with its recommends (apparmor, cgroupfs-mount, ...), as it was verified on these machines.
with_recommends=(docker.io)

# moto's server stands in for AWS ECR in the ecr-login tests. Debian 12 has no python3-moto; these machines
# have it (pip, under pyenv). Elsewhere pip installs it where PyPI is reachable.
if ! command -v moto_server >/dev/null; then
  if [ "${1:-}" = "--check" ]; then echo "test dependencies missing: moto_server (pip install 'moto[server]')"; exit 1; fi
  python3 -m pip install -q 'moto[server]' || echo "warning: moto_server is missing and pip could not install it: the ECR tests will fail" >&2
fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
missing_with_recommends=()
for p in "${with_recommends[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing_with_recommends+=("$p"); done
if [ ${#missing[@]} -eq 0 ] && [ ${#missing_with_recommends[@]} -eq 0 ]; then
  echo "test dependencies: all installed"
  exit 0
fi
echo "test dependencies missing: ${missing[*]} ${missing_with_recommends[*]}"
[ "${1:-}" != "--check" ] || exit 1

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install them as root (no sudo here)" >&2; exit 1; }
  as_root=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
[ ${#missing[@]} -eq 0 ] || "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=900 --no-install-recommends "${missing[@]}" >/dev/null
[ ${#missing_with_recommends[@]} -eq 0 ] || "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=900 "${missing_with_recommends[@]}" >/dev/null
echo "test dependencies: installed"
