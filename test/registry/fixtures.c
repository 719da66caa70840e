/*
 * fixtures.c - the registries' records: crvs.json, ibr.json, dr.json, an
 * OpenCRVS-shaped view derived from crvs.json and OpenCRVS's death register
 * (the deceased of crvs.json).
 *
 * Loaded once before the server starts.  json-c reference counts are not
 * atomic, so request threads never get/put these objects and never
 * serialize them (json-c caches the text inside the object); each record's
 * canonical text is made here, once.  Vital events (/admin/event) change
 * records: requests read under fixtures_read_lock(), events write under
 * the write lock.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "canonjson.h"
#include "registry.h"

static reg_view views[REG_NKINDS] = {
	{REG_CRVS, "/crvs", "ns:org:RegistryType:Civil", "spdci-extensions-dci:Person"},
	{REG_IBR, "/ibr", "ns:org:RegistryType:IBR", "spdci-extensions-ibr:Beneficiary"},
	{REG_DR, "/dr", "ns:org:RegistryType:DR", "spdci-extensions-dci:DisabledPerson"},
	{REG_OPENCRVS, "/opencrvs", "ocrvs:registry_type:birth", "person"},
	{REG_OPENCRVS_DEATH, "/opencrvs", "ocrvs:registry_type:death", "person"},
};

static pthread_rwlock_t records_lock;

void
fixtures_read_lock(void)
{
	pthread_rwlock_rdlock(&records_lock);
}

void
fixtures_write_lock(void)
{
	pthread_rwlock_wrlock(&records_lock);
}

void
fixtures_unlock(void)
{
	pthread_rwlock_unlock(&records_lock);
}

reg_view *
fixtures_view(reg_kind k)
{
	return &views[k];
}

reg_view *
fixtures_view_by_prefix(const char *path, const char **rest)
{
	for (int k = 0; k < REG_NKINDS; k++)
	{
		size_t		n = strlen(views[k].prefix);

		if (k == REG_OPENCRVS_DEATH)
			continue;			/* chosen by reg_type on /opencrvs */

		if (strncmp(path, views[k].prefix, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		{
			*rest = path + n;
			return &views[k];
		}
	}
	return NULL;
}

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

/*
 * Text of a string or integer member; NULL otherwise or when empty.  An
 * integer is printed into buf: json_object_get_string() on a non-string
 * writes into the object, which request threads must never do.
 */
static const char *
member_text(struct json_object *o, const char *const *keys, char *buf, size_t size)
{
	for (int i = 0; keys[i]; i++)
	{
		struct json_object *v = member(o, keys[i]);

		if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
			return json_object_get_string(v);
		if (json_object_is_type(v, json_type_int))
		{
			snprintf(buf, size, "%lld", (long long) json_object_get_int64(v));
			return buf;
		}
	}
	return NULL;
}

static void
ident_entry(struct json_object *e, ident_cb cb, void *arg)
{
	static const char *const tkeys[] = {"identifier_type", "type", "name", NULL};
	static const char *const vkeys[] = {"identifier_value", "value", "identifier", NULL};
	char		tb[32],
				vb[32];
	const char *t = member_text(e, tkeys, tb, sizeof(tb));
	const char *v = member_text(e, vkeys, vb, sizeof(vb));

	if (t && v)
		cb(t, v, arg);
}

static void
ident_list(struct json_object *node, ident_cb cb, void *arg)
{
	static const char *const lists[] = {"identifier", "identifiers", NULL};

	for (int i = 0; lists[i]; i++)
	{
		struct json_object *l = member(node, lists[i]);

		if (json_object_is_type(l, json_type_array))
		{
			for (size_t j = 0; j < json_object_array_length(l); j++)
				ident_entry(json_object_array_get_idx(l, j), cb, arg);
		}
		else if (json_object_is_type(l, json_type_object))
			ident_entry(l, cb, arg);
	}
}

/*
 * Identifiers live on the record itself (CRVS, DR, OpenCRVS), or on the IBR
 * beneficiary's member / member.demographic_info / demographic_info.
 */
void
fixtures_identifiers(reg_view *v, struct json_object *rec, ident_cb cb, void *arg)
{
	struct json_object *m = member(rec, "member");

	ident_list(rec, cb, arg);
	ident_list(m, cb, arg);
	ident_list(member(m, "demographic_info"), cb, arg);
	ident_list(member(rec, "demographic_info"), cb, arg);
}

