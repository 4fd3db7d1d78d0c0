# shellcheck shell=bash
# Shared by the bench/*.sh scripts (sourced from the repository root): the folioctl to
# measure and the stack to measure on.

# Sets $folioctl: $FOLIOCTL, else the release build. Exits when it is missing.
bench_folioctl() {
  folioctl=${FOLIOCTL:-build/release/apps/folioctl/folioctl}
  [ -x "$folioctl" ] || {
    echo "build first: cmake --preset release && cmake --build --preset release" >&2
    exit 1
  }
}

# Uses the stack in $FOLIO_STACK_DIR when set, otherwise starts one (shared_buffers 2GB like
# docs/benchmarks.md's reference runs) in a temporary directory, remembered in $own_stack
# for bench_stack_down. Loads its stack.env into the environment.
bench_stack_up() {
  own_stack=""
  if [ -z "${FOLIO_STACK_DIR:-}" ]; then
    own_stack=$(mktemp -d /tmp/folio-bench.XXXXXX)
    FOLIO_PG_SHARED_BUFFERS=${FOLIO_PG_SHARED_BUFFERS:-2GB} scripts/stack up --dir "$own_stack" >/dev/null
    FOLIO_STACK_DIR=$own_stack
  fi
  set -a
  # shellcheck disable=SC1091
  . "$FOLIO_STACK_DIR/stack.env"
  set +a
}

# Stops the stack bench_stack_up started, if it started one.
bench_stack_down() {
  [ -z "${own_stack:-}" ] || scripts/stack down --dir "$own_stack" >/dev/null
}
