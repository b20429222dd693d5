#!/bin/sh
# tests/man.sh -- the manual pages and the bash completion, run by
# `make check` with WODANC (path to the wodanc binary) and top_srcdir set.
#
# 1. Each page (man/wodanc.1, man/wodan.3, man/wodan.5) renders without
#    warnings: `mandoc -Tlint -Wwarning` when mandoc is installed, else
#    `man --warnings -l`, else `groff -mandoc -ww -z`; a visible SKIP when
#    none is.  The linter is first shown a broken page, which it must
#    refuse, so that a linter that accepts everything cannot pass.
# 2. wodanc(1) keeps up with the program: every command listed by
#    `wodanc --help` has a subsection (.Ss CMD), every long option printed
#    by `wodanc CMD --help` is named in that subsection (as `Fl -OPT`), and
#    the global options are named in the page.  wodan(3) names every
#    function declared in include/*.h (as `.Fn NAME`).
# 3. The bash completion (contrib/bash-completion/wodanc) loads and
#    registers itself (`complete -p wodanc`), offers exactly the commands
#    of `wodanc --help` (plus "help"), and offers every long option of
#    `wodanc CMD --help` after `wodanc CMD --`.
# A command or option added to wodanc without its documentation and its
# completion makes this test fail, naming what is missing.
# POSIX sh; bash is needed for part 3 only (SKIP without it).

set -u
: "${WODANC:?set WODANC to the path of the wodanc binary}"
top_srcdir=${top_srcdir:-.}
MAN=$top_srcdir/man
COMP=$top_srcdir/contrib/bash-completion/wodanc
PAGES="wodanc.1 wodan.3 wodan.5"

T=$(mktemp -d "${TMPDIR:-/tmp}/wodan-man.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
skip=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
skipped() { skip=$((skip + 1)); echo "SKIP - $1"; }
show() { sed 's/^/    | /' "$1"; }

# ------------------------------------------------------------ 1. lint
# lint PAGE: 0 when the page renders without warnings; the messages are
# left in $T/lint.
if command -v mandoc >/dev/null 2>&1; then
	LINTER="mandoc -Tlint -Wwarning"
	lint() { mandoc -Tlint -Wwarning "$1" >"$T/lint" 2>&1; }
elif command -v man >/dev/null 2>&1 && command -v groff >/dev/null 2>&1
then
	LINTER="man --warnings -l"
	lint() {
		MANPAGER=cat MANWIDTH=80 man --warnings -l "$1" \
			>/dev/null 2>"$T/lint" || return 1
		! test -s "$T/lint"
	}
elif command -v groff >/dev/null 2>&1; then
	LINTER="groff -mandoc -ww -z"
	lint() {
		groff -mandoc -ww -z "$1" >/dev/null 2>"$T/lint" || return 1
		! test -s "$T/lint"
	}
else
	LINTER=
fi

if test -z "$LINTER"; then
	skipped "lint: none of mandoc, man+groff, groff is installed"
else
	# the linter must be able to fail: a list that is never closed and
	# a macro that does not exist
	printf '%s\n' '.Dd December 3, 2026' '.Dt BROKEN 1' '.Os' \
		'.Sh NAME' '.Nm broken' '.Nd broken page' '.Sh DESCRIPTION' \
		'.Bl -tag -width Ds' '.It Fl x' '.Xx no such macro' \
		>"$T/broken.1"
	if lint "$T/broken.1"; then
		bad "lint ($LINTER) accepts a broken page"
	else
		ok "lint ($LINTER) refuses a broken page"
	fi
	for p in $PAGES; do
		if lint "$MAN/$p"; then
			ok "lint ($LINTER): $p"
		else
			bad "lint ($LINTER): $p"
			show "$T/lint"
		fi
	done
fi

# --------------------------------------------------- 2. wodanc(1) vs --help
PAGE1=$MAN/wodanc.1

# section CMD: the text of subsection ".Ss CMD" of wodanc(1) on stdout.
section() {
	awk -v cmd="$1" '/^\.Ss / { in_sec = ($2 == cmd && NF == 2); next }
		/^\.Sh / { in_sec = 0 } in_sec' "$PAGE1"
}

# long_opts FILE: the long options (without "--") named in a help text.
long_opts() {
	grep -o -- '--[a-z][a-z0-9-]*' "$1" | sed 's/^--//' | sort -u
}

# listed_opts FILE: the long options a help text offers: those of its
# usage lines (up to the first empty line) and those starting an option
# line ("  -x, --opt ..." or "  --opt ..."); not those only mentioned in
# prose (trim's help mentions dump's --rollback).
listed_opts() {
	awk 'NR == 1, NF == 0 { print; next }
		/^ +(-[A-Za-z0-9], +)?--[a-z]/ { print }' "$1" >"$1.listed"
	long_opts "$1.listed"
}

# names_opt FILE OPT: 0 when the mdoc text in FILE names --OPT as "Fl -OPT".
names_opt() {
	grep -Eq "(^|[ .])Fl -$2([^A-Za-z0-9-]|\$)" "$1"
}

"$WODANC" --help >"$T/help" 2>&1
awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit }
	on { print $1 }' "$T/help" >"$T/commands"
