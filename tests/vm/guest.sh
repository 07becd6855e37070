#!/bin/sh
# Runs inside the VM of scripts/vm-test.sh, on the host's root filesystem (under a writable
# layer in guest memory, with its own /dev and a cgroup2 hierarchy at /sys/fs/cgroup): the limit
# tests and the escape catalog's resource probes, first as root, then as the unprivileged user
# nsboxtest in a delegated cgroup (the directory chowned to it, as systemd's Delegate=yes does).
#
#   guest.sh BUILD_DIR REPO_DIR [ESCAPE_CATALOG_DIR]
#   guest.sh --tests HOME BUILD_DIR REPO_DIR [ESCAPE_CATALOG_DIR]   (one user's part)
#   guest.sh --bench RUNS BUILD_DIR       (cgroup setup cost: scripts/bench.sh --cgroup)
#   guest.sh --systemd BUILD_DIR          (booted with systemd as init: the scope source)
#   guest.sh --bench-systemd RUNS BUILD_DIR   (the same cost with a systemd scope per run)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export NSBOX_EXPECT_CGROUP=1 LANG=C.UTF-8
self=$(readlink -f "$0")

# With systemd as init: no cgroup is delegated to nsbox, so an unprivileged user's nsbox must
# ask the user manager of its login session for a scope with Delegate=yes, and each scope must
# be gone after its nsbox. Root makes its subtree next to systemd's.
if [ "$1" = --systemd ]; then
    build=$2 user=nsboxtest status=0
    # The 200-run test ran in the plain boot; here every run's scope is checked at the end.
    cgroup_tests="$build/bin/nsbox_integration_tests --gtest_brief=1 \
        --gtest_filter=Cgroup.*:-Cgroup.TwoHundredRunsLeaveNoCgroupBehind"
    echo "== guest: systemd $(systemctl --version | head -n1 | cut -d' ' -f2), cgroup tests as root"
    NSBOX_EXPECT_CGROUP_SOURCE="cgroup2 subtree" HOME=/root $cgroup_tests || status=1

    echo "== guest: cgroup tests as $user in a login session (its user manager makes the scopes)"
    # runuser -l opens a logind session as a login does: session scope, user manager, runtime dir.
    runuser -l "$user" -c "NSBOX_EXPECT_CGROUP=1 NSBOX_EXPECT_CGROUP_SOURCE='systemd scope' \
        $cgroup_tests" || status=1

    echo "== guest: without a user manager, strict mode names the cause in one line"
    message=$(runuser -u "$user" -- env -C /tmp -u XDG_RUNTIME_DIR -u DBUS_SESSION_BUS_ADDRESS \
        "$build/bin/nsbox" run --limits strict --memory 64M -- /bin/true 2>&1)
    code=$?
    echo "$message"
    if [ $code -ne 125 ] || [ "$(printf '%s\n' "$message" | wc -l)" -ne 1 ] ||
        ! printf '%s' "$message" | grep -q "XDG_RUNTIME_DIR is not set"; then
        echo "== guest: expected exit 125 and one line naming XDG_RUNTIME_DIR (got $code)"
        status=1
    fi

    sleep 1
    leftover=$(find /sys/fs/cgroup \( -name 'sandbox-*' -o -name 'nsbox-*.scope' \) -type d)
    if [ -n "$leftover" ]; then
        echo "== guest: cgroups left behind: $leftover"
        status=1
    fi
    echo "== guest: systemd done, status $status"
    exit $status
fi

if [ "$1" = --tests ]; then
    export HOME=$2
    build=$3 repo=$4 catalog=${5:-}
    "$build/bin/nsbox_integration_tests" --gtest_filter='Limits.*:Cgroup.*' --gtest_brief=1 ||
        exit 1
    # nsbox serve with its strict limits enforced: it starts, says so, and reports oom.
    python3 "$repo/tests/serve/test_serve.py" --bin "$build/bin" \
        UnixSocketServer.test_out_of_memory UnixSocketServer.test_health_and_info \
        UnixSocketServer.test_timeout UnixSocketServer.test_files_in_and_out || exit 1
    if [ -n "$catalog" ]; then
        python3 "$repo/tests/escape/check_catalog.py" --nsbox "$build/bin/nsbox" \
            --catalog "$catalog" --only res_ --summary || exit 1
    fi
    exit 0
