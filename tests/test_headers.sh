# tests/test_headers.sh -- every public header (include/*.h) stands alone:
#  - it compiles as the only include of a C file (C99, -Wall -Wextra
#    -Werror -pedantic), and of a C++ file when a C++ compiler exists;
#  - it can be included twice, and after/before every other public header
#    in both orders (include guards, no header needing another one first);
#  - its include guard is its first directive (nothing, not even another
#    public header, is included outside it);
#  - it is installed: listed once in include_HEADERS of Makefile.am or a
#    fragment it includes (a header
#    that another installed header includes but that is not installed makes
#    the installed headers unusable).
# CC and CXX may name the compilers (default cc and c++).  POSIX sh.
set -u
top_srcdir=${top_srcdir:-.}
inc="$top_srcdir/include"
CC=${CC:-cc}
CXX=${CXX:-c++}
T=$(mktemp -d "${TMPDIR:-/tmp}/wodan-headers.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; sed 's/^/    | /' "$T/err"; }

have_cxx=0
if command -v "$CXX" >/dev/null 2>&1; then
	have_cxx=1
else
	echo "SKIP: C++ checks: no C++ compiler ($CXX)"
fi

# try NAME SOURCE-LINES...: compile a C (and C++) file made of the lines.
try() {
	name=$1
	shift
	printf '%s\n' "$@" 'int wodan_headers_test_(void);' \
		'int wodan_headers_test_(void) { return 0; }' >"$T/t.c"
	if "$CC" -std=c99 -Wall -Wextra -Werror -pedantic -I"$inc" \
		-c "$T/t.c" -o "$T/t.o" 2>"$T/err"; then
		ok "C: $name"
	else
		bad "C: $name"
	fi
	[ "$have_cxx" = 1 ] || return 0
	cp "$T/t.c" "$T/t.cc"
	if "$CXX" -Wall -Wextra -Werror -pedantic -I"$inc" \
		-c "$T/t.cc" -o "$T/t.o" 2>"$T/err"; then
		ok "C++: $name"
	else
		bad "C++: $name"
	fi
}

headers=$(cd "$inc" && ls *.h)
[ -n "$headers" ] || { echo "FAIL - no headers in $inc"; exit 1; }
for h in $headers; do
	try "$h alone" "#include \"$h\""
	try "$h twice" "#include \"$h\"" "#include \"$h\""
	for o in $headers; do
		[ "$o" = "$h" ] && continue
		try "$o then $h" "#include \"$o\"" "#include \"$h\""
	done
	# guard first: the first preprocessor line is the #ifndef of the
	# guard (an #include before it made wodan.h and wodan_backend.h
	# include each other, each one half-defined while the other is read)
	first=$(grep '^[[:space:]]*#' "$inc/$h" | head -n 1)
	case $first in
	'#ifndef '*) ok "$h: the include guard comes first" ;;
	*)
		echo "first directive: $first" >"$T/err"
		bad "$h: something precedes the include guard"
		;;
	esac
	# installed: listed exactly once in include_HEADERS (Makefile.am and
	# the */*.mk fragments it includes; a second listing makes `make
	# install` fail)
	n=$(for m in "$top_srcdir"/Makefile.am "$top_srcdir"/*/*.mk; do
		sed -n '/^include_HEADERS/,/[^\\]$/p' "$m"
	done | tr ' \t' '\n\n' | grep -c "^include/$h\$")
	: >"$T/err"
	if [ "$n" = 1 ]; then
		ok "$h is in include_HEADERS once"
	else
		bad "$h is listed $n times in include_HEADERS (Makefile.am, */*.mk)"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
