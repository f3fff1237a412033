#!/usr/bin/env bash
# Prints "N passed, N failed, N skipped" summed over the given TRX files' <Counters> elements.
# A missing or unreadable file counts nothing, so a run that produced no results shows 0 passed.
passed=0 failed=0 total=0
for trx in "$@"; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  value() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  total=$((total + $(value total)))
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
done
echo "$passed passed, $failed failed, $((total - passed - failed)) skipped"