fi

# The cost of a sandbox cgroup (create, limits, clone into it, kill, wait, remove): nsbox with
# the default profile's limits against the same run with no limit that needs a cgroup.
bench_one() {  # RUNS BUILD_DIR LABEL
    dir=$(mktemp -d)
    hyperfine --style none --warmup 5 --runs "$1" -N --export-json "$dir/b.json" \
        -n bare "/bin/true" \
        -n "nsbox, no cgroup" "$2/bin/nsbox run -q --workspace $dir --memory none --pids none --cpus none --cpu-time none -- /bin/true" \
        -n "nsbox, cgroup limits" "$2/bin/nsbox run -q --workspace $dir -- /bin/true" >/dev/null
    python3 - "$dir/b.json" "$3" <<'PY'
import json, statistics, sys
r = {x["command"]: statistics.median(x["times"]) * 1000 for x in json.load(open(sys.argv[1]))["results"]}
a, b = r["nsbox, no cgroup"], r["nsbox, cgroup limits"]
print(f"| {sys.argv[2]} | {r['bare']:.2f} | {a:.2f} | {b:.2f} | {b - a:+.2f} | {b / a:.2f}x |")
PY
    rm -rf "$dir"
}

if [ "$1" = --bench ]; then
    runs=$2 build=$3
    echo "| as | bare /bin/true (ms) | nsbox, no cgroup (ms) | nsbox, cgroup limits (ms) | cgroup cost (ms) | ratio |"
    echo "|---|---:|---:|---:|---:|---:|"
    bench_one "$runs" "$build" root
    delegated=/sys/fs/cgroup/delegated
    mkdir "$delegated"
    echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
    chown nsboxtest: "$delegated" "$delegated/cgroup.procs" "$delegated/cgroup.subtree_control" \
        "$delegated/cgroup.threads"
    sh -c "echo \$\$ >$delegated/cgroup.procs && exec setpriv --reuid=nsboxtest --regid=nsboxtest \
        --clear-groups /bin/sh $self --bench-user $runs $build"
    exit $?
fi
if [ "$1" = --bench-user ]; then
    bench_one "$2" "$3" "${4:-nsboxtest (delegated cgroup)}"
    exit $?
fi
if [ "$1" = --bench-systemd ]; then
    runs=$2 build=$3
    runuser -l nsboxtest -c "/bin/sh $self --bench-user $runs $build \
        'nsboxtest, login session (a user manager scope per run)'"
    exit $?
fi

build=$1 repo=$2 catalog=${3:-}
user=nsboxtest
status=0
landlock_abi=$(python3 -c 'import ctypes; print(ctypes.CDLL(None).syscall(444, None, 0, 1))')
echo "== guest: Linux $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)," \
     "Landlock ABI $landlock_abi"

echo "== guest: limit tests as root"
NSBOX_EXPECT_CGROUP_SOURCE="cgroup2 subtree" /bin/sh "$self" --tests /root "$build" "$repo" \
    "$catalog" || status=1

echo "== guest: limit tests as $user in a delegated cgroup"
delegated=/sys/fs/cgroup/delegated
mkdir "$delegated"
echo "+cpu +memory +pids" >/sys/fs/cgroup/cgroup.subtree_control
chown "$user:" "$delegated" "$delegated/cgroup.procs" "$delegated/cgroup.subtree_control" \
    "$delegated/cgroup.threads"
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home"
chown "$user:" "$home"
# The shell moves itself into the delegated cgroup, then becomes the user.
NSBOX_EXPECT_CGROUP_SOURCE="delegated cgroup" sh -c "echo \$\$ >$delegated/cgroup.procs && exec setpriv --reuid=$user --regid=$user \
    --clear-groups /bin/sh $self --tests $home $build $repo $catalog" || status=1

leftover=$(find /sys/fs/cgroup -name 'sandbox-*' -type d)
if [ -n "$leftover" ]; then
    echo "== guest: sandbox cgroups left behind: $leftover"
    status=1
fi
echo "== guest: done, status $status"
exit $status
