#!/usr/bin/env bash
# scripts/setup.sh -- make a fresh Debian 12 machine ready and build wodan.
#
#   bash scripts/setup.sh [CONFIGURE-ARGS...]      e.g. --enable-sanitizers
#
# 1. Checks the Debian packages the build needs.  Missing ones are installed
#    with apt-get when run as root; otherwise the exact `sudo apt-get install`
#    line is printed and the script exits 1.
# 2. autoreconf -fi, when configure is missing or older than configure.ac /
#    Makefile.am.
# 3. ./configure [CONFIGURE-ARGS...], when the build directory has no Makefile
#    yet or was configured with other arguments (then also `make clean`, so
#    no object built with the old flags survives).
# 4. make -j2 (JOBS=N overrides the job count).
#
# Environment:
#   WODAN_BUILD_DIR  build directory (default: the source tree itself).  Any
#                    other directory gets a VPATH build (../configure); the
#                    source tree must then not be configured in-tree.
#   JOBS             parallel make jobs (default 2).
#
# Idempotent: a second run only re-runs what is out of date.
set -euo pipefail

PACKAGES=(build-essential autoconf automake libtool pkg-config libcbor-dev
	  libblkid-dev libisal-dev libcmocka-dev nettle-dev git)

say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
[ -f configure.ac ] || die "$top/configure.ac not found: run this script from a wodan source tree"

# ------------------------------------------------------------- packages
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
	for p in "${PACKAGES[@]}"; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		case "$st" in
		*" installed") ;;
		*) missing+=("$p") ;;
		esac
	done
else
	say "warning: dpkg-query not found (not Debian?): not checking packages;"
	say "         the build needs: ${PACKAGES[*]}"
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		say "installing missing packages: ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	else
		say "missing Debian packages: ${missing[*]}"
		say "install them (then run this script again) with:"
		printf 'sudo apt-get install -y %s\n' "${missing[*]}"
		exit 1
	fi
fi

# ------------------------------------------------------------- autoreconf
mkdir -p m4
need_autoreconf=no
for f in configure Makefile.in; do
	[ -f "$f" ] || need_autoreconf=yes
done
if [ $need_autoreconf = no ]; then
	if [ configure -ot configure.ac ] || [ Makefile.in -ot Makefile.am ]; then
		need_autoreconf=yes
	fi
fi
if [ $need_autoreconf = yes ]; then
	say "autoreconf -fi"
	autoreconf -fi
fi

# ------------------------------------------------------------- configure
build=${WODAN_BUILD_DIR:-$top}
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ "$build" = "$top" ]; then
	configure=./configure
else
	# a VPATH build refuses a source tree configured in-tree
	if [ -f "$top/config.status" ]; then
		die "the source tree $top is configured in-tree; run 'make distclean' there before building in $build"
	fi
	configure="$top/configure"
fi
cd "$build"

need_configure=no
need_clean=no
if [ ! -f Makefile ] || [ ! -x config.status ]; then
	need_configure=yes
else
	# the arguments the tree was configured with, as configure saw them
	old_args=()
	eval "old_args=($(./config.status --config))"
	if [ "${#old_args[@]}" -ne "$#" ]; then
		need_configure=yes
	else
		i=0
		for a in "$@"; do
			if [ "${old_args[$i]}" != "$a" ]; then
				need_configure=yes
				break
			fi
			i=$((i + 1))
		done
	fi
fi
if [ $need_configure = yes ]; then
	# objects built with other flags must not survive a reconfigure
	[ -f Makefile ] && need_clean=yes
	say "configure $* (in $build)"
	"$configure" "$@"
	if [ $need_clean = yes ]; then
		say "configure arguments changed: make clean"
		make clean >/dev/null
	fi
fi

# ------------------------------------------------------------- make
say "make -j${JOBS:-2} (in $build)"
make -j"${JOBS:-2}"
say "build ready in $build"
