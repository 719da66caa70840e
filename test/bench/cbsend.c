/*
 * cbsend.c - a registry's side of DCI callbacks, for the listener's
 * benchmark and tests: signs callback envelopes with the extension's own
 * protocol code (dci-ed25519) and POSTs them to the callback listener.
 *
 *   cbsend keygen PRIV.pem
 *       write a new Ed25519 private key (mode 0600); print its public PEM
 *   cbsend envelope --key PRIV.pem --sender ID [options]
 *       print one signed callback envelope
 *   cbsend flood --url URL --key PRIV.pem --sender ID [--senders 8] [--n N] [options]
 *       N callbacks from concurrent senders, one keep-alive connection each;
 *       every one must be answered 200 with ack_status ACK
 *   cbsend latency --url URL --key PRIV.pem --sender ID --conninfo CONN [--n N] [options]
 *       one callback at a time: from the POST to a LISTEN dci_inbox session
 *       seeing its notification
 *
 * options: --action on-search|notify|on-subscribe|on-unsubscribe|txn-on-status
 *          (default on-search), --receiver ID, --transaction T (one transaction
 *          id for all) or --txn-prefix P (transaction P-<i>), --message-id M,
 *          --correlation-id C, --presign (flood: sign everything before the clock starts)
 *
 * flood prints:   callbacks=N acked=N failed=F seconds=S rate=R ack_median_ms=M ack_p99_ms=P
 * latency prints: callbacks=N listen_median_ms=M listen_p90_ms=P listen_p99_ms=Q ack_median_ms=A
 * Exit status 1 when any callback was not acked.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "canonjson.h"
#include "envelope.h"
#include "sign.h"

typedef struct opts
{
	const char *url;
	const char *keyfile;
	const char *sender;
	const char *receiver;
	const char *action;
	const char *transaction;
	const char *txn_prefix;
	const char *message_id;
	const char *correlation_id;
	const char *conninfo;
	long		n;
	int			senders;
	int			presign;
} opts;

static opts o = {.receiver = "dci.bench", .action = "on-search", .n = 10000, .senders = 8};
static dci_key *key;
static char kid[256];

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "cbsend: %s: %s\n", what, why);
	exit(2);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *
read_file(const char *path)
{
	FILE	   *f = fopen(path, "rb");
	dbuf		b;
	char		buf[4096];
	size_t		n;

	if (f == NULL)
		die(path, strerror(errno));
	dbuf_init(&b);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		dbuf_append(&b, buf, n);
	fclose(f);
	if (b.data == NULL)
		die(path, "empty file");
	return dbuf_steal(&b);
}

/* The message of a callback of action o.action, canonical (keys sorted, ASCII). */
static void
put_message(dbuf *b, long i, const char *corr, const char *ts)
{
	char		txn[128];
	char		ref[160];
	const char *data = "{\"reg_record_type\":\"person\",\"reg_records\":[{\"identifier\":"
		"[{\"identifier_type\":\"UIN\",\"identifier_value\":\"4000000001\"}],"
		"\"name\":{\"given_name\":\"Amina\",\"surname\":\"Bello\"},\"sex\":\"female\"}],"
		"\"reg_type\":\"ns:org:RegistryType:Civil\",\"version\":\"1.0.0\"}";

	if (o.transaction)
		snprintf(txn, sizeof(txn), "%s", o.transaction);
	else
		snprintf(txn, sizeof(txn), "%s-%ld", o.txn_prefix ? o.txn_prefix : "bench", i);
	/* dci names the items of a request <transaction_id>-<k> */
	snprintf(ref, sizeof(ref), "%s-0", txn);

	dbuf_puts(b, "{\"correlation_id\":");
	dci_json_string(b, corr);
	if (strcmp(o.action, "notify") == 0)
	{
		dbuf_puts(b, ",\"notify_event\":[{\"data\":");
		dbuf_puts(b, data);
		dbuf_puts(b, ",\"locale\":\"eng\",\"reference_id\":");
		dci_json_string(b, ref);
		dbuf_puts(b, ",\"timestamp\":");
		dci_json_string(b, ts);
		dbuf_puts(b, "}]");
	}
	else if (strcmp(o.action, "on-subscribe") == 0 || strcmp(o.action, "on-unsubscribe") == 0)
	{
		dbuf_puts(b, ",\"subscribe_response\":[{\"reference_id\":");
		dci_json_string(b, ref);
		dbuf_printf(b, ",\"status\":\"succ\",\"subscriptions\":[{\"code\":\"sub-%ld\",\"status\":\"%s\",\"timestamp\":",
					i, strcmp(o.action, "on-subscribe") == 0 ? "subscribe" : "unsubscribe");
		dci_json_string(b, ts);
		dbuf_puts(b, "}],\"timestamp\":");
		dci_json_string(b, ts);
		dbuf_puts(b, "}]");
	}
	else if (strcmp(o.action, "txn-on-status") == 0)
	{
		dbuf_puts(b, ",\"txnstatus_response\":{\"txn_status\":\"succ\",\"txn_type\":\"on-search\"}");
	}
	else
	{
		dbuf_puts(b, ",\"search_response\":[{\"data\":");
		dbuf_puts(b, data);
		dbuf_puts(b, ",\"locale\":\"eng\",\"pagination\":{\"page_number\":1,\"page_size\":10,\"total_count\":1},"
				  "\"reference_id\":");
		dci_json_string(b, ref);
		dbuf_puts(b, ",\"status\":\"succ\",\"timestamp\":");
		dci_json_string(b, ts);
		dbuf_puts(b, "}]");
	}
	dbuf_puts(b, ",\"transaction_id\":");
	dci_json_string(b, txn);
	dbuf_putc(b, '}');
}

