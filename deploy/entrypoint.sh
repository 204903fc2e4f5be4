#!/bin/sh
# Container entry point: apply pending migrations, then become the server.
# `registrar migrate` takes an advisory lock, so replicas starting together
# are safe: one applies, the others wait and find nothing left to do.
# Extra arguments are passed to `registrar serve` (e.g. --threads 4).
set -eu

registrar migrate
exec registrar serve --listen "${REGISTRAR_LISTEN:-0.0.0.0:8080}" "$@"