static size_t
index_key(char *buf, size_t size, const char *type, const char *value)
{
	size_t		n = 0;

	for (const char *t = type; *t && n + 2 < size; t++)
		buf[n++] = toupper((unsigned char) *t);
	buf[n++] = '\x1f';
	for (const char *s = value; *s && n + 1 < size; s++)
		buf[n++] = *s;
	buf[n] = '\0';
	return n;
}

typedef struct index_arg
{
	reg_view   *v;
	uint32_t	idx;
} index_arg;

static void
index_one(const char *type, const char *value, void *a)
{
	index_arg  *ia = a;
	char		key[512];
	size_t		klen = index_key(key, sizeof(key), type, value);
	idx_list   *l = strmap_get(&ia->v->index, key, klen);

	if (l == NULL)
	{
		l = calloc(1, sizeof(idx_list));
		if (l == NULL || strmap_put(&ia->v->index, key, klen, l, NULL) < 0)
		{
			free(l);
			return;
		}
	}
	/* a record carrying the same identifier twice (or indexed again) is still one match */
	for (size_t i = l->n; i > 0; i--)
		if (l->idx[i - 1] == ia->idx)
			return;
	if (l->n == l->cap)
	{
		size_t		cap = l->cap ? l->cap * 2 : 2;
		uint32_t   *n = realloc(l->idx, cap * sizeof(uint32_t));

		if (n == NULL)
			return;
		l->idx = n;
		l->cap = cap;
	}
	l->idx[l->n++] = ia->idx;
}

const idx_list *
fixtures_lookup(reg_view *v, const char *type, const char *value)
{
	char		key[512];
	size_t		klen = index_key(key, sizeof(key), type, value);

	return strmap_get(&v->index, key, klen);
}

static void
add_str(struct json_object *o, const char *key, struct json_object *from, const char *fromkey)
{
	struct json_object *v = member(from, fromkey);

	/* "" and null mean none: OpenCRVS leaves such members out */
	if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
		json_object_object_add(o, key, json_object_new_string(json_object_get_string(v)));
}

static struct json_object *
ocrvs_identifier(const char *type, const char *value)
{
	struct json_object *l = json_object_new_array();
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "identifier", json_object_new_string(value));
	json_object_object_add(e, "name", json_object_new_string(type));
	json_object_array_add(l, e);
	return l;
}

static void
ocrvs_ident_cb(const char *type, const char *value, void *arg)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "identifier", json_object_new_string(value));
	json_object_object_add(e, "name", json_object_new_string(type));
	json_object_array_add(arg, e);
}

/*
 * The OpenCRVS camelCase form of one CRVS_Person record.  The death register
 * form has neither birthDate nor deathDate: OpenCRVS's DCI server asks its
 * GraphQL gateway for the deceased's name, gender and identifiers only
 * (opencrvs/dci-crvs-api, opencrvs-api/src/search.ts), so both are
 * undefined and left out of the answer.
 */
static struct json_object *
to_opencrvs(struct json_object *rec, bool death_register)
{
	struct json_object *o = json_object_new_object();
	struct json_object *name = member(rec, "name");
	struct json_object *ids = json_object_new_array();
	struct json_object *rel = json_object_new_array();
	static const char *const p1[] = {"parent1_identifier", NULL};
	static const char *const p2[] = {"parent2_identifier", NULL};
	char		b1[32],
				b2[32];
	const char *mother = member_text(rec, p1, b1, sizeof(b1));
	const char *father = member_text(rec, p2, b2, sizeof(b2));

	fixtures_identifiers(NULL, rec, ocrvs_ident_cb, ids);
	json_object_object_add(o, "identifier", ids);
	add_str(o, "givenName", name, "given_name");
	add_str(o, "middleName", name, "second_name");
	add_str(o, "familyName", name, "surname");
	add_str(o, "gender", rec, "sex");
	if (!death_register)
		add_str(o, "birthDate", rec, "birth_date");
	add_str(o, "birthPlace", rec, "birth_place");
	if (!death_register)
		add_str(o, "deathDate", rec, "death_date");
	add_str(o, "deathPlace", rec, "death_place");
	add_str(o, "maritalStatus", rec, "marital_status");
	add_str(o, "registrationDate", rec, "registration_date");
	add_str(o, "lastUpdated", rec, "last_updated");
	if (mother)
	{
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "@type", json_object_new_string("spdci:Mother"));
		json_object_object_add(r, "identifier", ocrvs_identifier("UIN", mother));
		json_object_array_add(rel, r);
	}
	if (father)
	{
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "@type", json_object_new_string("spdci:Father"));
		json_object_object_add(r, "identifier", ocrvs_identifier("UIN", father));
		json_object_array_add(rel, r);
	}
	json_object_object_add(o, "relations", rel);
	return o;
}