/* One signed callback envelope (malloc'd text). */
static char *
make_envelope(long i, size_t *len)
{
	char		mid[37];
	char		corr[37];
	char		ts[21];
	long		now = (long) time(NULL);
	dbuf		hm;
	dbuf		canon;
	dbuf		field;
	dbuf		body;
	size_t		hlen;
	char		err[256];

	dci_uuid(mid);
	dci_uuid(corr);
	dci_format_ts(now, ts);
	dbuf_init(&hm);
	dbuf_puts(&hm, "{\"header\":{\"action\":");
	dci_json_string(&hm, o.action);
	dbuf_puts(&hm, ",\"completed_count\":1,\"is_msg_encrypted\":false,\"message_id\":");
	dci_json_string(&hm, o.message_id ? o.message_id : mid);
	dbuf_puts(&hm, ",\"message_ts\":");
	dci_json_string(&hm, ts);
	dbuf_puts(&hm, ",\"meta\":{},\"receiver_id\":");
	dci_json_string(&hm, o.receiver);
	dbuf_puts(&hm, ",\"sender_id\":");
	dci_json_string(&hm, o.sender);
	dbuf_puts(&hm, ",\"status\":\"succ\",\"total_count\":1,\"version\":\"1.0.0\"},\"message\":");
	put_message(&hm, i, o.correlation_id ? o.correlation_id : corr, ts);
	dbuf_putc(&hm, '}');
	if (hm.data == NULL)
		die("envelope", "out of memory");

	/* signed and sent as its canonical text, so the bytes signed are the bytes sent */
	dbuf_init(&canon);
	if (cj_canonicalize(hm.data, hm.len, &canon, err, sizeof(err)) != 0)
		die("canonical JSON", err);
	dbuf_init(&field);
	if (dci_sig_sign(key, kid, canon.data, canon.len, now, now + 300, &field, err, sizeof(err)) != 0)
		die("signing", err);
	/* {"header":…,"message":…,"signature":…}: the signed text, then the field */
	hlen = canon.len - 1;
	dbuf_init(&body);
	dbuf_append(&body, canon.data, hlen);
	dbuf_puts(&body, ",\"signature\":");
	dci_json_string(&body, field.data);
	dbuf_putc(&body, '}');
	dbuf_free(&hm);
	dbuf_free(&canon);
	dbuf_free(&field);
	if (body.data == NULL)
		die("envelope", "out of memory");
	*len = body.len;
	return dbuf_steal(&body);
}

/* ---- HTTP ---- */

