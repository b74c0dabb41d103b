#!/bin/sh
# ensure-postgres.sh: make sure the PostgreSQL server programs the tests run
# (initdb and postgres, see internal/testpg) are installed. When they are
# not, installs Debian's postgresql package with apt-get. Idempotent, and
# silent when PostgreSQL is there already.
set -eu

have_postgres() {
	command -v initdb >/dev/null 2>&1 && return 0
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/postgres" ] && return 0
	done
	return 1
}

have_postgres && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-postgres: PostgreSQL (initdb) not found and no apt-get here: install the PostgreSQL server, or set WSUS_TEST_DATABASE_URL" >&2
	exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "ensure-postgres: PostgreSQL (initdb) not found; installing it needs root (apt-get install postgresql)" >&2
		exit 1
	fi
	sudo=sudo
fi

echo "ensure-postgres: installing PostgreSQL with apt-get (once) ..." >&2
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
if ! have_postgres; then
	echo "ensure-postgres: apt-get installed postgresql, but initdb is still not found" >&2
	exit 1
fi