/* Canonical text and index entries of record i of v (already in v->root). */
static int
take_record(reg_view *v, size_t i, char *err, size_t errlen)
{
	struct json_object *r = json_object_array_get_idx(v->root, i);
	dbuf		b;
	index_arg	ia = {v, (uint32_t) i};

	if (!json_object_is_type(r, json_type_object))
	{
		snprintf(err, errlen, "%s: record %zu is not an object", v->prefix + 1, i);
		return -1;
	}
	v->rec[i] = r;
	dbuf_init(&b);
	if (jw_canonical(&b, r) < 0)
	{
		snprintf(err, errlen, "%s: record %zu has a non-finite number", v->prefix + 1, i);
		dbuf_free(&b);
		return -1;
	}
	/* cross-check: our writer and src/canonjson.c must agree byte for byte */
	{
		const char *plain = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
														   JSON_C_TO_STRING_NOSLASHESCAPE);
		dbuf		c;
		char		cerr[128];

		dbuf_init(&c);
		if (cj_canonicalize(plain, strlen(plain), &c, cerr, sizeof(cerr)) < 0 ||
			c.len != b.len || memcmp(c.data, b.data, b.len) != 0)
		{
			snprintf(err, errlen, "%s: record %zu: canonical text differs from canonjson's (%s)",
					 v->prefix + 1, i, c.data ? "mismatch" : cerr);
			dbuf_free(&c);
			dbuf_free(&b);
			return -1;
		}
		dbuf_free(&c);
	}
	free(v->text[i]);
	v->textlen[i] = b.len;
	v->text[i] = dbuf_steal(&b);
	fixtures_identifiers(v, r, index_one, &ia);
	return 0;
}

/* Room for n records in v's arrays. */
static int
reserve(reg_view *v, size_t n)
{
	struct json_object **rec;
	char	  **text;
	size_t	   *len;

	if (n <= v->cap)
		return 0;
	n = n < 16 ? 16 : n * 2;
	rec = realloc(v->rec, n * sizeof(*rec));
	if (rec)
		v->rec = rec;
	text = realloc(v->text, n * sizeof(*text));
	if (text)
		v->text = text;
	len = realloc(v->textlen, n * sizeof(*len));
	if (len)
		v->textlen = len;
	if (!rec || !text || !len)
		return -1;
	for (size_t i = v->cap; i < n; i++)
		v->text[i] = NULL;
	v->cap = n;
	return 0;
}

