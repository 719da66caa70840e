/*
 * txn.c - the async transactions this registry ACKed (search, subscribe,
 * unsubscribe), for /registry/sync/txn/status: each keeps the message its
 * callback carries (or would carry: cbnone), found by the requester's
 * sender_id and the transaction_id or correlation_id.
 *
 * The last TXN_KEEP transactions are kept; older ones are forgotten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define TXN_KEEP 100000

typedef struct txn_rec
{
	char	   *sender;
	char	   *transaction_id;
	char	   *correlation_id;
	char		txn_type[16];
	char		status[8];
	char	   *message;
	char	   *pending;
	long		total,
				completed;
	int64_t		ready_ms;
	char	   *key_txn;		/* its keys in the maps */
	char	   *key_corr;
} txn_rec;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static strmap by_txn;			/* sender \x1f transaction_id -> txn_rec */
static strmap by_corr;			/* sender \x1f correlation_id -> txn_rec */
static txn_rec **ring;			/* oldest at ring[head] */
static size_t head,
			count;

int64_t
txn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
txn_init(void)
{
	strmap_init(&by_txn, 256);
	strmap_init(&by_corr, 256);
	ring = calloc(TXN_KEEP, sizeof(txn_rec *));
}

static void
rec_free(txn_rec *t)
{
	if (t == NULL)
		return;
	free(t->sender);
	free(t->transaction_id);
	free(t->correlation_id);
	free(t->message);
	free(t->pending);
	free(t->key_txn);
	free(t->key_corr);
	free(t);
}

static char *
key_of(const char *sender, const char *id)
{
	size_t		a = strlen(sender),
				b = strlen(id);
	char	   *k = malloc(a + b + 2);

	if (k)
	{
		memcpy(k, sender, a);
		k[a] = '\x1f';
		memcpy(k + a + 1, id, b + 1);
	}
	return k;
}

/* Drop t's map entries if they still point to it (lock held). */
static void
unmap(txn_rec *t)
{
	if (t->key_txn && strmap_get(&by_txn, t->key_txn, strlen(t->key_txn)) == t)
		strmap_delete(&by_txn, t->key_txn, strlen(t->key_txn), NULL);
	if (t->key_corr && strmap_get(&by_corr, t->key_corr, strlen(t->key_corr)) == t)
		strmap_delete(&by_corr, t->key_corr, strlen(t->key_corr), NULL);
}

void
txn_shutdown(void)
{
	for (size_t i = 0; ring && i < count; i++)
		rec_free(ring[(head + i) % TXN_KEEP]);
	free(ring);
	ring = NULL;
	count = head = 0;
	strmap_free(&by_txn, NULL);
	strmap_free(&by_corr, NULL);
}

static char *
dup0(const char *s)
{
	return strdup(s ? s : "");
}

int
txn_store(const txn_info *in)
{
	txn_rec    *t = calloc(1, sizeof(txn_rec));

	if (t == NULL || ring == NULL)
	{
		free(t);
		return -1;
	}
	t->sender = dup0(in->sender);
	t->transaction_id = dup0(in->transaction_id);
	t->correlation_id = dup0(in->correlation_id);
	t->message = dup0(in->message);
	t->pending = in->pending ? strdup(in->pending) : NULL;
	t->key_txn = key_of(t->sender ? t->sender : "", t->transaction_id ? t->transaction_id : "");
	t->key_corr = key_of(t->sender ? t->sender : "", t->correlation_id ? t->correlation_id : "");
	snprintf(t->txn_type, sizeof(t->txn_type), "%s", in->txn_type);
	snprintf(t->status, sizeof(t->status), "%s", in->status[0] ? in->status : "succ");
	t->total = in->total;
	t->completed = in->completed;
	t->ready_ms = in->ready_ms;
	if (!t->sender || !t->transaction_id || !t->correlation_id || !t->message ||
		!t->key_txn || !t->key_corr || (in->pending && !t->pending))
	{
		rec_free(t);
		return -1;
	}
	pthread_mutex_lock(&lock);
	if (count == TXN_KEEP)
	{
		txn_rec    *old = ring[head];

		unmap(old);
		rec_free(old);
		head = (head + 1) % TXN_KEEP;
		count--;
	}
	ring[(head + count) % TXN_KEEP] = t;
	count++;
	/* a transaction_id used again: the latest wins */
	strmap_put(&by_txn, t->key_txn, strlen(t->key_txn), t, NULL);
	strmap_put(&by_corr, t->key_corr, strlen(t->key_corr), t, NULL);
	pthread_mutex_unlock(&lock);
	return 0;
}

int
txn_find(const char *sender, bool by_correlation, const char *id, txn_info *out)
{
	char	   *k = key_of(sender, id);
	txn_rec    *t;
	int			rc = -1;

	memset(out, 0, sizeof(*out));
	if (k == NULL)
		return -1;
	pthread_mutex_lock(&lock);
	t = strmap_get(by_correlation ? &by_corr : &by_txn, k, strlen(k));
	if (t)
	{
		bool		ready = txn_now_ms() >= t->ready_ms || t->pending == NULL;

		out->sender = strdup(t->sender);
		out->transaction_id = strdup(t->transaction_id);
		out->correlation_id = strdup(t->correlation_id);
		out->message = strdup(ready ? t->message : t->pending);
		snprintf(out->txn_type, sizeof(out->txn_type), "%s", t->txn_type);
		snprintf(out->status, sizeof(out->status), "%s", ready ? t->status : "pdng");
		out->total = t->total;
		out->completed = ready ? t->completed : 0;
		out->ready_ms = t->ready_ms;
		rc = out->sender && out->transaction_id && out->correlation_id && out->message ? 0 : -1;
		if (rc < 0)
			txn_info_free(out);
	}
	pthread_mutex_unlock(&lock);
	free(k);
	return rc;
}

void
txn_info_free(txn_info *t)
{
	free((char *) t->sender);
	free((char *) t->transaction_id);
	free((char *) t->correlation_id);
	free((char *) t->message);
	memset(t, 0, sizeof(*t));
}

void
txn_forget(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < count; i++)
	{
		txn_rec    *t = ring[(head + i) % TXN_KEEP];

		unmap(t);
		rec_free(t);
	}
	head = count = 0;
	pthread_mutex_unlock(&lock);
}
