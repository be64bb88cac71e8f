#!/usr/bin/env bash
# test.sh [--sanitize] [--build-dir DIR] [-- CTEST_ARGS...] — install what is missing, build once, run every CTest label:
#   unit         no servers at all;
#   every other  (integration, faults, ...) against a network of its own (var/test-PID, free ports), so it
#                can run while `up.sh` is up; tests that stop servers start private networks themselves.
# Prints CTest's summaries and one closing line; exits non-zero on any failure. Always tears its network
# down. --sanitize builds into build-asan with -DEMTIAZ_SANITIZE=ON (services run sanitized too);
# --build-dir builds and tests in another folder (default build/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"

build_dir=""
sanitize=0
cmake_args=()
ctest_args=()
while (($#)); do
    case "$1" in
        --sanitize) sanitize=1; cmake_args=(-DEMTIAZ_SANITIZE=ON) ;;
        --build-dir) build_dir="${2:?--build-dir needs a folder}"; shift ;;
        --build-dir=*) build_dir="${1#--build-dir=}" ;;
        --) shift; ctest_args=("$@"); break ;;
        -h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test: unknown argument '$1' (usage: scripts/test.sh [--sanitize] [--build-dir DIR] [-- CTEST_ARGS...])" >&2; exit 2 ;;
    esac
    shift
done

if [[ -z "$build_dir" ]]; then
    build_dir=build
    ((sanitize == 0)) || build_dir=build-asan
fi
case "$build_dir" in /*) build_dir="$(realpath --relative-to="$REPO" "$build_dir")" ;; esac

started=$SECONDS
scripts/install-deps.sh
if ((sanitize == 1)); then
    EMTIAZ_BUILD_TYPE=RelWithDebInfo scripts/build.sh "$build_dir" "${cmake_args[@]}"
else
    scripts/build.sh "$build_dir"
fi

NET="$REPO/var/test-$$"
export EMTIAZ_BUILD_DIR="$REPO/$build_dir"
export EMTIAZ_NETCTL="$REPO/scripts/netctl.sh"
export EMTIAZ_TEST_ENV="$NET/env"
# Private networks of tests live under the run's folder, so that the teardown finds any a crash left behind.
export EMTIAZ_TEST_TMPDIR="$NET/private"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed_any=0
total_passed=0
total_failed=0
declare -a label_results=()

teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -d "$NET" ]]; then
        local d
        for d in "$NET"/private/*/; do
            [[ -f "$d/ports" ]] && "$EMTIAZ_NETCTL" destroy "$d" >/dev/null 2>&1 || true
        done
        "$EMTIAZ_NETCTL" down "$NET" >/dev/null 2>&1 || true
        if ((failed_any == 0 && rc == 0)); then
            "$EMTIAZ_NETCTL" destroy "$NET" >/dev/null 2>&1 || rm -rf "$NET"
        else
            # Keep the logs for a look; drop the data.
            local keep="$REPO/var/test-logs-$$"
            mkdir -p "$keep"
            cp -r "$NET/logs" "$keep/" 2>/dev/null || true
            # Logs a failing test copied out of its private network (tests/faults keeps them there).
            for d in "$NET"/private/kept-*/; do
                [[ -d "$d" ]] && cp -r "$d" "$keep/" 2>/dev/null || true
            done
            "$EMTIAZ_NETCTL" destroy "$NET" >/dev/null 2>&1 || rm -rf "$NET"
            echo "test: the network's logs are kept in $keep" >&2
        fi
    fi
    exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT TERM

