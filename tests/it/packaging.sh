#!/usr/bin/env bash
# tests/it/packaging.sh: the packages and the service (issue 15, point 1).
# Not in TESTS (it builds the whole tree twice, once as .debs and once in
# make distcheck): script/test runs it once, counted like every script.
#
# 1. The .debs: a copy of the source tree with packaging/debian as
#    debian/, built with dpkg-buildpackage -us -uc -b; their contents,
#    conffiles, dependencies and maintainer scripts (dpkg-deb -c, -I, -e).
# 2. The unit, from the built milepostd package unpacked into a root:
#    systemd-analyze verify, and every hardening setting the issue names.
# 3. The Dockerfile: the machine cannot pull images (no registry), so its
#    structure is checked instead: two stages on debian:12-slim, a
#    non-root USER, a HEALTHCHECK on /healthz; its configuration loads.
# 4. make distcheck in $top_builddir, with TESTS limited to the unit tests
#    (the distribution's tree is built, installed and uninstalled; the
#    integration suite runs in the ordinary make check).
. "$(dirname "$0")/lib.sh"
plan 55

src="$top_srcdir"
pkg="$src/packaging"
have() { command -v "$1" >/dev/null; }
for t in dpkg-buildpackage dh fakeroot dpkg-deb systemd-analyze; do
	check "$t is installed (script/test installs it)" have "$t"
done

# 1. Build the packages from a copy of the tree (never in the tree).
mkdir -p "$T/deb/src"
tar -C "$src" -c --exclude=./build --exclude=./.git --exclude=./autom4te.cache \
    --exclude=./config.status --exclude=./config.log . | tar -x -C "$T/deb/src"
cp -r "$pkg/debian" "$T/deb/src/debian"
(cd "$T/deb/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
    dpkg-buildpackage -us -uc -b) > "$T/deb/build.log" 2>&1; rc=$?
eq "dpkg-buildpackage -us -uc -b builds (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || tail -30 "$T/deb/build.log" | sed 's/^/# /'
agent=$(ls "$T"/deb/milepost_*.deb 2>/dev/null | head -1)
daemon=$(ls "$T"/deb/milepostd_*.deb 2>/dev/null | head -1)
check "the milepost package is built" test -f "$agent"
check "the milepostd package is built" test -f "$daemon"

has() {		# has DEB PATH: the package's file list holds ./PATH
	dpkg-deb -c "$1" 2>/dev/null | awk '{print $6}' | grep -qx "./$2"
}
check "milepost holds /usr/bin/milepost" has "$agent" usr/bin/milepost
check "milepost holds milepost(1)" has "$agent" usr/share/man/man1/milepost.1.gz
check "milepostd holds /usr/bin/milepostd" has "$daemon" usr/bin/milepostd
check "milepostd holds milepostd(8)" has "$daemon" usr/share/man/man8/milepostd.8.gz
check "milepostd holds milepost.yaml(5)" has "$daemon" usr/share/man/man5/milepost.yaml.5.gz
check "milepostd holds the unit" has "$daemon" lib/systemd/system/milepostd.service
check "milepostd holds /etc/milepost/milepost.yaml" has "$daemon" etc/milepost/milepost.yaml
check "milepostd holds /var/lib/milepost" has "$daemon" var/lib/milepost/
check "milepost does not carry the daemon" cmd_lacks 'milepostd' \
    sh -c "dpkg-deb -c '$agent' | awk '{print \$6}'"

mkdir -p "$T/ctl"
dpkg-deb -e "$daemon" "$T/ctl"
check "the configuration is a conffile" grep -qx /etc/milepost/milepost.yaml "$T/ctl/conffiles"
check "postinst makes the milepost system user and group" \
    grep -q 'adduser --system --group --home /var/lib/milepost' "$T/ctl/postinst"
check "postinst makes the configuration root:milepost 0640 (statoverride)" \
    grep -q 'dpkg-statoverride --update --add root milepost 0640 "$CONF"' "$T/ctl/postinst"
check "postinst enables and starts the unit (debhelper's snippets)" \
    grep -q 'deb-systemd-helper.*milepostd.service' "$T/ctl/postinst"
check "postrm forgets the overrides on purge, keeping the ledger" \
    grep -q 'the ledger in /var/lib/milepost is kept' "$T/ctl/postrm"
check "the maintainer scripts are valid sh" sh -n "$T/ctl/postinst"
dpkg-deb -I "$daemon" > "$T/info"
check "milepostd depends on adduser" grep -qE '^ Depends:.*\badduser\b' "$T/info"
check "milepostd depends on its libraries (shlibs: libevent)" grep -qE '^ Depends:.*libevent' "$T/info"
dpkg-deb -I "$agent" > "$T/info"
check "milepost depends on its libraries (shlibs: libgit2)" grep -qE '^ Depends:.*libgit2' "$T/info"

# 2. The unit, verified in the unpacked root (its binary, its man pages).
root="$T/root"
dpkg-deb -x "$daemon" "$root"
dpkg-deb -x "$agent" "$root"
"$root/usr/bin/milepostd" -n -c "$root/etc/milepost/milepost.yaml" 2>"$T/err"; rc=$?
eq "the packaged configuration loads (milepostd -n)" 0 "$rc"
check "it is safe: loopback only, no secret" cmd_lacks 'agent_secret: "whsec\|^tokens:\|0\.0\.0\.0' \
    grep -v '^#' "$root/etc/milepost/milepost.yaml"
