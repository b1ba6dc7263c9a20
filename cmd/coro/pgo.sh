#!/bin/sh
# pgo.sh remakes default.pgo, the CPU profile from which the Go toolchain
# optimises the coro command (profile-guided optimisation: go build,
# go install and go test pick the file up by its name). It merges Go CPU
# profiles (CORO_CPUPROFILE) of coro running the benchmark workloads of
# compare.py: BENCH is the folder that holds them (../shared/bench beside
# the repository by default), with their load generators.
#
#   sh cmd/coro/pgo.sh        # then commit cmd/coro/default.pgo
set -e
cd "$(dirname "$0")"
BENCH=$(cd "${BENCH:-../../../shared/bench}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/coro" .
(cd "$BENCH/echoload" && go build -o "$tmp/echoload" .)
(cd "$BENCH/httpload" && go build -o "$tmp/httpload" .)

# run NAME SCRIPT ARGS...: a profile of one run of a workload.
run() {
	name=$1
	shift
	CORO_CPUPROFILE="$tmp/$name.pprof" "$tmp/coro" "$BENCH/coro/$@" >/dev/null
}
# serve NAME SCRIPT PORT LOAD...: a profile of a server while LOAD runs
# against it (the load generators wait for the port to listen).
serve() {
	name=$1 script=$2 port=$3
	shift 3
	CORO_CPUPROFILE="$tmp/$name.pprof" "$tmp/coro" "$BENCH/coro/$script" "$port" &
	pid=$!
	"$@" -addr "127.0.0.1:$port" >/dev/null
	kill -INT "$pid"
	wait "$pid" || true
}

run fib fib.star 32
run gen gen.star 10000000
run pingpong pingpong.star 3000000
run spawn spawn.star 300000
run timers timers.star 300000
serve echo echo.star 19931 "$tmp/echoload" -c 50 -m 6000
serve http http.star 19932 "$tmp/httpload" -c 50 -n 3000
go tool pprof -proto "$tmp"/*.pprof >default.pgo
