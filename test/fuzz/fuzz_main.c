/*
 * fuzz_main.c - runs the fuzz targets of fuzz.h.
 *
 * -DFUZZ_STANDALONE: an ordinary program that replays files.  Each argument
 * is a file or a directory; a directory's name is its target
 * (corpus/envelope/ replays into fuzz_envelope), and so is a file's parent
 * directory (corpus/ itself means canonjson).
 *
 * -DFUZZ_TARGET=envelope (with clang -fsanitize=fuzzer): the libFuzzer entry
 * of that target.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "sign.h"

/* Public halves of the test keys in test/vectors (test keys only). */
static const char ed25519_pem[] =
"-----BEGIN PUBLIC KEY-----\n"
"MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n"
"-----END PUBLIC KEY-----\n";

static const char rsa_pem[] =
"-----BEGIN PUBLIC KEY-----\n"
"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA08YkWeqsyYTTh+7drE6h\n"
"5BQ6CWOuaOmZqraaRiF0zm9/kDOvlFInJNcPTeLFw01LUyr8296C8/eXqojQqTcm\n"
"R0qiatuee8v1pJB73gOG/B5SHYVU9hH0ng4XS9SSPUHB8GnzhkEHdNeBevCGyESd\n"
"hT8Qo57lgJDnJRmZ+SlSto4U4c8Xk6vAojs2pTiEKKBfY7IloTeZJAUGODzc08Ca\n"
"rCt9zZBRj1MOekuxbh+F3JTuCNVuYWnt8ByNJWYPP2jdPheSZEZdx66p/gR23ggi\n"
"1P990hfrKCVjU/331OP5IL5L+GDkIYRPbesxZJrpPGQWN3tzzUPNq3YDQuS4LrS9\n"
"CwIDAQAB\n"
"-----END PUBLIC KEY-----\n";

static dci_key *ed_key;
static dci_key *rsa_key;

const struct dci_key *
fuzz_ed25519_key(void)
{
	char		err[256];

	if (ed_key == NULL && (ed_key = dci_key_load_public(ed25519_pem, err, sizeof(err))) == NULL)
		fuzz_fail("main", err, NULL, NULL);
	return ed_key;
}

const struct dci_key *
fuzz_rsa_key(void)
{
	char		err[256];

	if (rsa_key == NULL && (rsa_key = dci_key_load_public(rsa_pem, err, sizeof(err))) == NULL)
		fuzz_fail("main", err, NULL, NULL);
	return rsa_key;
}

void
fuzz_fail(const char *target, const char *what, const dbuf *a, const dbuf *b)
{
	fprintf(stderr, "fuzz_%s: %s\n", target, what);
	if (a && a->data)
		fprintf(stderr, "first:  %.500s\n", a->data);
	if (b && b->data)
		fprintf(stderr, "second: %.500s\n", b->data);
	abort();
}

#ifdef FUZZ_TARGET

#define FUZZ_CAT(a, b) a##b
#define FUZZ_FN(t) FUZZ_CAT(fuzz_, t)

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return FUZZ_FN(FUZZ_TARGET) (data, size);
}

#endif							/* FUZZ_TARGET */

#ifdef FUZZ_STANDALONE

static const struct
{
	const char *name;
	int			(*fn) (const uint8_t *, size_t);
}			targets[] = {
	{"canonjson", fuzz_canonjson},
	{"envelope", fuzz_envelope},
	{"records", fuzz_records},
	{"sigfield", fuzz_sigfield},
	{"jws", fuzz_jws},
	{"oauth2", fuzz_oauth2},
	{"retry", fuzz_retry},
	{"callback", fuzz_callback},
	{"ack", fuzz_ack},
};

#define NTARGETS (sizeof(targets) / sizeof(targets[0]))

static int	counts[NTARGETS];

/* Index of the target a directory name stands for; -1 when none. */
static int
target_of(const char *dir)
{
	const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

	if (strcmp(base, "corpus") == 0 || *base == '\0' || strcmp(base, ".") == 0)
		return 0;
	for (size_t i = 0; i < NTARGETS; i++)
		if (strcmp(base, targets[i].name) == 0)
			return (int) i;
	return -1;
}

static int
run_file(const char *path, int t)
{
	FILE	   *f = fopen(path, "rb");
	uint8_t    *buf = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		got;

	if (f == NULL)
	{
		fprintf(stderr, "fuzz: cannot open %s\n", path);
		return 2;
	}
	do
	{
		if (cap - len < 4096)
		{
			uint8_t    *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (nb == NULL)
			{
				fprintf(stderr, "fuzz: out of memory\n");
				free(buf);
				fclose(f);
				return 2;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	fclose(f);
	targets[t].fn(buf, len);
	free(buf);
	counts[t]++;
	return 0;
}

static int
run_dir(const char *dir, int t)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	int			rc = 0;

	if (d == NULL)
	{
		fprintf(stderr, "fuzz: cannot open %s\n", dir);
		return 2;
	}
	while (rc == 0 && (e = readdir(d)) != NULL)
	{
		char		path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(path, t);
	}
	closedir(d);
	return rc;
}

int
main(int argc, char **argv)
{
	int			total = 0;

	for (int i = 1; i < argc; i++)
	{
		struct stat st;
		char		parent[4096];
		int			t;
		int			rc;

		if (stat(argv[i], &st) != 0)
		{
			fprintf(stderr, "fuzz: cannot open %s\n", argv[i]);
			return 2;
		}
		if (S_ISDIR(st.st_mode))
		{
			char		dir[4096];

			snprintf(dir, sizeof(dir), "%s", argv[i]);
			while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
				dir[strlen(dir) - 1] = '\0';
			t = target_of(dir);
			if (t < 0)
			{
				fprintf(stderr, "fuzz: no target named %s\n", dir);
				return 2;
			}
			rc = run_dir(dir, t);
		}
		else
		{
			snprintf(parent, sizeof(parent), "%s", argv[i]);
			if (strrchr(parent, '/'))
				*strrchr(parent, '/') = '\0';
			else
				parent[0] = '\0';
			t = target_of(parent);
			rc = t < 0 ? 2 : run_file(argv[i], t);
			if (t < 0)
				fprintf(stderr, "fuzz: no target for %s\n", argv[i]);
		}
		if (rc != 0)
			return rc;
	}
	for (size_t t = 0; t < NTARGETS; t++)
	{
		if (counts[t] > 0)
			printf("fuzz_%s: %d inputs ok\n", targets[t].name, counts[t]);
		total += counts[t];
	}
	printf("fuzz: %d inputs ok\n", total);
	dci_key_free(ed_key);
	dci_key_free(rsa_key);
	return 0;
}

#endif							/* FUZZ_STANDALONE */
