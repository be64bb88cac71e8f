#!/usr/bin/env bash
# devbroker-rdkafka.sh OUT_DIR — builds the librdkafka that the benchmark's dev broker links: Debian's own
# source of the installed version (2.0.2, the orig tarball from deb.debian.org, checked by its SHA-256) with
# devbroker/librdkafka-2.0.2-mock.patch applied, as a static library OUT_DIR/lib/librdkafka.a. Prints its path.
#
# Why: librdkafka's mock cluster finds a fetch's message set by walking the partition's sets from the oldest
# (up to 5 MB of them; "FIXME: Maintain an index" in its source) and answers a fetch with one set per
# partition. Over a benchmark's tens of thousands of small sets, the walk became most of the broker's CPU and
# the broker's cost per request grew the longer it ran (docs/performance.md). The patch searches from the
# newest set and answers with as many consecutive sets as fit the fetch's limits; and a fetch that found
# nothing, held for its MaxWait, is handled again when a produce appends to one of its partitions, so that
# its answer carries the new data (a long poll, as Kafka does). Only the mock (the dev
# broker) changes: the services keep linking Debian's librdkafka. Production uses a real Kafka cluster.
#
# The tarball is cached in ~/.cache/emtiaz; the build is reused while OUT_DIR/lib/librdkafka.a is newer than
# the patch. Needs network access to deb.debian.org once (scripts/bench.sh falls back to the stock mock
# when this fails).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: devbroker-rdkafka.sh OUT_DIR}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
VERSION=2.0.2
SHA256=f321bcb1e015a34114c83cf1aa7b99ee260236aab096b85c003170c90a47ca9d
PATCH="$REPO/devbroker/librdkafka-$VERSION-mock.patch"
LIB="$OUT/lib/librdkafka.a"
if [[ -f "$LIB" && "$LIB" -nt "$PATCH" ]]; then echo "$LIB"; exit 0; fi

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/emtiaz"
TARBALL="$CACHE/librdkafka_$VERSION.orig.tar.gz"
mkdir -p "$CACHE"
if [[ ! -f "$TARBALL" ]] || ! echo "$SHA256  $TARBALL" | sha256sum -c --quiet - 2>/dev/null; then
    curl -fsS -m 120 -o "$TARBALL.part" "http://deb.debian.org/debian/pool/main/libr/librdkafka/librdkafka_$VERSION.orig.tar.gz"
    echo "$SHA256  $TARBALL.part" | sha256sum -c --quiet - || { echo "devbroker-rdkafka: checksum mismatch" >&2; exit 1; }
    mv "$TARBALL.part" "$TARBALL"
fi
SRC="$OUT/src"
rm -rf "$SRC"
mkdir -p "$SRC"
tar xzf "$TARBALL" -C "$SRC" --strip-components=1
patch -s -d "$SRC" -p1 <"$PATCH"
# Only what the mock needs: no TLS, SASL or compression libraries (the services send uncompressed batches).
cmake -S "$SRC" -B "$SRC/_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DRDKAFKA_BUILD_STATIC=ON \
    -DRDKAFKA_BUILD_EXAMPLES=OFF -DRDKAFKA_BUILD_TESTS=OFF -DWITH_SSL=OFF -DWITH_SASL=OFF -DWITH_ZSTD=OFF \
    -DWITH_ZLIB=OFF -DENABLE_LZ4_EXT=OFF -DWITH_CURL=OFF \
    $(command -v ccache >/dev/null && echo -DCMAKE_C_COMPILER_LAUNCHER=ccache) >/dev/null
nice cmake --build "$SRC/_build" -j2 --target rdkafka >/dev/null
mkdir -p "$OUT/lib"
cp "$SRC/_build/src/librdkafka.a" "$LIB"
echo "$LIB"
