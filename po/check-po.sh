#!/bin/sh
# check-po.sh MSGFMT FILE.po: fails unless FILE.po is valid (msgfmt --check)
# and has no untranslated or fuzzy messages.
set -eu
msgfmt="$1"
po="$2"
stats=$(LC_ALL=C "$msgfmt" --check --statistics -o /dev/null "$po" 2>&1)
echo "$po: $stats"
case "$stats" in
  *untranslated*|*fuzzy*) echo "$po is incomplete" >&2; exit 1 ;;
esac
