/*
 * nonls.c - preloaded with the sanitizer runtimes: PostgreSQL's startup
 * calls bindtextdomain, and glibc's gettext lock deadlocks under a
 * preloaded ASan runtime (the postmaster never starts).  The suite runs
 * untranslated, so message catalogs are not needed: these do nothing.
 */
char	   *bindtextdomain(const char *domain, const char *dir);
char	   *bind_textdomain_codeset(const char *domain, const char *codeset);
char	   *textdomain(const char *domain);

char *
bindtextdomain(const char *domain, const char *dir)
{
	(void) domain;
	return (char *) dir;
}

char *
bind_textdomain_codeset(const char *domain, const char *codeset)
{
	(void) domain;
	return (char *) codeset;
}

char *
textdomain(const char *domain)
{
	return (char *) domain;
}
