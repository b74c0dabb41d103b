#!/bin/sh
# ensure-chromium.sh: make sure Chromium, the browser the console's browser
# tests (e2e/console_test.go) drive headless with chromedp, is installed.
# When it is not, installs Debian's chromium package with apt-get.
# Idempotent; prints the version (one line) either way.
#
#   WSUS_CHROMIUM   use this binary instead (nothing is installed)
set -eu

if [ -n "${WSUS_CHROMIUM:-}" ]; then
	[ -x "$WSUS_CHROMIUM" ] || { echo "ensure-chromium: WSUS_CHROMIUM=$WSUS_CHROMIUM is not an executable" >&2; exit 1; }
	"$WSUS_CHROMIUM" --version 2>/dev/null | head -n 1
	exit 0
fi

have_chromium() {
	command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]
}

if ! have_chromium; then
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "ensure-chromium: chromium not found and no apt-get here: install Chromium, or set WSUS_CHROMIUM" >&2
		exit 1
	fi
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "ensure-chromium: chromium not found; installing it needs root (apt-get install chromium)" >&2
			exit 1
		fi
		sudo=sudo
	fi
	echo "ensure-chromium: installing Chromium with apt-get (once) ..." >&2
	$sudo apt-get update -qq
	# No recommends: the tests run it headless, without fonts' extras or a desktop.
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
	if ! have_chromium; then
		echo "ensure-chromium: apt-get installed chromium, but the chromium program is still not found" >&2
		exit 1
	fi
fi
bin=$(command -v chromium 2>/dev/null || echo /usr/bin/chromium)
# Debian's launcher script complains on stderr about /dev/shm on some hosts
# (/etc/chromium.d/dev-shm); the tests pass --disable-dev-shm-usage anyway.
version=$("$bin" --version 2>/dev/null | head -n 1)
if [ -z "$version" ]; then
	echo "ensure-chromium: $bin --version printed nothing: the browser does not run here" >&2
	exit 1
fi
echo "$version"