static int
build_view(reg_view *v, struct json_object *root, char *err, size_t errlen)
{
	size_t		n = json_object_array_length(root);

	v->root = root;
	v->nrec = n;
	strmap_init(&v->index, n * 2);
	if (reserve(v, n ? n : 1) < 0)
	{
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (take_record(v, i, err, errlen) < 0)
			return -1;
	return 0;
}

static bool
dead(struct json_object *rec)
{
	struct json_object *d = member(rec, "death_date");

	return json_object_is_type(d, json_type_string) && json_object_get_string_len(d) > 0;
}

/* ------------------------------------------------------- vital events */

/* Replace record idx of v by rec (owned), or append it when idx == v->nrec. */
static int
put_record(reg_view *v, size_t idx, struct json_object *rec, char *err, size_t errlen)
{
	if (idx >= v->nrec)
	{
		if (reserve(v, v->nrec + 1) < 0)
		{
			json_object_put(rec);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		json_object_array_add(v->root, rec);
		idx = v->nrec++;
	}
	else
		json_object_array_put_idx(v->root, idx, rec);	/* frees the old record */
	return take_record(v, idx, err, errlen);
}

/* The first record of v with one of rec's identifiers, or -1. */
typedef struct find_arg
{
	reg_view   *v;
	long		found;
} find_arg;

static void
find_one(const char *type, const char *value, void *a)
{
	find_arg   *fa = a;
	const idx_list *l;

	if (fa->found < 0 && (l = fixtures_lookup(fa->v, type, value)) != NULL && l->n > 0)
		fa->found = l->idx[0];
}

long
fixtures_find_same(reg_view *v, struct json_object *rec)
{
	find_arg	fa = {v, -1};

	fixtures_identifiers(v, rec, find_one, &fa);
	return fa.found;
}

/* CRVS record idx changed or was added: the OpenCRVS views follow it. */
static int
crvs_changed(size_t idx, char *err, size_t errlen)
{
	reg_view   *c = &views[REG_CRVS];
	reg_view   *oc = &views[REG_OPENCRVS];
	reg_view   *od = &views[REG_OPENCRVS_DEATH];

	if (put_record(oc, idx, to_opencrvs(c->rec[idx], false), err, errlen) < 0)
		return -1;
	if (dead(c->rec[idx]) && fixtures_find_same(od, oc->rec[idx]) < 0)
		return put_record(od, od->nrec, to_opencrvs(c->rec[idx], true), err, errlen);
	return 0;
}

long
fixtures_apply(reg_view *v, long idx, struct json_object *rec, char *err, size_t errlen)
{
	reg_view   *data = v->kind == REG_OPENCRVS || v->kind == REG_OPENCRVS_DEATH ? &views[REG_CRVS] : v;
	size_t		at = idx >= 0 ? (size_t) idx : data->nrec;

	if (put_record(data, at, rec, err, errlen) < 0)
		return -1;
	if (data->kind == REG_CRVS && crvs_changed(at, err, errlen) < 0)
		return -1;
	return (long) at;
}

long
fixtures_mark_dead(reg_view *v, size_t idx, const char *date, const char *place,
				   char *err, size_t errlen)
{
	reg_view   *data = v->kind == REG_OPENCRVS || v->kind == REG_OPENCRVS_DEATH ? &views[REG_CRVS] : v;
	struct json_object *copy = NULL;

	if (data->kind != REG_CRVS)
	{
		snprintf(err, errlen, "a death is recorded in the civil registry (prefix crvs or opencrvs)");
		return -1;
	}
	if (json_object_deep_copy(data->rec[idx], &copy, NULL) != 0)
	{
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_object_object_add(copy, "death_date", json_object_new_string(date));
	if (place)
		json_object_object_add(copy, "death_place", json_object_new_string(place));
	return fixtures_apply(data, (long) idx, copy, err, errlen);
}

static struct json_object *
load_array(const char *dir, const char *file, char *err, size_t errlen)
{
	char		path[4096];
	struct json_object *root;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	root = json_object_from_file(path);
	if (root == NULL)
	{
		snprintf(err, errlen, "%s: %s", path, json_util_get_last_err());
		return NULL;
	}
	if (!json_object_is_type(root, json_type_array))
	{
		snprintf(err, errlen, "%s: not a JSON array of records", path);
		json_object_put(root);
		return NULL;
	}
	return root;
}

int
fixtures_load(const char *dir, char *err, size_t errlen)
{
	static const char *const files[] = {"crvs.json", "ibr.json", "dr.json"};

	pthread_rwlockattr_t ra;

	/* events are rare: let them in ahead of a stream of readers */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&records_lock, &ra);
	pthread_rwlockattr_destroy(&ra);
	for (int k = 0; k < 3; k++)
	{
		struct json_object *root = load_array(dir, files[k], err, errlen);

		if (root == NULL || build_view(&views[k], root, err, errlen) < 0)
			return -1;
	}
	{
		struct json_object *oc = json_object_new_array();
		struct json_object *od = json_object_new_array();

		for (size_t i = 0; i < views[REG_CRVS].nrec; i++)
		{
			json_object_array_add(oc, to_opencrvs(views[REG_CRVS].rec[i], false));
			if (dead(views[REG_CRVS].rec[i]))
				json_object_array_add(od, to_opencrvs(views[REG_CRVS].rec[i], true));
		}
		if (build_view(&views[REG_OPENCRVS], oc, err, errlen) < 0 ||
			build_view(&views[REG_OPENCRVS_DEATH], od, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static void
free_idx_list(void *p)
{
	idx_list   *l = p;

	free(l->idx);
	free(l);
}

void
fixtures_free(void)
{
	for (int k = 0; k < REG_NKINDS; k++)
	{
		reg_view   *v = &views[k];

		for (size_t i = 0; i < v->cap && v->text; i++)
			free(v->text[i]);
		free(v->text);
		free(v->textlen);
		free(v->rec);
		json_object_put(v->root);
		strmap_free(&v->index, free_idx_list);
		v->text = NULL;
		v->textlen = NULL;
		v->rec = NULL;
		v->root = NULL;
		v->nrec = v->cap = 0;
	}
}
