#!/bin/sh
# install-tree: `meson install --destdir` into a temporary folder, check that
# everything an installed app needs is there (programs, compiled schema,
# icons, desktop file, metainfo, translations), then run the installed
# programs from that tree in German.
#
# Usage: install-tree.sh MESON BUILD_ROOT PREFIX BINDIR DATADIR LOCALEDIR GUI
# (BINDIR, DATADIR and LOCALEDIR absolute, as configured; GUI is true/false).
# Exit 77 (skipped) only for the app's start when no display is available.
set -eu
meson=$1 build=$2 prefix=$3 bindir=$4 datadir=$5 localedir=$6 gui=$7
app_id=io.github.convolve.Convolve

tmp=$(mktemp -d "${TMPDIR:-/tmp}/convolve-install-tree.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
dest=$tmp/root

fail () { echo "install-tree: FAIL: $*" >&2; exit 1; }

if ! "$meson" install -C "$build" --destdir "$dest" --no-rebuild > "$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  fail "meson install --destdir failed"
fi
echo "installed into $dest$prefix"

need () { [ -s "$dest$1" ] || fail "not installed: $1"; echo "ok: $1"; }
need "$bindir/convolve-cli"
need "$datadir/glib-2.0/schemas/$app_id.gschema.xml"
need "$datadir/icons/hicolor/scalable/apps/$app_id.svg"
need "$datadir/icons/hicolor/symbolic/apps/$app_id-symbolic.svg"
need "$localedir/de/LC_MESSAGES/convolve.mo"
if [ "$gui" = true ]; then
  need "$bindir/convolve"
  need "$datadir/applications/$app_id.desktop"
  need "$datadir/metainfo/$app_id.metainfo.xml"
  grep -q '^Comment\[de\]=' "$dest$datadir/applications/$app_id.desktop" \
    || fail "the desktop file has no German Comment"
  grep -q 'xml:lang="de"' "$dest$datadir/metainfo/$app_id.metainfo.xml" \
    || fail "the metainfo has no German text"
fi

# gnome.post_install compiles the schemas on a real install and skips that
# under DESTDIR; compile them here as the post-install step would.
schemas=$dest$datadir/glib-2.0/schemas
glib-compile-schemas --strict "$schemas" || fail "the installed schema does not compile"
need "$datadir/glib-2.0/schemas/gschemas.compiled"

# The staged tree is not at its prefix, so point the programs at it: data
# and schemas through XDG_DATA_DIRS and GSETTINGS_SCHEMA_DIR, translations
# through CONVOLVE_LOCALEDIR (installed for real, LOCALEDIR is compiled in).
# C.UTF-8 exists on every Debian; LANGUAGE=de then picks the German
# catalogue without a generated de_DE locale.
XDG_DATA_DIRS=$dest$datadir:${XDG_DATA_DIRS:-/usr/local/share:/usr/share}
GSETTINGS_SCHEMA_DIR=$schemas
CONVOLVE_LOCALEDIR=$dest$localedir
LC_ALL=C.UTF-8
LANGUAGE=de
export XDG_DATA_DIRS GSETTINGS_SCHEMA_DIR CONVOLVE_LOCALEDIR LC_ALL LANGUAGE
unset LANG LC_MESSAGES

# "Commands:" is "Befehle:" in po/de.po.
"$dest$bindir/convolve-cli" --help > "$tmp/help.txt" 2>&1 || { cat "$tmp/help.txt" >&2; fail "convolve-cli --help failed"; }
grep -q '^Befehle:' "$tmp/help.txt" || { cat "$tmp/help.txt" >&2; fail "convolve-cli --help is not in German"; }
echo "ok: the installed convolve-cli speaks German"

[ "$gui" = true ] || exit 0
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "install-tree: SKIP starting the installed app: no display (run under xvfb-run)"
  exit 77
fi

# The installed app, started for a few seconds: it must still be running
# (timeout's 124) and print nothing on stderr. Its own session bus, when
# dbus-run-session is there, so that no other instance of the app id in the
# test session takes the start over.
# Only the app's stderr is looked at: the bus's own chatter goes elsewhere.
app=$dest$bindir/convolve
# shellcheck disable=SC2016 # expanded by the inner sh
start='exec timeout -s TERM 5 "$0" > "$1/app.out" 2> "$1/app.err"'
set +e
if command -v dbus-run-session > /dev/null 2>&1; then
  dbus-run-session -- sh -c "$start" "$app" "$tmp" > "$tmp/bus.log" 2>&1
else
  sh -c "$start" "$app" "$tmp"
fi
rc=$?
set -e
if [ "$rc" -ne 124 ]; then
  cat "$tmp/app.err" >&2
  fail "the installed app exited with status $rc within 5 s"
fi
if [ -s "$tmp/app.err" ]; then
  cat "$tmp/app.err" >&2
  fail "the installed app wrote to stderr"
fi
echo "ok: the installed app ran 5 s from the staged prefix, nothing on stderr"