if test -s "$T/commands" && "$WODANC" --help >/dev/null 2>&1; then
	ok "wodanc --help lists $(wc -l <"$T/commands") commands:$(
		tr '\n' ' ' <"$T/commands" | sed 's/^/ /; s/ $//')"
else
	bad "cannot read the command list of wodanc --help"
	show "$T/help"
fi

# the checker must be able to fail
section mkfs >"$T/sec"
if test -s "$T/sec" && names_opt "$T/sec" block-size &&
   ! names_opt "$T/sec" no-such-option && ! names_opt "$T/sec" block; then
	ok "option check: finds --block-size in mkfs, not --no-such-option"
else
	bad "option check: cannot tell documented from undocumented options"
fi

# global options
missing=
for o in $(long_opts "$T/help"); do
	names_opt "$PAGE1" "$o" || missing="$missing --$o"
done
if test -z "$missing"; then
	ok "wodanc(1) names the global options of wodanc --help"
else
	bad "wodanc(1) does not name the global options:$missing"
fi

for c in $(cat "$T/commands"); do
	section "$c" >"$T/sec"
	if ! test -s "$T/sec"; then
		bad "wodanc(1) has no subsection '.Ss $c' (command $c)"
		continue
	fi
	if ! "$WODANC" "$c" --help >"$T/chelp" 2>&1; then
		bad "wodanc $c --help fails"
		show "$T/chelp"
		continue
	fi
	missing=
	n=0
	for o in $(long_opts "$T/chelp"); do
		n=$((n + 1))
		names_opt "$T/sec" "$o" || missing="$missing --$o"
	done
	if test -z "$missing"; then
		ok "wodanc(1) $c: all $n long options of '$c --help'"
	else
		bad "wodanc(1) section $c does not name:$missing"
	fi
done

# ----------------------------------------------- wodan(3) vs include/*.h
sed -n -E 's/^([A-Za-z_][A-Za-z0-9_ ]*[ *])?(wodan_[a-z0-9_]+)\(.*/\2/p' \
	"$top_srcdir"/include/*.h | sort -u >"$T/functions"
missing=
for f in $(cat "$T/functions"); do
	grep -Eq "^\.Fn $f( |\$)" "$MAN/wodan.3" || missing="$missing $f"
done
if ! test -s "$T/functions"; then
	bad "no function declarations found in include/*.h"
elif test -z "$missing"; then
	ok "wodan(3) names all $(wc -l <"$T/functions") functions of include/*.h"
else
	bad "wodan(3) does not document:$missing"
fi

# ------------------------------------------------------- 3. completion
if ! command -v bash >/dev/null 2>&1; then
	skipped "completion: bash is not installed"
else
	# comp WORD...: the completions bash offers for "WORD... " (the last
	# word is the one being completed), one per line
	comp() {
		bash -c '. "$1" || exit 1; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
			COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
			_wodanc wodanc; printf "%s\n" "${COMPREPLY[@]}"' \
			comp "$COMP" "$@" 2>"$T/comperr"
	}
	if bash -c '. "$1" && complete -p wodanc' comp "$COMP" \
		>"$T/complete" 2>&1; then
		ok "completion registers: $(cat "$T/complete")"
	else
		bad "completion does not load or register"
		show "$T/complete"
	fi

	comp wodanc '' | grep -vx help | sort >"$T/ccmds"
	sort "$T/commands" >"$T/hcmds"
	if test -s "$T/hcmds" && cmp -s "$T/ccmds" "$T/hcmds"; then
		ok "completion offers the commands of wodanc --help"
	else
		bad "completion commands differ from wodanc --help" \
			"(< help, > completion)"
		diff "$T/hcmds" "$T/ccmds" | grep '^[<>]' | sed 's/^/    | /'
	fi

	for c in $(cat "$T/commands"); do
		"$WODANC" "$c" --help >"$T/chelp" 2>&1
		comp wodanc "$c" -- >"$T/copts"
		missing=
		for o in $(listed_opts "$T/chelp"); do
			grep -qx -- "--$o" "$T/copts" || missing="$missing --$o"
		done
		if test -z "$missing"; then
			ok "completion offers every long option of '$c --help'"
		else
			bad "completion for $c lacks:$missing"
		fi
	done

	comp wodanc dump --format '' | sort | tr '\n' ' ' >"$T/fmt"
	if test "$(cat "$T/fmt")" = "cbor text "; then
		ok "completion: dump --format offers cbor text"
	else
		bad "completion: dump --format offers '$(cat "$T/fmt")'"
	fi
	comp wodanc bench --workload '' | sort | tr '\n' ' ' >"$T/wl"
	if test "$(cat "$T/wl")" = "dbbench index original "; then
		ok "completion: bench --workload offers the workloads"
	else
		bad "completion: bench --workload offers '$(cat "$T/wl")'"
	fi
	: >"$T/somefile.img"
	comp wodanc check "$T/somef" >"$T/cfile"
	if grep -qx "$T/somefile.img" "$T/cfile"; then
		ok "completion: DEVICE completes file names"
	else
		bad "completion: DEVICE does not complete file names"
		show "$T/cfile"
	fi
fi

echo "# $pass passed, $fail failed, $skip skipped"
test "$fail" -eq 0
