/*
 * callback.c - delivery of callbacks (on-search, on-subscribe,
 * on-unsubscribe, notify): a queue ordered by due time and a pool of
 * worker threads, each with its own libcurl handle, so no MHD thread ever
 * waits on a receiver.  A delivery that does not get a 2xx answer is tried
 * again after 100 ms, 200 ms, ... (capped), up to --callback-retries times.
 *
 * Every delivery is remembered (target, attempts, last HTTP status, what
 * the receiver's ack said) for /admin/callbacks; its body is freed once it
 * is acked or given up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "registry.h"

#define CB_KEEP		100000		/* deliveries remembered; the oldest finished go first */
#define CB_ACK_MAX	65536		/* bytes of a receiver's answer kept to read its ack */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static cb_job **jobs;			/* every delivery, oldest first */
static size_t njobs,
			capjobs;
static cb_job *due_head;		/* pending deliveries, soonest first */
static uint64_t next_id = 1;
static bool stop;
static pthread_t *workers;
static int	nworkers;
static cb_config cfg;

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
job_free(cb_job *j)
{
	if (j == NULL)
		return;
	free(j->url);
	free(j->body);
	free(j->transaction_id);
	free(j->correlation_id);
	free(j->receiver);
	free(j->subscription_code);
	free(j);
}

/* Insert into the due queue (lock held). */
static void
due_insert(cb_job *j)
{
	cb_job	  **p;

	for (p = &due_head; *p && (*p)->due_ms <= j->due_ms; p = &(*p)->next_due)
		;
	j->next_due = *p;
	*p = j;
	pthread_cond_broadcast(&cond);
}

/* Keep the list bounded: drop the oldest finished deliveries (lock held). */
static void
jobs_trim(void)
{
	size_t		w = 0,
				excess = njobs >= CB_KEEP ? njobs - CB_KEEP + 1 : 0;

	if (excess == 0)
		return;
	for (size_t i = 0; i < njobs; i++)
	{
		if (excess > 0 && jobs[i]->state != CB_PENDING)
		{
			job_free(jobs[i]);
			excess--;
			continue;
		}
		jobs[w++] = jobs[i];
	}
	njobs = w;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	dbuf	   *b = arg;
	size_t		len = size * n;

	if (b->len < CB_ACK_MAX)
		dbuf_append(b, data, len < CB_ACK_MAX - b->len ? len : CB_ACK_MAX - b->len);
	return len;
}

/* message.ack_status of a receiver's answer, if it has one. */
static void
read_ack(const dbuf *b, char *out, size_t size)
{
	struct json_object *o = b->len ? json_tokener_parse(b->data) : NULL;
	struct json_object *m = NULL,
			   *a = NULL;

	out[0] = '\0';
	if (json_object_object_get_ex(o, "message", &m) && json_object_object_get_ex(m, "ack_status", &a) &&
		json_object_is_type(a, json_type_string))
		snprintf(out, size, "%s", json_object_get_string(a));
	json_object_put(o);
}

/* One attempt; the job is not in the due queue and only this worker touches its body. */
static void
deliver(CURL *curl, cb_job *j)
{
	struct curl_slist *h = NULL;
	dbuf		answer;
	CURLcode	rc;
	long		status = 0;
	char		err[CURL_ERROR_SIZE] = "";
	char		ack[16];

	dbuf_init(&answer);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	if (j->subscription_code)
	{
		char		line[160];

		snprintf(line, sizeof(line), "X-DCI-Subscription-Code: %s", j->subscription_code);
		h = curl_slist_append(h, line);
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, j->url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) j->len);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) cfg.timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long) (cfg.timeout_ms < 2000 ? cfg.timeout_ms : 2000));
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "dci-registry");
	if (cfg.cafile)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg.cafile);
	if (cfg.insecure)
	{
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	read_ack(&answer, ack, sizeof(ack));
	curl_slist_free_all(h);
	dbuf_free(&answer);

	STAT_ADD(callbacks_sent, 1);
	if (j->attempts > 0)
		STAT_ADD(callbacks_retried, 1);
	pthread_mutex_lock(&lock);
	j->attempts++;
	j->last_status = (int) status;
	snprintf(j->last_error, sizeof(j->last_error), "%s",
			 rc == CURLE_OK ? "" : (err[0] ? err : curl_easy_strerror(rc)));
	snprintf(j->ack_status, sizeof(j->ack_status), "%s", ack);
	if (rc == CURLE_OK && status >= 200 && status < 300)
	{
		j->state = CB_ACKED;
		STAT_ADD(callbacks_acked, 1);
	}
	else if (j->attempts > cfg.retries)
	{
		j->state = CB_FAILED;
		STAT_ADD(callbacks_failed, 1);
	}
	else
	{
		/* 100 ms, 200 ms, 400 ms, ... up to the cap */
		int64_t		backoff = cfg.backoff_ms;

		for (int i = 1; i < j->attempts && backoff < cfg.backoff_cap_ms; i++)
			backoff *= 2;
		if (backoff > cfg.backoff_cap_ms)
			backoff = cfg.backoff_cap_ms;
		j->due_ms = mono_ms() + backoff;
		due_insert(j);
	}
	if (j->state != CB_PENDING)
	{
		free(j->body);
		j->body = NULL;
		j->done_at = time(NULL);
	}
	pthread_mutex_unlock(&lock);
}