# verify checks that ExecStart's binary exists and that the man pages of
# Documentation= open: the copy it reads names the unpacked binary, and
# MANPATH the unpacked pages (--root would want a whole system there).
# It exits 0 on an unknown key too, so its output must be empty as well.
mkdir -p "$T/unit"
sed "s|/usr/bin/milepostd|$root/usr/bin/milepostd|g" \
    "$root/lib/systemd/system/milepostd.service" > "$T/unit/milepostd.service"
MANPATH="$root/usr/share/man" systemd-analyze verify \
    "$T/unit/milepostd.service" > "$T/verify" 2>&1; rc=$?
eq "systemd-analyze verify passes: exit 0, no warning" "0 0" "$rc $(wc -l < "$T/verify")"
sed 's/^/# /' "$T/verify"
echo "Foo=bar" >> "$T/unit/milepostd.service"
MANPATH="$root/usr/share/man" systemd-analyze verify \
    "$T/unit/milepostd.service" > "$T/verify" 2>&1
check "the same verify does warn about a key it does not know" grep -q "Unknown key 'Foo'" "$T/verify"
unit="$pkg/milepostd.service"
same "the packaged unit is packaging/milepostd.service" \
    "$(sha256sum < "$unit")" "$(sha256sum < "$root/lib/systemd/system/milepostd.service")"
for d in 'User=milepost' 'StateDirectory=milepost' 'ProtectSystem=strict' \
    'ProtectHome=yes' 'NoNewPrivileges=yes' 'PrivateTmp=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
    'SystemCallFilter=@system-service' 'ExecReload=/bin/kill -HUP $MAINPID' \
    'Restart=on-failure'; do
	check "the unit sets $d" grep -qxF "$d" "$unit"
done
check "packaging/README.md records systemd-analyze security" \
    grep -q 'systemd-analyze security milepostd.service' "$pkg/README.md"

# 3. The Dockerfile's structure.
df="$pkg/Dockerfile"
eq "two stages, both on debian:12-slim, the first named build" \
    "FROM debian:12-slim AS build|FROM debian:12-slim" \
    "$(grep '^FROM ' "$df" | paste -sd '|')"
check "the run stage takes the build's binaries (COPY --from=build)" \
    grep -q '^COPY --from=build /out/usr/bin/milepost /out/usr/bin/milepostd /usr/bin/' "$df"
eq "it runs as a non-root user (the last USER)" "milepost:milepost" \
    "$(sed -n 's/^USER //p' "$df" | tail -1)"
check "it has a HEALTHCHECK" grep -q '^HEALTHCHECK ' "$df"
check "the HEALTHCHECK asks /healthz" grep -q 'http://127.0.0.1:8780/healthz' "$df"
# The run stage installs every package whose library the built binaries
# link directly (their NEEDED entries, found through ldd, then dpkg -S;
# apt brings what those need), so the image's milepostd can start at all.
for b in "$root/usr/bin/milepost" "$root/usr/bin/milepostd"; do
	ldd "$b" > "$T/ldd"
	objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }' |
	    while read -r n; do awk -v n="$n" '$1 == n && $3 ~ /^\// { print $3 }' "$T/ldd"; done
done | sort -u |
    while read -r so; do dpkg -S "$(readlink -f "$so")" 2>/dev/null || dpkg -S "$so"; done |
    cut -d: -f1 | sort -u | grep -v -x -e libc6 -e libgcc-s1 -e libstdc++6 > "$T/needs"
sed -n '/^FROM debian:12-slim$/,$p' "$df" | tr -s ' \\' '\n' > "$T/run-stage"
missing=$(grep -v -x -F -f "$T/run-stage" "$T/needs" | paste -sd ' ')
check "the run stage installs every library package the binaries load ($(wc -l < "$T/needs") packages; missing: ${missing:-none})" \
    test -s "$T/needs" -a -z "$missing"
# The build stage and debian/control name every -dev package configure.ac
# requires (its "apt-get install X" hints), so both builds can run.
grep -o 'apt-get install [a-z0-9.+-]*' "$top_srcdir/configure.ac" | awk '{ print $3 }' | sort -u > "$T/devs"
missing=$(for d in $(cat "$T/devs"); do grep -q -w -- "$d" "$df" && grep -q -w -- "$d" "$pkg/debian/control" || echo "$d"; done | paste -sd ' ')
check "the build stage and debian/control name every package configure requires ($(wc -l < "$T/devs"); missing: ${missing:-none})" \
    test -s "$T/devs" -a -z "$missing"
"$root/usr/bin/milepostd" -n -c "$pkg/docker.yaml" 2>/dev/null; rc=$?
eq "the image's configuration loads (milepostd -n)" 0 "$rc"

# 4. make distcheck: the tarball builds, installs and uninstalls cleanly.
(cd "$top_builddir" && make -s distcheck TESTS=tests/check_milepost \
    DISTCHECK_CONFIGURE_FLAGS=) > "$T/distcheck.log" 2>&1; rc=$?
eq "make distcheck passes (exit 0)" 0 "$rc"
[ "$rc" -eq 0 ] || tail -30 "$T/distcheck.log" | sed 's/^/# /'
tarball=$(ls -t "$top_builddir"/milepost-*.tar.gz 2>/dev/null | head -1)
check "the tarball is there" test -f "$tarball"
tar -tzf "$tarball" > "$T/dist" 2>/dev/null
check "it carries packaging/debian/rules" grep -q '/packaging/debian/rules$' "$T/dist"
check "it carries the unit and the Dockerfile" grep -q '/packaging/milepostd.service$' "$T/dist"
check "it carries this test" grep -q '/tests/it/packaging.sh$' "$T/dist"
finish
