#!/bin/sh
# check-po.sh MSGFMT FILE.po [SOURCE_ROOT]: fails unless FILE.po is valid
# (msgfmt --check), has no untranslated or fuzzy messages, and — when
# SOURCE_ROOT is given and xgettext is installed — also covers every message
# the sources hold now (so a new string without a translation fails here,
# not in a user's face).
set -eu
msgfmt="$1"
po="$2"
root="${3:-}"
stats=$(LC_ALL=C "$msgfmt" --check --statistics -o /dev/null "$po" 2>&1)
echo "$po: $stats"
case "$stats" in
  *untranslated*|*fuzzy*) echo "$po is incomplete" >&2; exit 1 ;;
esac

if [ -n "$root" ] && command -v xgettext >/dev/null && command -v msgmerge >/dev/null; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # The same keywords as meson's 'glib' gettext preset.
  (cd "$root" && xgettext --files-from=po/POTFILES.in --from-code=UTF-8 \
      --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
      --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
      --keyword=g_dpgettext2:2c,3 --flag=N_:1:pass-c-format \
      --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
      --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
      --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
      --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
      --output="$tmp/current.pot" 2>"$tmp/xgettext.log") || {
    cat "$tmp/xgettext.log" >&2; exit 1; }
  msgmerge --quiet --no-fuzzy-matching --output-file="$tmp/merged.po" "$po" "$tmp/current.pot"
  stats=$(LC_ALL=C "$msgfmt" --statistics -o /dev/null "$tmp/merged.po" 2>&1)
  echo "against the current sources: $stats"
  case "$stats" in
    *untranslated*|*fuzzy*)
      echo "$po lacks translations for messages in the sources:" >&2
      msgattrib --untranslated --no-obsolete "$tmp/merged.po" | grep '^msgid' | head -20 >&2
      exit 1 ;;
  esac
fi
