#!/usr/bin/env bash
# build.sh [BUILD_DIR] [extra cmake -D options...] — configure (Ninja; Release unless EMTIAZ_BUILD_TYPE says
# otherwise; ccache is picked up by CMakeLists.txt) and build everything into BUILD_DIR (default: build).
# Quiet on success; prints the compiler's errors on failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir="${1:-build}"
shift || true
build_type="${EMTIAZ_BUILD_TYPE:-Release}"
mkdir -p "$build_dir"
cache="$build_dir/CMakeCache.txt"

if [[ -f "$cache" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
    echo "build: $build_dir was configured with another generator; remove it or pick another folder" >&2
    exit 1
fi
configure_args=(-G Ninja -DCMAKE_BUILD_TYPE="$build_type")
# Release at -O2: g++ 12 at -O3 reports false -Wrestrict/-Wstringop-overflow errors inside libstdc++
# (GCC bug 105329 and kin), which -Werror turns into a failed build.
[[ "$build_type" == Release ]] && configure_args+=("-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG")
configure_args+=("$@")
stamp="$build_dir/emtiaz-configure.args"
if [[ ! -f "$build_dir/build.ninja" || ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "${configure_args[*]}" ]]; then
    if ! cmake -S . -B "$build_dir" "${configure_args[@]}" >"$build_dir/emtiaz-configure.log" 2>&1; then
        echo "build: cmake configure failed ($build_dir/emtiaz-configure.log):" >&2
        tail -n 40 "$build_dir/emtiaz-configure.log" >&2
        rm -f "$stamp"
        exit 1
    fi
    printf '%s' "${configure_args[*]}" >"$stamp"
fi

start=$SECONDS
echo "build: building $build_type into $build_dir/ ..." >&2
if ! cmake --build "$build_dir" >"$build_dir/emtiaz-build.log" 2>&1; then
    echo "build: failed ($build_dir/emtiaz-build.log):" >&2
    grep -v '^\[[0-9]*/[0-9]*\] ' "$build_dir/emtiaz-build.log" | tail -n 150 >&2
    exit 1
fi
echo "build: done in $((SECONDS - start))s" >&2
