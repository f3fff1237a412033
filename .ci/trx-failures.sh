#!/usr/bin/env bash
# Lists each failed test of the given TRX files with the first line of its message, so that the
# end of a CI log (often all that is kept of it) says what failed, not only how many.
for trx in "$@"; do
  [ -f "$trx" ] || continue
  perl -0777 -ne '
    while (/<UnitTestResult\b([^>]*?)outcome="(Failed|Error|Timeout|Aborted)"[^>]*>(.*?)<\/UnitTestResult>/gs) {
      my ($attributes, $body) = ($1, $3);
      my ($name) = $attributes =~ /testName="([^"]*)"/;
      my ($message) = $body =~ /<Message>(.*?)<\/Message>/s;
      $message //= "(no message)";
      $message =~ s/&lt;/</g; $message =~ s/&gt;/>/g; $message =~ s/&quot;/"/g; $message =~ s/&apos;/\x27/g; $message =~ s/&amp;/&/g;
      my ($first) = split /\n/, $message;
      $first = substr($first, 0, 400);
      print "FAILED $name: $first\n";
    }' "$trx"
done