static void *
worker_main(void *arg)
{
	CURL	   *curl = curl_easy_init();

	pthread_mutex_lock(&lock);
	while (!stop)
	{
		int64_t		now = mono_ms();

		if (due_head && due_head->due_ms <= now && curl)
		{
			cb_job	   *j = due_head;

			due_head = j->next_due;
			j->next_due = NULL;
			pthread_mutex_unlock(&lock);
			deliver(curl, j);
			pthread_mutex_lock(&lock);
		}
		else if (due_head)
		{
			struct timespec ts;
			int64_t		wait = due_head->due_ms - now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L)
			{
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cond, &lock, &ts);
		}
		else
			pthread_cond_wait(&cond, &lock);
	}
	pthread_mutex_unlock(&lock);
	curl_easy_cleanup(curl);
	return NULL;
}

int
callbacks_start(const cb_config *c, char *err, size_t errlen)
{
	pthread_condattr_t ca;

	cfg = *c;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &ca);
	pthread_condattr_destroy(&ca);
	workers = calloc(cfg.threads, sizeof(pthread_t));
	if (workers == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (nworkers = 0; nworkers < cfg.threads; nworkers++)
		if (pthread_create(&workers[nworkers], NULL, worker_main, NULL) != 0)
		{
			snprintf(err, errlen, "cannot start the callback threads");
			callbacks_stop();
			return -1;
		}
	return 0;
}