# run_ctest NAME ARGS...: run ctest in the build folder and add its counts to the totals.
run_ctest() {
    local name="$1"
    shift
    local out="$REPO/$build_dir/emtiaz-ctest-$name.log" rc=0
    echo
    echo "==== ctest: $name"
    local no_tests=error
    ((${#ctest_args[@]} == 0)) || no_tests=ignore
    (cd "$REPO/$build_dir" && ctest --output-on-failure --no-tests="$no_tests" "$@" "${ctest_args[@]}") 2>&1 |
        tee "$out" || rc=$?
    local line total=0 failed=0
    line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1 || true)"
    if [[ -n "$line" ]]; then
        failed="$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")"
        total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
    fi
    total_passed=$((total_passed + total - failed))
    total_failed=$((total_failed + failed))
    if ((rc != 0)); then
        failed_any=1
        ((failed > 0)) || total_failed=$((total_failed + 1))
        label_results+=("$name: FAILED (${failed}/${total} tests failed, ctest exit $rc)")
    else
        label_results+=("$name: ok ($total tests)")
    fi
}

labels="$(cd "$build_dir" && ctest --print-labels 2>/dev/null | awk '/^All Labels:/ {f = 1; next} f && NF {print $1}' || true)"
if grep -qx unit <<<"$labels"; then
    run_ctest unit -L '^unit$' -j "$(nproc)"
fi

server_labels="$(grep -vx unit <<<"$labels" || true)"
if [[ -n "$server_labels" ]]; then
    echo
    echo "==== network: starting $NET"
    if "$EMTIAZ_NETCTL" up "$NET" --ports free; then
        while read -r label; do
            [[ -n "$label" ]] || continue
            run_ctest "$label" -L "^${label}\$"
        done <<<"$server_labels"
        # Conservation (api.md, Points semantics 5) and Redis = MySQL over everything the suites did to the
        # shared network: the audit must report nothing.
        echo
        echo "==== audit: every tenant of the suite network"
        sleep 1
        audit_log="$REPO/$build_dir/emtiaz-audit.log"
        audit_rc=0
        (set -a && . "$NET/env" && "$EMTIAZ_BUILD_DIR/wallet/emtiaz-audit") >"$audit_log" 2>&1 || audit_rc=$?
        grep -v ': ok$' "$audit_log" || true
        # Every line must say ok; no line at all means the suite network has no tenant, which is fine only when
        # no test used it (`-- -L faults`, or `-- -R` naming tests that start private networks).
        if ((audit_rc != 0)) || grep -qv ': ok$' "$audit_log"; then
            failed_any=1
            total_failed=$((total_failed + 1))
            label_results+=("audit: FAILED (see $build_dir/emtiaz-audit.log)")
        else
            label_results+=("audit: ok ($(grep -c ': ok$' "$audit_log" || true) tenants conserved, Redis = MySQL)")
        fi
        # Secrets never reach a log: neither the admin token nor anything shaped like an operator token or a
        # partner key, in any log of the suite network after every label has run against it.
        echo
        echo "==== secrets: the suite network's logs"
        admin_token="$(sed -n 's/^EMTIAZ_ADMIN_TOKEN=//p' "$NET/env")"
        leaks="$( (grep -rnoE '\b(pk|op)_[A-Za-z0-9]{20,}' "$NET/logs" || true
            [[ -z "$admin_token" ]] || grep -rnoF -- "$admin_token" "$NET/logs" || true) | head -n 5 || true)"
        if [[ -n "$leaks" ]]; then
            echo "$leaks" | sed -E 's/(pk|op|emz_admin)_([A-Za-z0-9]{4})[A-Za-z0-9]*/\1_\2.../g'
            failed_any=1
            total_failed=$((total_failed + 1))
            label_results+=("secrets: FAILED (a token or key appears in the logs under $NET/logs)")
        else
            label_results+=("secrets: ok (no token or key in $(find "$NET/logs" -type f | wc -l) log files)")
        fi
        # Sanitized services print their reports into their logs (UBSan stops the process: halt_on_error).
        if ((sanitize == 1)); then
            echo
            echo "==== sanitizers: the suite network's logs"
            reports="$(grep -rlE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$NET/logs" || true)"
            if [[ -n "$reports" ]]; then
                grep -rhE -A12 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer' "$NET/logs" | head -n 60 || true
                failed_any=1
                total_failed=$((total_failed + 1))
                label_results+=("sanitizers: FAILED (reports in $(tr '\n' ' ' <<<"$reports"))")
            else
                label_results+=("sanitizers: ok (no report in the suite network's logs)")
            fi
        fi
    else
        failed_any=1
        total_failed=$((total_failed + 1))
        label_results+=("network: FAILED to start (labels not run: $(tr '\n' ' ' <<<"$server_labels"))")
    fi
fi

echo
echo "==== summary ($((SECONDS - started))s, build folder $build_dir)"
if ((${#label_results[@]} == 0)); then
    echo "test: no tests were found"
    failed_any=1
fi
for r in "${label_results[@]}"; do echo "  $r"; done
echo "summary: $total_passed passed, $total_failed failed"
exit "$failed_any"
