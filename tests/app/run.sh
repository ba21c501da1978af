#!/usr/bin/env bash
# The application tests, as CI runs them (root; after the release build of joyrided,
# joyride, joyride_preload and joyride_hostile_app):
#   1. the socket-semantics suite natively (Linux against Linux, its own namespaces)
#      and under `joyride run` against Linux on the testbed, compared case by case;
#   2. unmodified Debian programs under `joyride run` against Linux (run_apps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
trap 'bash scripts/testbed down >/dev/null 2>&1 || true' EXIT

echo "== socket semantics: Linux natively vs under joyride run"
bash scripts/testbed up config/testbed.toml >/dev/null
status=0
timeout 1200 bash tests/app/run_semantics.sh \
  --joyride "$PWD/build/release/tools/joyride/joyride run --" \
  --peer 198.18.0.2 --peer-netns jr-linux --client-netns jr-joyride \
  --expect-differ tests/app/semantics_expect_differ.txt || status=1
bash scripts/testbed down >/dev/null

echo "== unmodified programs under joyride run against Linux"
timeout 1200 bash tests/app/run_apps.sh config/testbed.toml || status=1
exit "$status"