void
callbacks_stop(void)
{
	pthread_mutex_lock(&lock);
	stop = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	free(workers);
	workers = NULL;
	nworkers = 0;
	for (size_t i = 0; i < njobs; i++)
		job_free(jobs[i]);
	free(jobs);
	jobs = NULL;
	njobs = capjobs = 0;
	due_head = NULL;
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

uint64_t
callback_enqueue(const cb_spec *s, int delay_ms)
{
	cb_job	   *j = calloc(1, sizeof(cb_job));
	uint64_t	id = 0;

	if (j == NULL)
		return 0;
	j->url = strdup(s->url);
	j->body = malloc(s->len + 1);
	j->transaction_id = dup_or_null(s->transaction_id);
	j->correlation_id = dup_or_null(s->correlation_id);
	j->receiver = dup_or_null(s->receiver);
	j->subscription_code = dup_or_null(s->subscription_code);
	if (j->url == NULL || j->body == NULL)
	{
		job_free(j);
		return 0;
	}
	memcpy(j->body, s->body, s->len);
	j->body[s->len] = '\0';
	j->len = s->len;
	snprintf(j->action, sizeof(j->action), "%s", s->action);
	snprintf(j->message_id, sizeof(j->message_id), "%s", s->message_id ? s->message_id : "");
	j->state = CB_PENDING;
	j->created_at = time(NULL);
	j->due_ms = mono_ms() + (delay_ms > 0 ? delay_ms : 0);
	pthread_mutex_lock(&lock);
	jobs_trim();
	if (njobs == capjobs)
	{
		size_t		cap = capjobs ? capjobs * 2 : 64;
		cb_job	  **n = realloc(jobs, cap * sizeof(cb_job *));

		if (n == NULL)
		{
			pthread_mutex_unlock(&lock);
			job_free(j);
			return 0;
		}
		jobs = n;
		capjobs = cap;
	}
	j->id = id = next_id++;
	jobs[njobs++] = j;
	due_insert(j);
	pthread_mutex_unlock(&lock);
	STAT_ADD(callbacks_queued, 1);
	return id;
}

static bool
job_matches(const cb_job *j, const cb_filter *f)
{
	if (f->transaction_id && (j->transaction_id == NULL || strcmp(f->transaction_id, j->transaction_id) != 0))
		return false;
	if (f->correlation_id && (j->correlation_id == NULL || strcmp(f->correlation_id, j->correlation_id) != 0))
		return false;
	if (f->action && strcmp(f->action, j->action) != 0)
		return false;
	if (f->subscription_code &&
		(j->subscription_code == NULL || strcmp(f->subscription_code, j->subscription_code) != 0))
		return false;
	if (f->receiver && (j->receiver == NULL || strcmp(f->receiver, j->receiver) != 0))
		return false;
	return true;
}

static const char *
state_name(int s)
{
	return s == CB_ACKED ? "acked" : s == CB_FAILED ? "failed" : "pending";
}

static void
opt_string(dbuf *b, const char *key, const char *v)
{
	dbuf_printf(b, ",\"%s\":", key);
	if (v)
		jw_string(b, v);
	else
		dbuf_puts(b, "null");
}

bool
callbacks_json(const cb_filter *f, long want, dbuf *out)
{
	long		matched = 0,
				finished = 0;
	bool		first = true;

	dbuf_puts(out, "{\"callbacks\":[");
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < njobs; i++)
	{
		cb_job	   *j = jobs[i];

		if (!job_matches(j, f))
			continue;
		matched++;
		if (j->state != CB_PENDING)
			finished++;
		if (!first)
			dbuf_putc(out, ',');
		first = false;
		dbuf_printf(out, "{\"id\":%llu,\"action\":", (unsigned long long) j->id);
		jw_string(out, j->action);
		dbuf_puts(out, ",\"url\":");
		jw_string(out, j->url);
		dbuf_puts(out, ",\"message_id\":");
		jw_string(out, j->message_id);
		opt_string(out, "transaction_id", j->transaction_id);
		opt_string(out, "correlation_id", j->correlation_id);
		opt_string(out, "receiver_id", j->receiver);
		opt_string(out, "subscription_code", j->subscription_code);
		dbuf_printf(out, ",\"state\":\"%s\",\"attempts\":%d,\"last_status\":%d",
					state_name(j->state), j->attempts, j->last_status);
		opt_string(out, "last_error", j->last_error[0] ? j->last_error : NULL);
		opt_string(out, "ack_status", j->ack_status[0] ? j->ack_status : NULL);
		dbuf_printf(out, ",\"bytes\":%zu}", j->len);
	}
	pthread_mutex_unlock(&lock);
	dbuf_printf(out, "],\"matched\":%ld,\"finished\":%ld,\"complete\":%s}", matched, finished,
				matched >= want && finished == matched ? "true" : "false");
	return matched >= want && finished == matched;
}

void
callbacks_forget(void)
{
	size_t		w = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < njobs; i++)
	{
		if (jobs[i]->state != CB_PENDING)
			job_free(jobs[i]);
		else
			jobs[w++] = jobs[i];
	}
	njobs = w;
	pthread_mutex_unlock(&lock);
}

int
http_get(const char *url, dbuf *body, char *err, size_t errlen)
{
	CURL	   *curl = curl_easy_init();
	char		cerr[CURL_ERROR_SIZE] = "";
	CURLcode	rc;
	long		status = 0;

	if (curl == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cfg.cafile)
		curl_easy_setopt(curl, CURLOPT_CAINFO, cfg.cafile);
	if (cfg.insecure)
	{
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (rc != CURLE_OK || status != 200)
	{
		snprintf(err, errlen, "GET %s: %s", url, rc != CURLE_OK ? (cerr[0] ? cerr : curl_easy_strerror(rc)) :
				 "not HTTP 200");
		return -1;
	}
	return 0;
}
