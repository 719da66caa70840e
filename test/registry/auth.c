/*
 * auth.c - bearer tokens: static ones (--token, /admin/tokens) and OAuth2
 * client-credentials tokens issued by /oauth2/client/token.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "registry.h"

typedef struct client
{
	char	   *id;
	char	   *secret;
	long		ttl;
	client_auth method;			/* the only way this client may authenticate */
} client;

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static strmap static_tokens;	/* token -> (void *) 1 */
static strmap issued;			/* token -> (void *) (intptr_t) expiry */
static client *clients;
static int	nclients;
static long default_ttl;
static unsigned issued_since_sweep;

void
auth_init(long ttl)
{
	default_ttl = ttl;
	strmap_init(&static_tokens, 16);
	strmap_init(&issued, 1024);
}

void
auth_add_static_token(const char *token)
{
	pthread_mutex_lock(&auth_lock);
	strmap_put(&static_tokens, token, strlen(token), (void *) 1, NULL);
	pthread_mutex_unlock(&auth_lock);
}

int
auth_add_client(const char *id, const char *secret, long ttl, client_auth method)
{
	int			rc = 0;

	pthread_mutex_lock(&auth_lock);
	for (int i = 0; i < nclients; i++)
	{
		if (strcmp(clients[i].id, id) == 0)
		{
			char	   *s = strdup(secret);

			if (s == NULL)
			{
				rc = -1;
				goto out;
			}
			free(clients[i].secret);
			clients[i].secret = s;
			clients[i].ttl = ttl;
			clients[i].method = method;
			goto out;
		}
	}
	{
		client	   *n = realloc(clients, (nclients + 1) * sizeof(client));

		if (n == NULL)
		{
			rc = -1;
			goto out;
		}
		clients = n;
		clients[nclients].id = strdup(id);
		clients[nclients].secret = strdup(secret);
		clients[nclients].ttl = ttl;
		clients[nclients].method = method;
		if (clients[nclients].id == NULL || clients[nclients].secret == NULL)
		{
			free(clients[nclients].id);
			free(clients[nclients].secret);
			rc = -1;
			goto out;
		}
		nclients++;
	}
out:
	pthread_mutex_unlock(&auth_lock);
	return rc;
}

static bool
expired_entry(const char *key, void *value, void *arg)
{
	return (intptr_t) value <= *(time_t *) arg;
}

static bool
any_entry(const char *key, void *value, void *arg)
{
	return true;
}

bool
auth_check_bearer(const char *h)
{
	const char *tok;
	size_t		len;
	bool		ok = false;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	tok = h + 7;
	while (*tok == ' ')
		tok++;
	len = strlen(tok);
	while (len > 0 && tok[len - 1] == ' ')
		len--;
	if (len == 0)
		return false;
	pthread_mutex_lock(&auth_lock);
	if (strmap_get(&static_tokens, tok, len))
		ok = true;
	else
	{
		intptr_t	exp = (intptr_t) strmap_get(&issued, tok, len);

		ok = exp != 0 && exp > (intptr_t) time(NULL);
	}
	pthread_mutex_unlock(&auth_lock);
	return ok;
}

void
auth_revoke_issued(void)
{
	pthread_mutex_lock(&auth_lock);
	strmap_sweep(&issued, any_entry, NULL);
	pthread_mutex_unlock(&auth_lock);
}

int
auth_issue(const char *id, const char *secret, client_auth method, const char *suffix,
		   char *token_out, size_t toklen, long *ttl)
{
	int			rc = -1;
	unsigned char rnd[24];
	dbuf		b;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	dbuf_init(&b);
	b64_encode(&b, rnd, sizeof(rnd), true);
	if (suffix)
		dbuf_puts(&b, suffix);	/* crlftoken: a token that would smuggle a header */
	pthread_mutex_lock(&auth_lock);
	for (int i = 0; i < nclients; i++)
	{
		/* constant-time compare: cheap, and the habit is right */
		size_t		sl = strlen(clients[i].secret);

		if (strcmp(clients[i].id, id) != 0)
			continue;
		if (strlen(secret) != sl || CRYPTO_memcmp(clients[i].secret, secret, sl) != 0 ||
			clients[i].method != method)
			break;				/* right secret, wrong method: refused too */
		*ttl = clients[i].ttl >= 0 ? clients[i].ttl : default_ttl;	/* -1: the default */
		snprintf(token_out, toklen, "%s", b.data);
		strmap_put(&issued, b.data, b.len, (void *) (intptr_t) (time(NULL) + *ttl), NULL);
		/* forget expired tokens now and then, so a long benchmark does not grow the table */
		if (++issued_since_sweep >= 4096)
		{
			time_t		now = time(NULL);

			strmap_sweep(&issued, expired_entry, &now);
			issued_since_sweep = 0;
		}
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&auth_lock);
	dbuf_free(&b);
	return rc;
}