typedef struct poster
{
	CURL	   *c;
	struct curl_slist *headers;
	dbuf		reply;
} poster;

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	return dbuf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static void
poster_init(poster *p)
{
	p->c = curl_easy_init();
	p->headers = curl_slist_append(NULL, "Content-Type: application/json");
	/* no 100-continue round trip for bodies over 1 KB */
	p->headers = curl_slist_append(p->headers, "Expect:");
	dbuf_init(&p->reply);
	curl_easy_setopt(p->c, CURLOPT_URL, o.url);
	curl_easy_setopt(p->c, CURLOPT_HTTPHEADER, p->headers);
	curl_easy_setopt(p->c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(p->c, CURLOPT_WRITEDATA, &p->reply);
	curl_easy_setopt(p->c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(p->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->c, CURLOPT_TCP_NODELAY, 1L);
}

/* POST one body; 1 when it was acked (HTTP 200, ack_status ACK). */
static int
post(poster *p, const char *body, size_t len, long *status)
{
	CURLcode	rc;

	dbuf_reset(&p->reply);
	curl_easy_setopt(p->c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(p->c, CURLOPT_POSTFIELDSIZE, (long) len);
	rc = curl_easy_perform(p->c);
	*status = 0;
	if (rc != CURLE_OK)
		return 0;
	curl_easy_getinfo(p->c, CURLINFO_RESPONSE_CODE, status);
	return *status == 200 && p->reply.data &&
		strstr(p->reply.data, "\"ack_status\":\"ACK\"") != NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, long n, double p)
{
	long		k = (long) (p * (n - 1));

	return n > 0 ? v[k] : 0;
}

/* ---- flood ---- */

static atomic_long next_index;
static atomic_long acked;
static atomic_long failed;
static char **presigned;
static size_t *presigned_len;
static double *ack_ms;

static void *
flood_thread(void *arg)
{
	poster		p;
	long		i;

	poster_init(&p);
	while ((i = atomic_fetch_add(&next_index, 1)) < o.n)
	{
		size_t		len;
		char	   *body = presigned ? presigned[i] : make_envelope(i, &len);
		long		status;
		double		t0 = now_ms();

		if (presigned)
			len = presigned_len[i];
		if (post(&p, body, len, &status))
			atomic_fetch_add(&acked, 1);
		else
		{
			if (atomic_fetch_add(&failed, 1) < 5)
				fprintf(stderr, "cbsend: callback %ld: HTTP %ld %s\n", i, status,
						p.reply.data ? p.reply.data : "");
		}
		ack_ms[i] = now_ms() - t0;
		free(body);
		if (presigned)
			presigned[i] = NULL;
	}
	curl_easy_cleanup(p.c);
	curl_slist_free_all(p.headers);
	dbuf_free(&p.reply);
	return NULL;
}

static int
flood(void)
{
	pthread_t  *th = calloc(o.senders, sizeof(pthread_t));
	double		t0,
				secs;

	ack_ms = calloc(o.n, sizeof(double));
	if (o.presign)
	{
		presigned = calloc(o.n, sizeof(char *));
		presigned_len = calloc(o.n, sizeof(size_t));
		for (long i = 0; i < o.n; i++)
			presigned[i] = make_envelope(i, &presigned_len[i]);
	}
	t0 = now_ms();
	for (int t = 0; t < o.senders; t++)
		pthread_create(&th[t], NULL, flood_thread, NULL);
	for (int t = 0; t < o.senders; t++)
		pthread_join(th[t], NULL);
	secs = (now_ms() - t0) / 1e3;
	qsort(ack_ms, o.n, sizeof(double), cmp_double);
	printf("callbacks=%ld acked=%ld failed=%ld seconds=%.2f rate=%.0f ack_median_ms=%.2f ack_p99_ms=%.2f\n",
		   o.n, (long) acked, (long) failed, secs, acked / secs,
		   pct(ack_ms, o.n, 0.5), pct(ack_ms, o.n, 0.99));
	return failed ? 1 : 0;
}

/* ---- latency: POST to LISTEN ---- */

static PGconn *pg;
static atomic_long seen;
static double *seen_ms;
static atomic_int stop_listening;

static void *
listen_thread(void *arg)
{
	struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};

	while (!stop_listening)
	{
		PGnotify   *nt;

		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			break;
		if (!PQconsumeInput(pg))
			break;
		while ((nt = PQnotifies(pg)) != NULL)
		{
			long		k = atomic_load(&seen);

			if (k < o.n)
				seen_ms[k] = now_ms();
			atomic_store(&seen, k + 1);
			PQfreemem(nt);
		}
	}
	return NULL;
}

static int
latency(void)
{
	pthread_t	th;
	PGresult   *res;
	poster		p;
	double	   *post_ms = calloc(o.n, sizeof(double));
	double	   *lat = calloc(o.n, sizeof(double));
	long		bad = 0;

	seen_ms = calloc(o.n, sizeof(double));
	ack_ms = calloc(o.n, sizeof(double));
	pg = PQconnectdb(o.conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		die("conninfo", PQerrorMessage(pg));
	res = PQexec(pg, "LISTEN dci_inbox");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		die("LISTEN", PQerrorMessage(pg));
	PQclear(res);
	pthread_create(&th, NULL, listen_thread, NULL);
	poster_init(&p);
	for (long i = 0; i < o.n; i++)
	{
		size_t		len;
		char	   *body = make_envelope(i, &len);
		long		status;
		double		deadline;

		post_ms[i] = now_ms();
		if (!post(&p, body, len, &status))
		{
			bad++;
			fprintf(stderr, "cbsend: callback %ld: HTTP %ld %s\n", i, status,
					p.reply.data ? p.reply.data : "");
			free(body);
			break;
		}
		ack_ms[i] = now_ms() - post_ms[i];
		free(body);
		/* strictly one at a time: the next POST waits for this notification */
		deadline = now_ms() + 5000;
		while (atomic_load(&seen) <= i && now_ms() < deadline)
		{
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
		if (atomic_load(&seen) <= i)
		{
			fprintf(stderr, "cbsend: no notification for callback %ld\n", i);
			bad++;
			break;
		}
		lat[i] = seen_ms[i] - post_ms[i];
	}
	stop_listening = 1;
	pthread_join(th, NULL);
	PQfinish(pg);
	if (bad)
		return 1;
	qsort(lat, o.n, sizeof(double), cmp_double);
	qsort(ack_ms, o.n, sizeof(double), cmp_double);
	printf("callbacks=%ld listen_median_ms=%.2f listen_p90_ms=%.2f listen_p99_ms=%.2f ack_median_ms=%.2f\n",
		   o.n, pct(lat, o.n, 0.5), pct(lat, o.n, 0.9), pct(lat, o.n, 0.99), pct(ack_ms, o.n, 0.5));
	return 0;
}

/* ---- main ---- */

static int
keygen(const char *path)
{
	char	   *priv,
			   *pub;
	char		err[256];
	FILE	   *f;

	if (dci_key_generate(DCI_ALG_ED25519, &priv, &pub, err, sizeof(err)) != 0)
		die("keygen", err);
	umask(077);
	f = fopen(path, "w");
	if (f == NULL || fputs(priv, f) < 0 || fclose(f) != 0)
		die(path, strerror(errno));
	fputs(pub, stdout);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: cbsend keygen PRIV.pem\n"
			"       cbsend envelope --key PRIV.pem --sender ID [options]\n"
			"       cbsend flood --url URL --key PRIV.pem --sender ID [--senders 8] [--n N] [--presign] [options]\n"
			"       cbsend latency --url URL --key PRIV.pem --sender ID --conninfo CONN [--n N] [options]\n"
			"options: --action A --receiver ID --transaction T --txn-prefix P --message-id M --correlation-id C\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *cmd;
	char	   *pem;
	char		err[256];

	if (argc < 2)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "keygen") == 0)
	{
		if (argc != 3)
			usage();
		return keygen(argv[2]);
	}
	for (int i = 2; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--presign") == 0)
		{
			o.presign = 1;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(a, "--url") == 0)
			o.url = v;
		else if (strcmp(a, "--key") == 0)
			o.keyfile = v;
		else if (strcmp(a, "--sender") == 0)
			o.sender = v;
		else if (strcmp(a, "--receiver") == 0)
			o.receiver = v;
		else if (strcmp(a, "--action") == 0)
			o.action = v;
		else if (strcmp(a, "--transaction") == 0)
			o.transaction = v;
		else if (strcmp(a, "--txn-prefix") == 0)
			o.txn_prefix = v;
		else if (strcmp(a, "--message-id") == 0)
			o.message_id = v;
		else if (strcmp(a, "--correlation-id") == 0)
			o.correlation_id = v;
		else if (strcmp(a, "--conninfo") == 0)
			o.conninfo = v;
		else if (strcmp(a, "--n") == 0)
			o.n = atol(v);
		else if (strcmp(a, "--senders") == 0)
			o.senders = atoi(v);
		else
			usage();
	}
	if (!o.keyfile || !o.sender || o.n <= 0 || o.senders <= 0)
		usage();
	pem = read_file(o.keyfile);
	key = dci_key_load_private(pem, err, sizeof(err));
	memset(pem, 0, strlen(pem));
	free(pem);
	if (key == NULL)
		die(o.keyfile, err);
	snprintf(kid, sizeof(kid), "%s|cb-key-1|ed25519", o.sender);

	if (strcmp(cmd, "envelope") == 0)
	{
		size_t		len;
		char	   *body = make_envelope(0, &len);

		fwrite(body, 1, len, stdout);
		putchar('\n');
		free(body);
		return 0;
	}
	if (!o.url)
		usage();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(cmd, "flood") == 0)
		return flood();
	if (strcmp(cmd, "latency") == 0)
	{
		if (!o.conninfo)
			usage();
		return latency();
	}
	usage();
	return 2;
}
