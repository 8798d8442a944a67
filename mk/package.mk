# mk/package.mk — make install, make uninstall, make deb (issue 18, PKG).
# Included by the Makefile; docs/OPERATIONS.md "Install" and "Upgrade".
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   the release binary, the web
#       UI, the systemd unit, its settings file, the manual page and docs
#   make uninstall [PREFIX=...] [DESTDIR=]        the same files again
#   make deb [DEB=build/klantstem_V_ARCH.deb]      a Debian package: a DESTDIR
#       staging of `make install PREFIX=/usr`, packed by dpkg-deb
#
# Both take the release binary $(REL_DIR)/klantstem as it is (`make test`
# builds it too): nothing is compiled for them. The installed binary finds
# PREFIX/share/klantstem/web from its own path (src/cli/main.c,
# cli_web_root_default), so one build serves any PREFIX.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR     = $(PREFIX)/bin
DATADIR    = $(PREFIX)/share/klantstem
DOCDIR     = $(PREFIX)/share/doc/klantstem
MANDIR     = $(PREFIX)/share/man
# Debian 12 keeps the system's own units in /lib/systemd/system and its
# settings in /etc; any other PREFIX keeps both below it (systemd also reads
# /usr/local/lib/systemd/system).
UNITDIR    = $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
SYSCONFDIR = $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
# Every path below is written as $(KS_D)$(...): DESTDIR made absolute (the
# web files are installed from inside web/).
KS_D = $(abspath $(DESTDIR))

# The version has one home: KS_VERSION in src/cli/main.c.
KS_VERSION := $(shell sed -n 's/^\#define KS_VERSION "\(.*\)"$$/\1/p' src/cli/main.c)
KS_SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	       -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@VERSION@|$(KS_VERSION)|g'
# The UI's files the server serves (web/vendor comes from `make web`).
KS_WEB_PARTS := index.html css img js vendor

.PHONY: install uninstall deb

install: $(REL_DIR)/klantstem $(WEB_VENDOR)
	@test -n "$(KS_VERSION)" || { echo "mk/package.mk: no KS_VERSION in src/cli/main.c" >&2; exit 1; }
	install -d -m 0755 $(KS_D)$(BINDIR) $(KS_D)$(DATADIR) $(KS_D)$(DOCDIR) \
		$(KS_D)$(MANDIR)/man1 $(KS_D)$(UNITDIR) $(KS_D)$(SYSCONFDIR)/default
	install -m 0755 $(REL_DIR)/klantstem $(KS_D)$(BINDIR)/klantstem
	rm -rf $(KS_D)$(DATADIR)/web
	cd web && find $(KS_WEB_PARTS) -type f ! -name '*.tmp' | LC_ALL=C sort | \
		while read -r f; do install -D -m 0644 "$$f" "$(KS_D)$(DATADIR)/web/$$f" || exit 1; done
	$(KS_SUBST) packaging/klantstem.service.in >$(KS_D)$(UNITDIR)/klantstem.service
	chmod 0644 $(KS_D)$(UNITDIR)/klantstem.service
	@# the settings file is the administrator's once installed: kept
	test -e $(KS_D)$(SYSCONFDIR)/default/klantstem || { \
		$(KS_SUBST) packaging/klantstem.default >$(KS_D)$(SYSCONFDIR)/default/klantstem && \
		chmod 0600 $(KS_D)$(SYSCONFDIR)/default/klantstem; }
	$(KS_SUBST) packaging/klantstem.1 | gzip -9 -n >$(KS_D)$(MANDIR)/man1/klantstem.1.gz
	chmod 0644 $(KS_D)$(MANDIR)/man1/klantstem.1.gz
	install -m 0644 README.md LICENSE docs/*.md $(KS_D)$(DOCDIR)/

# Removes what install put there; the settings file only when unchanged.
# The database is never touched (it is not below PREFIX).
uninstall:
	rm -f $(KS_D)$(BINDIR)/klantstem $(KS_D)$(UNITDIR)/klantstem.service \
		$(KS_D)$(MANDIR)/man1/klantstem.1.gz
	rm -rf $(KS_D)$(DATADIR) $(KS_D)$(DOCDIR)
	@if [ -e $(KS_D)$(SYSCONFDIR)/default/klantstem ]; then \
		if $(KS_SUBST) packaging/klantstem.default | cmp -s - $(KS_D)$(SYSCONFDIR)/default/klantstem; then \
			rm -f $(KS_D)$(SYSCONFDIR)/default/klantstem; \
		else echo "kept $(KS_D)$(SYSCONFDIR)/default/klantstem (changed)"; fi; fi

# ---- the Debian package -----------------------------------------------------
# No debhelper: the staging is `make install`'s, dpkg-shlibdeps names the
# libraries' packages, the rest of Depends is data the binary reads at run
# time (language profiles, the PDF report's font).
DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_VERSION ?= $(KS_VERSION)
DEB_WORK     = $(REL_DIR)/deb
DEB_ROOT     = $(DEB_WORK)/debian/klantstem
DEB         ?= build/klantstem_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_DEPENDS  = libexttextcat-data, fonts-dejavu-core

deb: $(REL_DIR)/klantstem $(WEB_VENDOR)
	rm -rf $(DEB_WORK)
	$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(DEB_ROOT)
	strip --strip-unneeded --remove-section=.comment --remove-section=.note \
		$(DEB_ROOT)/usr/bin/klantstem
	@# Debian's copyright file carries the licence; LICENSE would repeat it
	{ cat packaging/deb/copyright.head; sed -e 's/^[[:space:]]*$$/./' -e 's/^/ /' LICENSE; } \
		>$(DEB_ROOT)/usr/share/doc/klantstem/copyright
	rm -f $(DEB_ROOT)/usr/share/doc/klantstem/LICENSE
	@# a native package's changelog, dated by the last commit when there is one
	d=$$(git log -1 --format=%cD 2>/dev/null || date -R) && \
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e "s|@DATE@|$${d:-$$(date -R)}|" packaging/deb/changelog.in | \
		gzip -9 -n >$(DEB_ROOT)/usr/share/doc/klantstem/changelog.gz
	chmod 0644 $(DEB_ROOT)/usr/share/doc/klantstem/changelog.gz
	install -d -m 0755 $(DEB_ROOT)/DEBIAN
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(DEB_ROOT)/DEBIAN/
	install -m 0644 packaging/deb/conffiles $(DEB_ROOT)/DEBIAN/
	printf 'Source: klantstem\n\nPackage: klantstem\nArchitecture: any\n' >$(DEB_WORK)/debian/control
	deps=$$(cd $(DEB_WORK) && dpkg-shlibdeps -O -e debian/klantstem/usr/bin/klantstem | \
		sed -n 's/^shlibs:Depends=//p') && test -n "$$deps" && \
	size=$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1) && \
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	    -e "s|@DEPENDS@|$$deps, $(DEB_DEPENDS)|" -e "s|@INSTALLED_SIZE@|$$size|" \
		packaging/deb/control.in >$(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\0' | \
		LC_ALL=C sort -z | xargs -0 md5sum >DEBIAN/md5sums
	@mkdir -p $(dir $(DEB))
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB)
	@ls -l $(DEB)