/* ------------------------------------------------------ periodic revocation */

static pthread_mutex_t rev_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rev_cond = PTHREAD_COND_INITIALIZER;
static pthread_t rev_thread;
static bool rev_started,
			rev_stop;
static long rev_ms;				/* 0: stopped */
static uint64_t rev_gen;		/* bumped on every change: the wait restarts */

static void *
rev_main(void *arg)
{
	pthread_mutex_lock(&rev_lock);
	while (!rev_stop)
	{
		struct timespec due;
		uint64_t	gen = rev_gen;
		int			rc;

		if (rev_ms <= 0)
		{
			pthread_cond_wait(&rev_cond, &rev_lock);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &due);
		due.tv_sec += rev_ms / 1000;
		due.tv_nsec += (rev_ms % 1000) * 1000000L;
		if (due.tv_nsec >= 1000000000L)
		{
			due.tv_sec++;
			due.tv_nsec -= 1000000000L;
		}
		rc = 0;
		while (!rev_stop && gen == rev_gen && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&rev_cond, &rev_lock, &due);
		if (rc == ETIMEDOUT && gen == rev_gen && !rev_stop)
		{
			pthread_mutex_unlock(&rev_lock);
			auth_revoke_issued();
			STAT_ADD(revocations, 1);
			pthread_mutex_lock(&rev_lock);
		}
	}
	pthread_mutex_unlock(&rev_lock);
	return NULL;
}

int
auth_revoke_every(long ms)
{
	int			rc = 0;

	pthread_mutex_lock(&rev_lock);
	rev_ms = ms > 0 ? ms : 0;
	rev_gen++;
	if (!rev_started && rev_ms > 0)
	{
		if (pthread_create(&rev_thread, NULL, rev_main, NULL) == 0)
			rev_started = true;
		else
			rc = -1;
	}
	pthread_cond_signal(&rev_cond);
	pthread_mutex_unlock(&rev_lock);
	return rc;
}

long
auth_revoke_interval(void)
{
	long		ms;

	pthread_mutex_lock(&rev_lock);
	ms = rev_ms;
	pthread_mutex_unlock(&rev_lock);
	return ms;
}

void
auth_shutdown(void)
{
	pthread_mutex_lock(&rev_lock);
	rev_stop = true;
	pthread_cond_signal(&rev_cond);
	pthread_mutex_unlock(&rev_lock);
	if (rev_started)
		pthread_join(rev_thread, NULL);
	pthread_mutex_lock(&auth_lock);
	strmap_free(&static_tokens, NULL);
	strmap_free(&issued, NULL);
	for (int i = 0; i < nclients; i++)
	{
		free(clients[i].id);
		free(clients[i].secret);
	}
	free(clients);
	clients = NULL;
	nclients = 0;
	pthread_mutex_unlock(&auth_lock);
}

const char *
client_auth_name(client_auth m)
{
	return m == CLIENT_BASIC ? "basic" : m == CLIENT_QUERY ? "query" : "body";
}

int
client_auth_parse(const char *s, client_auth *m)
{
	if (strcmp(s, "body") == 0)
		*m = CLIENT_BODY;
	else if (strcmp(s, "basic") == 0)
		*m = CLIENT_BASIC;
	else if (strcmp(s, "query") == 0)
		*m = CLIENT_QUERY;
	else
		return -1;
	return 0;
}
