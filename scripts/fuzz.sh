#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...] — build the libFuzzer targets (fuzz/) with clang, ASan and UBSan into
# build-fuzz/, then run each target (default: all) for SECONDS (default 30) on a copy of its seed corpus
# fuzz/corpus/<target>/; new corpus entries stay in build-fuzz/corpus/, never in the repository.
# Prints one line per target (runs, crashes) and exits non-zero on any crash or build failure; a crashing
# input is saved as build-fuzz/crashes/<target>/crash-* with its log next to it.
# FUZZ_JOBS=N builds with N jobs (default: nproc); FUZZ_ARGS adds libFuzzer flags to every run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

seconds="${1:-30}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "fuzz: SECONDS must be a positive integer" >&2; exit 2; }

# clang 14 and its runtime libraries (libFuzzer, sanitizers): Debian packages, installed quietly if missing.
need=()
for pkg in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || need+=("$pkg")
done
if ((${#need[@]})); then
    echo "fuzz: installing ${need[*]}" >&2
    SUDO=()
    ((EUID == 0)) || SUDO=(sudo)
    log="$(mktemp /tmp/emtiaz-fuzz-deps.XXXXXX.log)"
    if ! { DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get update -qq &&
           DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
        echo "fuzz: apt-get failed; last lines of $log:" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
    rm -f "$log"
fi
scripts/install-deps.sh

BUILD="$REPO/build-fuzz"
mkdir -p "$BUILD"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
configure_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link $san"
    "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link $san"
    "-DCMAKE_EXE_LINKER_FLAGS=$san"
    "-DCMAKE_SHARED_LINKER_FLAGS=$san"
    # The tree is -Werror under g++; clang warns about other things (e.g. -Wgnu-statement-expression in
    # librdkafka's macros), so warnings stay warnings here: -Wno-error goes after every target's -Werror.
    "-DCMAKE_CXX_COMPILE_OBJECT=<CMAKE_CXX_COMPILER> <DEFINES> <INCLUDES> <FLAGS> -Wno-error -o <OBJECT> -c <SOURCE>")
stamp="$BUILD/emtiaz-configure.args"
if [[ ! -f "$BUILD/build.ninja" || ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "${configure_args[*]}" ]]; then
    if ! cmake -S . -B "$BUILD" "${configure_args[@]}" >"$BUILD/emtiaz-configure.log" 2>&1; then
        echo "fuzz: cmake configure failed ($BUILD/emtiaz-configure.log):" >&2
        tail -n 40 "$BUILD/emtiaz-configure.log" >&2
        rm -f "$stamp"
        exit 1
    fi
    printf '%s' "${configure_args[*]}" >"$stamp"
fi

targets=("$@")
if ((${#targets[@]} == 0)); then
    for d in fuzz/corpus/*/; do targets+=("$(basename "$d")"); done
fi

start=$SECONDS
echo "fuzz: building ${#targets[@]} target(s) into build-fuzz/ ..." >&2
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
if ! cmake --build "$BUILD" -j "${FUZZ_JOBS:-$(nproc)}" --target "${build_targets[@]}" >"$BUILD/emtiaz-build.log" 2>&1; then
    echo "fuzz: build failed ($BUILD/emtiaz-build.log):" >&2
    grep -v '^\[[0-9]*/[0-9]*\] ' "$BUILD/emtiaz-build.log" | tail -n 80 >&2
    exit 1
fi
echo "fuzz: built in $((SECONDS - start))s; running each target for ${seconds}s" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in "${targets[@]}"; do
    bin="$BUILD/fuzz/fuzz_$t"
    seeds="$REPO/fuzz/corpus/$t"
    work="$BUILD/corpus/$t"
    crashes="$BUILD/crashes/$t"
    log="$BUILD/logs/$t.log"
    mkdir -p "$work" "$crashes" "$(dirname "$log")"
    # A copy: libFuzzer adds what it finds to the first corpus folder, and the seed folder stays as checked in.
    [[ -d "$seeds" ]] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
    touch "$crashes/.run-started"
    rc=0
    # -rss_limit_mb: two cores and a shared machine; -max_len: bodies are small (the server's limit is 1 MiB,
    # but every parser here rejects or walks input linearly, so 4 KiB exercises the same code).
    (cd "$crashes" && "$bin" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=1536 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$crashes/" ${FUZZ_ARGS:-} "$work") >"$log" 2>&1 || rc=$?
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n 1 || true)"
    [[ -n "$runs" ]] || runs="$(grep -Eo '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)"
    # Only this run's findings count; earlier ones stay in the folder for a look.
    found="$(find "$crashes" -maxdepth 1 -type f -newer "$crashes/.run-started" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) -printf '%f\n' | grep -v '\.log$' || true)"
    ncrash="$(grep -c . <<<"$found" || true)"
    if ((rc != 0)) || ((ncrash > 0)); then
        failed=1
        ((ncrash > 0)) || ncrash=1
        newest="$(head -n 1 <<<"$found")"
        cp "$log" "$crashes/${newest:-run}.log" 2>/dev/null || true
        printf '%-16s runs %-10s crashes %s  FAILED (exit %s; input %s; log %s)\n' "$t" "${runs:-?}" "$ncrash" "$rc" \
            "${newest:+build-fuzz/crashes/$t/$newest}" "build-fuzz/logs/$t.log"
    else
        printf '%-16s runs %-10s crashes 0\n' "$t" "${runs:-?}"
    fi
done
exit "$failed"
