/*
 * test_records.c - unit tests of src/records.c (record mapping).
 *
 * Stand-alone:
 *   gcc -std=gnu11 -DRECORDS_STANDALONE -Isrc test/unit/test_records.c \
 *       src/records.c src/canonjson.c src/dbuf.c -lm
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "records.h"

#ifdef RECORDS_STANDALONE
static int	unit_checks;
static int	unit_failures;

#define CHECK(cond, ...) \
	do { \
		unit_checks++; \
		if (!(cond)) \
		{ \
			unit_failures++; \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__); \
			fputc('\n', stderr); \
		} \
	} while (0)
#else
#include "unit.h"
#include "envelope.h"
#endif

/* NULL-safe string equality for expected values. */
static int
streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

#define S(x) ((x) ? (x) : "(null)")

/* Parse test JSON (a tree to cj_free); a bad test document is a failure. */
static cj_node *
J(const char *text)
{
	char		err[256];
	cj_node    *o = cj_parse(text, strlen(text), err, sizeof(err));

	CHECK(o != NULL, "bad test JSON: %s: %s", text, err);
	return o;
}

/* Map a CRVS record given as text; the json is freed before returning. */
static int
birth_of(const char *text, dci_profile p, const char *want, dci_birth *b)
{
	cj_node    *o = J(text);
	int			r = dci_map_birth(o, p, want, b);

	cj_free(o);
	return r;
}

static int
enroll_of(const char *text, const char *want, dci_enrollment *e)
{
	cj_node    *o = J(text);
	int			r = dci_map_enrollment(o, want, e);

	cj_free(o);
	return r;
}

static int
disab_of(const char *text, dci_disability *d)
{
	cj_node    *o = J(text);
	int			r = dci_map_disability(o, d);

	cj_free(o);
	return r;
}

/* ------------------------------------------------------------------ dates */

static void
check_date(const char *in, int want_rc, const char *want, int line)
{
	char		buf[11] = "";
	int			rc = dci_date_parse(in, buf);
	char	   *n = dci_date_normalize(in);

	CHECK(rc == want_rc, "line %d: dci_date_parse(\"%s\") = %d, want %d", line, S(in), rc, want_rc);
	if (want_rc == 1)
	{
		CHECK(streq(buf, want), "line %d: \"%s\" -> \"%s\", want \"%s\"", line, S(in), buf, want);
		CHECK(streq(n, want), "line %d: normalize(\"%s\") = %s", line, S(in), S(n));
	}
	else
		CHECK(n == NULL, "line %d: normalize(\"%s\") = %s, want NULL", line, S(in), S(n));
	free(n);
}

#define DATE(in, rc, want) check_date(in, rc, want, __LINE__)

void
test_records_dates(void)
{
	DATE("2024-03-05", 1, "2024-03-05");
	DATE("  2024-03-05 ", 1, "2024-03-05");
	DATE("1980-03-23T10:20:15", 1, "1980-03-23");
	DATE("1980-03-23T10:20", 1, "1980-03-23");
	DATE("1980-03-23T10:20:15Z", 1, "1980-03-23");
	DATE("1980-03-23T10:20:15.123Z", 1, "1980-03-23");
	DATE("1980-03-23T10:20:15.123456+05:30", 1, "1980-03-23");
	DATE("1980-03-23T23:59:59-0800", 1, "1980-03-23");
	DATE("1980-03-23T23:59:59-08", 1, "1980-03-23");
	DATE("1980-03-23 10:20:15", 1, "1980-03-23");
	DATE("1980-03-23Z", 1, "1980-03-23");
	DATE("02.05.2004", 1, "2004-05-02");	/* SPDCI IBR sample form */
	DATE("2024-02-29", 1, "2024-02-29");	/* leap day */
	DATE("2000-02-29", 1, "2000-02-29");	/* divisible by 400 */
	DATE("1900-02-29", -1, NULL);	/* divisible by 100 */
	DATE("2023-02-29", -1, NULL);
	DATE("2024-02-30", -1, NULL);
	DATE("2024-04-31", -1, NULL);
	DATE("2024-13-01", -1, NULL);
	DATE("2024-00-10", -1, NULL);
	DATE("2024-01-00", -1, NULL);
	DATE("0000-01-01", -1, NULL);
	DATE("2024-1-5", -1, NULL);
	DATE("20240105", -1, NULL);
	DATE("2024-01-05T25:00:00", -1, NULL);
	DATE("2024-01-05T10:60:00", -1, NULL);
	DATE("2024-01-05T10:00:00+05:", -1, NULL);
	DATE("2024-01-05Tgarbage", -1, NULL);
	DATE("2024-01-05 and more", -1, NULL);
	DATE("2024-01-05T10:00:00.Z", -1, NULL);
	DATE("yesterday", -1, NULL);
	DATE("N/A", -1, NULL);
	DATE("", 0, NULL);
	DATE("   ", 0, NULL);
	DATE(NULL, 0, NULL);
	DATE("null", 0, NULL);
	DATE("None", 0, NULL);
	DATE("0000-00-00", 0, NULL);
	DATE("0000-00-00 00:00:00", 0, NULL);
}

/* ---------------------------------------------------------------- helpers */

void
test_records_helpers(void)
{
	cj_node    *o = J("{\"s\":\"abc\",\"e\":\"\",\"w\":\"  \",\"n\":null,\"i\":3,\"si\":\" 3 \","
					   "\"d\":3.0,\"dh\":3.5,\"neg\":\"-2\",\"x\":\"3x\",\"big\":\"99999999999999999999999\","
					   "\"t\":true,\"f\":false,\"ys\":\"Yes\",\"ns\":\"no\",\"one\":1,\"zero\":\"0\","
					   "\"two\":2,\"arr\":[1],\"obj\":{}}");
	long		n = -99;
	dci_profile p;

	CHECK(streq(dci_rec_text(o, "s"), "abc"), "text s");
	CHECK(dci_rec_text(o, "e") == NULL, "empty string is none");
	CHECK(dci_rec_text(o, "w") == NULL, "blank string is none");
	CHECK(dci_rec_text(o, "n") == NULL, "null is none");
	CHECK(dci_rec_text(o, "absent") == NULL, "absent is none");
	CHECK(streq(dci_rec_text(o, "i"), "3"), "int as text: %s", S(dci_rec_text(o, "i")));
	CHECK(dci_rec_text(o, "t") == NULL, "bool is not text");
	CHECK(dci_rec_text(o, "arr") == NULL && dci_rec_text(o, "obj") == NULL, "containers are not text");
	CHECK(dci_rec_text(NULL, "s") == NULL, "NULL object");
	CHECK(dci_rec_text(o, NULL) == NULL, "NULL key");

	CHECK(dci_rec_long(o, "i", &n) == 1 && n == 3, "int");
	CHECK(dci_rec_long(o, "si", &n) == 1 && n == 3, "int in string with blanks");
	CHECK(dci_rec_long(o, "d", &n) == 1 && n == 3, "integral double");
	CHECK(dci_rec_long(o, "neg", &n) == 1 && n == -2, "negative string");
	CHECK(dci_rec_long(o, "dh", &n) == -1, "3.5 is not an integer");
	CHECK(dci_rec_long(o, "x", &n) == -1, "3x");
	CHECK(dci_rec_long(o, "big", &n) == -1, "overflow");
	CHECK(dci_rec_long(o, "e", &n) == 0, "empty string is absent");
	CHECK(dci_rec_long(o, "n", &n) == 0, "null is absent");
	CHECK(dci_rec_long(o, "absent", &n) == 0, "absent");
	CHECK(dci_rec_long(o, "arr", &n) == -1, "array");
	CHECK(dci_rec_long(o, "t", &n) == -1, "bool");

	CHECK(dci_rec_bool(o, "t") == 1 && dci_rec_bool(o, "f") == 0, "json booleans");
	CHECK(dci_rec_bool(o, "ys") == 1 && dci_rec_bool(o, "ns") == 0, "yes/no");
	CHECK(dci_rec_bool(o, "one") == 1 && dci_rec_bool(o, "zero") == 0, "1 / \"0\"");
	CHECK(dci_rec_bool(o, "two") == -1, "2 is not a boolean");
	CHECK(dci_rec_bool(o, "s") == -1 && dci_rec_bool(o, "absent") == -1 && dci_rec_bool(o, "obj") == -1,
		  "unrecognized");
	cj_free(o);

	CHECK(dci_profile_parse("spdci", &p) == 0 && p == DCI_PROFILE_SPDCI, "spdci");
	CHECK(dci_profile_parse(NULL, &p) == 0 && p == DCI_PROFILE_SPDCI, "default");
	CHECK(dci_profile_parse("OpenCRVS", &p) == 0 && p == DCI_PROFILE_OPENCRVS, "opencrvs");
	CHECK(dci_profile_parse("mosip", &p) == -1, "unknown profile");
	CHECK(streq(dci_wg_domain_name(DCI_WG_SELF_CARE), "self_care") && dci_wg_domain_name(6) == NULL,
		  "domain names");
}

/* ------------------------------------------------------------------ CRVS */

void
test_records_birth_spdci(void)
{
	dci_birth	b;
	int			rc;

	rc = birth_of("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"},"
				  "{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-7\"}],"
				  "\"name\":{\"given_name\":\"Amina\",\"second_name\":\"K.\",\"surname\":\"Diallo\","
				  "\"prefix\":\"\",\"suffix\":null},"
				  "\"sex\":\"female\",\"birth_date\":\"2019-06-01T08:30:00Z\","
				  "\"birth_place\":{\"name\":\"Central Hospital\",\"address\":{\"locality\":\"X\"}},"
				  "\"death_date\":\"\",\"parent1_identifier\":{\"identifier_type\":\"UIN\","
				  "\"identifier_value\":\"M-1\"},\"parent2_identifier\":\"F-1\","
				  "\"registration_date\":\"2019-06-10\",\"last_updated\":\"2020-01-01\"}",
				  DCI_PROFILE_SPDCI, "BRN", &b);
	CHECK(rc == DCI_REC_OK, "rc %d", rc);
	CHECK(streq(b.identifier_type, "BRN") && streq(b.identifier_value, "B-7"),
		  "wanted type chosen: %s %s", S(b.identifier_type), S(b.identifier_value));
	CHECK(streq(b.given_name, "Amina") && streq(b.family_name, "Diallo"), "name parts");
	CHECK(streq(b.person_name, "Amina K. Diallo"), "full name: %s", S(b.person_name));
	CHECK(streq(b.sex, "female"), "sex %s", S(b.sex));
	CHECK(streq(b.birth_date, "2019-06-01"), "birth %s", S(b.birth_date));
	CHECK(streq(b.birth_place, "Central Hospital"), "place %s", S(b.birth_place));
	CHECK(streq(b.parent1_identifier, "M-1") && streq(b.parent2_identifier, "F-1"),
		  "parents %s %s", S(b.parent1_identifier), S(b.parent2_identifier));
	CHECK(b.is_deceased == 0 && b.death_date == NULL, "death_date \"\" means alive");
	CHECK(streq(b.registration_date, "2019-06-10"), "registration %s", S(b.registration_date));
	CHECK(b.bad == 0, "bad %u", b.bad);
	dci_birth_clear(&b);
	CHECK(b.identifier_value == NULL && b.person_name == NULL, "cleared");
	dci_birth_clear(&b);		/* twice is harmless */

	/* no identifier of the wanted type: the first one; no wanted type: the first one */
	birth_of("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"},"
			 "{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-7\"}]}", DCI_PROFILE_SPDCI, "DRN", &b);
	CHECK(streq(b.identifier_type, "UIN") && streq(b.identifier_value, "U-1"), "fallback to first");
	dci_birth_clear(&b);
	birth_of("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"\"},"
			 "{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-7\"}]}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.identifier_value, "B-7"), "first with a value: %s", S(b.identifier_value));
	dci_birth_clear(&b);
	/* namespaced type, case-insensitive */
	birth_of("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"},"
			 "{\"identifier_type\":\"ns:org:IdentifierType:brn\",\"identifier_value\":\"B-7\"}]}",
			 DCI_PROFILE_SPDCI, "BRN", &b);
	CHECK(streq(b.identifier_value, "B-7"), "namespaced type: %s", S(b.identifier_value));
	dci_birth_clear(&b);
	/* dci_PersonRecord: identifier_type + identifier as siblings; numeric value */
	birth_of("{\"identifier_type\":\"BRN\",\"identifier\":12345,\"birthdate\":\"2001-01-01\"}",
			 DCI_PROFILE_SPDCI, "BRN", &b);
	CHECK(streq(b.identifier_type, "BRN") && streq(b.identifier_value, "12345"),
		  "sibling type: %s %s", S(b.identifier_type), S(b.identifier_value));
	CHECK(streq(b.birth_date, "2001-01-01"), "birthdate spelling");
	dci_birth_clear(&b);
	/* a single identifier object (spdci Examples/Person.json) */
	birth_of("{\"identifier\":{\"@type\":\"Identifier\",\"identifier_type\":\"UIN\","
			 "\"identifier_value\":\"847951632\"}}", DCI_PROFILE_SPDCI, "UIN", &b);
	CHECK(streq(b.identifier_value, "847951632"), "identifier object");
	dci_birth_clear(&b);

	/* unreadable dates are flagged, not guessed */
	birth_of("{\"birth_date\":\"2024-02-30\",\"registration_date\":\"soon\"}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(b.birth_date == NULL && (b.bad & DCI_BAD_BIRTH_DATE) && (b.bad & DCI_BAD_REG_DATE),
		  "bad dates flagged: %u", b.bad);
	dci_birth_clear(&b);
}

void
test_records_names(void)
{
	dci_birth	b;

	birth_of("{\"name\":\"Jean-Paul Sartre\"}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Jean-Paul Sartre") && b.given_name == NULL, "name as a string");
	dci_birth_clear(&b);

	birth_of("{\"name\":{\"given_name\":\"  Ana \",\"surname\":\"Lima\"}}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Ana Lima") && streq(b.given_name, "Ana"), "trimmed: [%s]", S(b.person_name));
	dci_birth_clear(&b);

	birth_of("{\"name\":{\"sur_name\":\"Lima\"}}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Lima") && streq(b.family_name, "Lima") && b.given_name == NULL,
		  "sur_name only");
	dci_birth_clear(&b);

	birth_of("{\"name\":[{\"use\":\"official\",\"given\":[\"Mary\",\"Ann\"],\"family\":\"Smith\"}]}",
			 DCI_PROFILE_OPENCRVS, NULL, &b);
	CHECK(streq(b.given_name, "Mary Ann") && streq(b.family_name, "Smith") &&
		  streq(b.person_name, "Mary Ann Smith"), "FHIR-style name list: %s", S(b.person_name));
	dci_birth_clear(&b);

	birth_of("{\"given_name\":\"Ola\",\"middle_name\":\"B\",\"family_name\":\"Nor\"}",
			 DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Ola B Nor"), "top-level snake_case: %s", S(b.person_name));
	dci_birth_clear(&b);

	birth_of("{\"name\":{\"first_name\":\"Test\",\"second_name\":\"Test2\",\"surname\":\"Test3\"}}",
			 DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Test Test2 Test3"), "first_name: %s", S(b.person_name));
	dci_birth_clear(&b);

	birth_of("{\"name\":[\"Jane Doe\"]}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Jane Doe"), "name list of strings: %s", S(b.person_name));
	dci_birth_clear(&b);

	birth_of("{\"name\":{\"prefix\":\"Dr.\"}}", DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(b.person_name == NULL && b.given_name == NULL, "no usable name");
	dci_birth_clear(&b);
}

void
test_records_sex(void)
{
	static const struct
	{
		const char *json;
		const char *want;
	}			cases[] = {
		{"{\"sex\":\"male\"}", "male"},
		{"{\"sex\":\"MALE\"}", "male"},
		{"{\"sex\":\"M\"}", "male"},
		{"{\"sex\":1}", "male"},
		{"{\"sex\":\"1\"}", "male"},
		{"{\"sex\":\"F\"}", "female"},
		{"{\"sex\":2}", "female"},
		{"{\"gender\":\"Female\"}", "female"},
		{"{\"sex\":\"other\"}", "other"},
		{"{\"sex\":3}", "other"},
		{"{\"sex\":4}", "unknown"},
		{"{\"sex\":\"U\"}", "unknown"},
		{"{\"sex\":\"martian\"}", "unknown"},
		{"{\"sex\":{\"value\":\"F\"}}", "female"},
		{"{\"sex\":\"\"}", NULL},
		{"{\"sex\":null}", NULL},
		{"{\"sex\":true}", NULL},
		{"{}", NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_birth	b;

		birth_of(cases[i].json, DCI_PROFILE_SPDCI, NULL, &b);
		CHECK(streq(b.sex, cases[i].want), "%s -> %s, want %s", cases[i].json, S(b.sex), S(cases[i].want));
		dci_birth_clear(&b);
	}
}

void
test_records_deceased(void)
{
	static const struct
	{
		const char *json;
		int			dead;
		const char *date;
	}			cases[] = {
		{"{\"death_date\":\"2020-05-01\"}", 1, "2020-05-01"},
		{"{\"death_date\":\"2020-05-01T00:00:00Z\"}", 1, "2020-05-01"},
		{"{\"death_date\":\"\"}", 0, NULL},
		{"{\"death_date\":null}", 0, NULL},
		{"{\"death_date\":\"0000-00-00\"}", 0, NULL},
		{"{}", 0, NULL},
		{"{\"deathdate\":\"2020-05-01\"}", 1, "2020-05-01"},
		{"{\"deceased\":true}", 1, NULL},
		{"{\"is_deceased\":\"yes\"}", 1, NULL},
		{"{\"deceased\":false}", 0, NULL},
		{"{\"vital_status\":\"Deceased\"}", 1, NULL},
		{"{\"deceased\":{\"deceased\":true,\"deathDate\":\"2021-02-03\"}}", 1, "2021-02-03"},
		{"{\"death_date\":\"unknown\"}", -1, NULL},
		{"{\"death_date\":\"unknown\",\"deceased\":true}", 1, NULL},
		{"{\"death_date\":\"unknown\",\"deceased\":false}", 0, NULL},
		{"{\"death_date\":\"2020-05-01\",\"deceased\":false}", 1, "2020-05-01"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_birth	b;

		birth_of(cases[i].json, DCI_PROFILE_SPDCI, NULL, &b);
		CHECK(b.is_deceased == cases[i].dead && streq(b.death_date, cases[i].date),
			  "%s -> %d %s", cases[i].json, b.is_deceased, S(b.death_date));
		dci_birth_clear(&b);
	}
}

void
test_records_opencrvs(void)
{
	dci_birth	b;
	int			rc;

	/* the shape opencrvs/dci-crvs-api builds for a birth */
	rc = birth_of("{\"identifier\":[{\"name\":\"BRN\",\"identifier\":\"2024BRN1\"},"
				  "{\"name\":\"NID\",\"identifier\":\"N-9\"}],"
				  "\"birthDate\":\"2024-01-15\",\"givenName\":\"Kofi\",\"familyName\":\"Mensah\","
				  "\"sex\":\"male\",\"birthPlace\":{\"@type\":\"Place\",\"additionalType\":\"HEALTH_FACILITY\","
				  "\"identifier\":\"loc-77\"},"
				  "\"relations\":[{\"@type\":\"spdci:Mother\",\"identifier\":[{\"name\":\"NID\","
				  "\"identifier\":\"MOM-1\"}],\"givenName\":\"Ama\"},"
				  "{\"@type\":\"spdci:Father\",\"identifier\":[{\"name\":\"NID\",\"identifier\":\"DAD-1\"}]}]}",
				  DCI_PROFILE_OPENCRVS, "NID", &b);
	CHECK(rc == DCI_REC_OK, "rc");
	CHECK(streq(b.identifier_type, "NID") && streq(b.identifier_value, "N-9"),
		  "identifier {name, identifier}: %s %s", S(b.identifier_type), S(b.identifier_value));
	CHECK(streq(b.given_name, "Kofi") && streq(b.family_name, "Mensah") && streq(b.person_name, "Kofi Mensah"),
		  "camelCase names");
	CHECK(streq(b.birth_date, "2024-01-15") && streq(b.sex, "male"), "birthDate / sex");
	CHECK(streq(b.birth_place, "loc-77"), "place identifier: %s", S(b.birth_place));
	CHECK(streq(b.parent1_identifier, "MOM-1") && streq(b.parent2_identifier, "DAD-1"),
		  "relations: %s %s", S(b.parent1_identifier), S(b.parent2_identifier));
	CHECK(b.is_deceased == 0, "alive");
	dci_birth_clear(&b);

	/* death record */
	birth_of("{\"identifier\":[{\"name\":\"DRN\",\"identifier\":\"D-1\"}],\"deathDate\":\"2023-12-31\","
			 "\"gender\":\"female\"}", DCI_PROFILE_OPENCRVS, "DRN", &b);
	CHECK(b.is_deceased == 1 && streq(b.death_date, "2023-12-31") && streq(b.sex, "female"), "death");
	dci_birth_clear(&b);

	/* the older bridge: identifier[{type, value}], given_name/family_name, parent1 {identifier_type, identifier} */
	birth_of("{\"identifier\":[{\"type\":\"BRN\",\"value\":\"B-2\"}],\"birthdate\":\"2020-02-02\","
			 "\"given_name\":\"Esi\",\"middle_name\":null,\"family_name\":\"Owusu\",\"sex\":\"female\","
			 "\"parent1_identifier\":{\"identifier_type\":\"NATIONAL_ID\",\"identifier\":\"M-7\"}}",
			 DCI_PROFILE_OPENCRVS, "BRN", &b);
	CHECK(streq(b.identifier_value, "B-2") && streq(b.person_name, "Esi Owusu") &&
		  streq(b.parent1_identifier, "M-7") && streq(b.birth_date, "2020-02-02"),
		  "legacy bridge: %s %s %s", S(b.identifier_value), S(b.person_name), S(b.parent1_identifier));
	dci_birth_clear(&b);

	/* an OpenCRVS-shaped record read with the SPDCI profile still maps */
	birth_of("{\"givenName\":\"Kofi\",\"familyName\":\"Mensah\",\"birthDate\":\"2024-01-15\"}",
			 DCI_PROFILE_SPDCI, NULL, &b);
	CHECK(streq(b.person_name, "Kofi Mensah") && streq(b.birth_date, "2024-01-15"), "profile fallback");
	dci_birth_clear(&b);
}

/* ------------------------------------------------------------------- IBR */

void
test_records_enrollment(void)
{
	dci_enrollment e;
	int			rc;

	/* the ibr_api sample: everything nested under member */
	rc = enroll_of("{\"assistance_unit\":\"1\",\"member\":{\"member_identifier\":\"HS0205202401\","
				   "\"demographic_info\":{\"person\":{\"identifier_type\":\"NID\",\"identifier_value\":\"0205202401\","
				   "\"name\":{\"first_name\":\"Test\",\"second_name\":\"Test2\",\"surname\":\"Test3\"},"
				   "\"sex\":\"F\",\"birth_date\":\"02.05.2004\",\"death_date\":\"\"}},"
				   "\"is_disabled\":\"0\",\"disability_info\":\"\",\"registration_date\":\"02.05.2024\","
				   "\"programme_identifier\":{\"programme\":{\"programme_identifier\":\"DCI001\","
				   "\"programme_name\":\"Test Programme\"},\"enrolment_date\":\"02.02.2024\","
				   "\"enrolment_status\":\"Active\",\"status_change_date\":\"\"}}}", "NID", &e);
	CHECK(rc == DCI_REC_OK, "rc");
	CHECK(streq(e.identifier_type, "NID") && streq(e.identifier_value, "0205202401"),
		  "id %s %s", S(e.identifier_type), S(e.identifier_value));
	CHECK(streq(e.name, "Test Test2 Test3"), "name %s", S(e.name));
	CHECK(streq(e.programme_id, "DCI001") && streq(e.programme_name, "Test Programme"),
		  "programme %s %s", S(e.programme_id), S(e.programme_name));
	CHECK(streq(e.enrollment_status, "active") && e.is_active == 1, "status %s", S(e.enrollment_status));
	CHECK(streq(e.enrollment_date, "2024-02-02"), "date %s", S(e.enrollment_date));
	dci_enrollment_clear(&e);

	/* typed identifiers before the member code, even without a wanted type */
	enroll_of("{\"member\":{\"member_identifier\":\"HS1\",\"demographic_info\":{\"person\":"
			  "{\"identifier_type\":\"NID\",\"identifier_value\":\"N1\"}}}}", NULL, &e);
	CHECK(streq(e.identifier_type, "NID") && streq(e.identifier_value, "N1"), "typed first: %s",
		  S(e.identifier_value));
	dci_enrollment_clear(&e);

	/* member_identifier when no typed identifier exists */
	enroll_of("{\"member\":{\"member_identifier\":\"HS1\"},\"enrollment_status\":1}", "NID", &e);
	CHECK(e.identifier_type == NULL && streq(e.identifier_value, "HS1"), "member_identifier");
	dci_enrollment_clear(&e);

	/* the spec's top-level form, status as an integer code */
	static const struct
	{
		const char *json;
		const char *status;
		int			active;
	}			cases[] = {
		{"{\"enrollment_status\":1}", "active", 1},
		{"{\"enrollment_status\":\"1\"}", "active", 1},
		{"{\"enrolment_status\":\"Active\"}", "active", 1},
		{"{\"enrollment_status\":\"ENROLLED\"}", "active", 1},
		{"{\"enrollment_status\":2}", "deceased", 0},
		{"{\"enrolment_status\":\"3\"}", "graduated", 0},
		{"{\"enrollment_status\":4}", "suspended", 0},
		{"{\"enrollment_status\":\"Suspended\"}", "suspended", 0},
		{"{\"enrollment_status\":7}", "7", 0},
		{"{\"enrollment_status\":-3}", "-3", 0},
		{"{\"enrollment_status\":\"Pending Review\"}", "pending review", 0},
		{"{\"enrollment_status\":\"\"}", NULL, -1},
		{"{\"enrollment_status\":null}", NULL, -1},
		{"{}", NULL, -1},
		{"{\"enrollment_status\":\"\",\"enrolment_status\":\"active\"}", "active", 1},
		{"{\"enrollment_status\":{\"code\":\"1\"}}", "active", 1},
		{"{\"programme\":{\"enrolment_status\":\"3\"}}", "graduated", 0},
		{"{\"programme_identifier\":[{\"programme_identifier\":\"P1\",\"enrollment_status\":\"active\"}]}",
		"active", 1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		enroll_of(cases[i].json, NULL, &e);
		CHECK(streq(e.enrollment_status, cases[i].status) && e.is_active == cases[i].active,
			  "%s -> %s %d", cases[i].json, S(e.enrollment_status), e.is_active);
		dci_enrollment_clear(&e);
	}

	/* programme_identifier as a bare string; spdci Examples/Person.json form */
	enroll_of("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U1\"}],"
			  "\"programme_identifier\":\"PROG-9\",\"programme_name\":\"Cash\","
			  "\"enrollment_date\":\"2023-01-02T00:00:00Z\"}", "UIN", &e);
	CHECK(streq(e.programme_id, "PROG-9") && streq(e.programme_name, "Cash") &&
		  streq(e.enrollment_date, "2023-01-02") && streq(e.identifier_value, "U1"),
		  "flat: %s %s %s", S(e.programme_id), S(e.programme_name), S(e.enrollment_date));
	dci_enrollment_clear(&e);
	enroll_of("{\"identifier\":{\"identifier_type\":\"UIN\",\"identifier_value\":\"847951632\"},"
			  "\"name\":{\"surname\":\"Phumchai\",\"given_name\":\"Sudarat\",\"second_name\":\"\"},"
			  "\"programme\":{\"programme_name\":\"\",\"programme_identifier\":\"\","
			  "\"enrolment_date\":\"2022-10-21T11:20:00\",\"enrolment_status\":\"3\"}}", NULL, &e);
	CHECK(streq(e.name, "Sudarat Phumchai") && e.programme_id == NULL && e.programme_name == NULL &&
		  streq(e.enrollment_status, "graduated") && e.is_active == 0 &&
		  streq(e.enrollment_date, "2022-10-21"), "Examples/Person.json: %s %s", S(e.name), S(e.enrollment_date));
	dci_enrollment_clear(&e);

	enroll_of("{\"enrollment_date\":\"31/12/2024\"}", NULL, &e);
	CHECK(e.enrollment_date == NULL && (e.bad & DCI_BAD_ENROLL_DATE), "bad enrollment date");
	dci_enrollment_clear(&e);
}

/* -------------------------------------------------------------------- DR */

static void
check_scores(const dci_disability *d, const int *want, const char *what)
{
	for (int i = 0; i < DCI_WG_NDOMAINS; i++)
		CHECK(d->scores[i] == want[i], "%s: %s = %d, want %d", what, dci_wg_domain_name(i),
			  d->scores[i], want[i]);
}

void
test_records_disability_status(void)
{
	static const struct
	{
		const char *json;
		int			has;
		int			registry;
	}			cases[] = {
		{"{\"disability_status\":\"Approved\"}", 1, 1},
		{"{\"disability_status\":\"APPROVED\"}", 1, 1},
		{"{\"disability_status\":\"registered\"}", 1, 1},
		{"{\"disability_status\":\"Rejected\"}", 0, 0},
		{"{\"disability_status\":\"denied\"}", 0, 0},
		{"{\"disability_status\":\"Pending\"}", -1, -1},
		{"{\"disability_status\":\"Expired\"}", -1, -1},
		{"{\"disability_status\":\"weird\"}", -1, -1},
		{"{\"disability_status\":true}", 1, 1},
		/* numeric codes are ambiguous (SPDCI: 0 Approved, 1 Pending, 2 Expired; others 0/1 = no/yes) */
		{"{\"disability_status\":0}", -1, -1},
		{"{\"disability_status\":1}", -1, -1},
		{"{\"disability_status\":\"2\"}", -1, -1},
		{"{\"disability_status\":1,\"has_disability\":true}", 1, 1},
		{"{\"disability_status\":\"Pending\",\"has_disability\":false}", 0, 0},
		{"{\"has_disability\":true}", 1, 1},
		{"{\"has_disability\":\"yes\"}", 1, 1},
		{"{\"has_disability\":0}", 0, 0},
		{"{\"has_disability\":\"maybe\"}", -1, -1},
		{"{\"is_disabled\":\"1\"}", 1, 1},
		{"{\"is_disabled\":\"2\"}", 0, 0},
		{"{\"is_disabled\":3}", -1, -1},
		{"{\"member\":{\"is_disabled\":\"0\"}}", 0, 0},
		/* status wins over a flag */
		{"{\"disability_status\":\"Rejected\",\"has_disability\":true}", 0, 0},
		/* registry verdict wins over scores for has_disability */
		{"{\"disability_status\":\"Rejected\",\"functional_scores\":{\"vision\":4}}", 0, 0},
		{"{}", -1, -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		dci_disability d;

		disab_of(cases[i].json, &d);
		CHECK(d.has_disability == cases[i].has && d.registry_says == cases[i].registry,
			  "%s -> has %d registry %d", cases[i].json, d.has_disability, d.registry_says);
		dci_disability_clear(&d);
	}
}

void
test_records_wg_scores(void)
{
	dci_disability d;
	int			rc;

	/* SPDCI DisabilityInfo as a list, WG codes, integer severities */
	{
		int			want[6] = {3, 1, 2, 0, 4, 0};

		rc = disab_of("{\"disability_info\":[{\"disability_limitation_type\":\"VIS_SS\",\"functional_severity\":3},"
					  "{\"disability_limitation_type\":\"HEAR_SS\",\"functional_severity\":1},"
					  "{\"disability_limitation_type\":\"MOB_SS\",\"functional_severity\":\"2\"},"
					  "{\"disability_limitation_type\":\"SC_SS\",\"functional_severity\":\"CANNOT_DO_AT_ALL\"}]}", &d);
		CHECK(rc == DCI_REC_OK, "rc");
		check_scores(&d, want, "array of VIS_SS...");
		CHECK(d.has_disability == 1 && d.registry_says == -1, "from scores: %d", d.has_disability);
		dci_disability_clear(&d);
	}
	/* one object, OpenSPP-style domain names and text severity */
	{
		int			want[6] = {0, 0, 3, 0, 0, 0};

		disab_of("{\"disability_info\":{\"disability_limitation_type\":\"Mobility\",\"functional_severity\":\"A_LOT\"}}", &d);
		check_scores(&d, want, "single object");
		dci_disability_clear(&d);
	}
	{
		int			want[6] = {0, 0, 0, 2, 3, 4};

		disab_of("{\"disability_info\":[{\"disability_limitation_type\":\"COGNITION\",\"functional_severity\":\"some difficulty\"},"
				 "{\"disability_limitation_type\":\"SelfCare\",\"functional_severity\":\"A lot of difficulty\"},"
				 "{\"disability_limitation_type\":\"self-care\",\"functional_severity\":2},"
				 "{\"disability_limitation_type\":\"COMMUNICATION\",\"functional_severity\":4.0}]}", &d);
		check_scores(&d, want, "names and texts, worse answer kept");
		dci_disability_clear(&d);
	}
	/* named forms */
	{
		int			want[6] = {1, 2, 1, 1, 1, 2};

		disab_of("{\"functional_scores\":{\"vision\":1,\"hearing\":\"2\",\"mobility\":1,\"cognition\":1,"
				 "\"self_care\":1,\"communication\":2}}", &d);
		check_scores(&d, want, "functional_scores");
		CHECK(d.has_disability == 0, "all known below 3 -> 0: %d", d.has_disability);
		dci_disability_clear(&d);
	}
	{
		int			want[6] = {0, 4, 0, 0, 0, 0};

		disab_of("{\"wg_scores\":{\"HEAR_SS\":{\"severity\":4}}}", &d);
		check_scores(&d, want, "wg_scores with objects");
		dci_disability_clear(&d);
	}
	{
		int			want[6] = {2, 0, 3, 0, 0, 0};

		disab_of("{\"vision\":2,\"mobility\":\"3\",\"communication\":\"email\"}", &d);
		check_scores(&d, want, "top-level named");
		dci_disability_clear(&d);
	}
	/* out of range and unreadable severities are unknown */
	{
		int			want[6] = {0, 0, 0, 0, 0, 0};

		disab_of("{\"disability_info\":[{\"disability_limitation_type\":\"VIS_SS\",\"functional_severity\":5},"
				 "{\"disability_limitation_type\":\"HEAR_SS\",\"functional_severity\":0},"
				 "{\"disability_limitation_type\":\"MOB_SS\",\"functional_severity\":-1},"
				 "{\"disability_limitation_type\":\"COG_SS\",\"functional_severity\":2.5},"
				 "{\"disability_limitation_type\":\"SC_SS\",\"functional_severity\":\"lots\"},"
				 "{\"disability_limitation_type\":\"XYZ\",\"functional_severity\":4}],"
				 "\"vision\":99}", &d);
		check_scores(&d, want, "out of range");
		CHECK(d.has_disability == -1, "nothing known: %d", d.has_disability);
		dci_disability_clear(&d);
	}

	/* types, severity text, assessment date */
	rc = disab_of("{\"personal_details\":{\"identifier\":\"123456\",\"name\":{\"first_name\":\"John\"}},"
				  "\"disability_status\":\"Approved\",\"disability_level\":\"Severe\","
				  "\"disability_details\":[{\"impairment_type\":\"Physical and movement related functions\","
				  "\"impairment_level\":\"Severe impairment or difficulty\"},"
				  "{\"impairment_type\":\"Physical and movement related functions\"},"
				  "{\"impairment_type\":\"Hearing\"}],\"disability_type\":[\"H54.0\",\"\"],"
				  "\"registration_date\":\"2023-01-10T00:00:00Z\",\"last_updated\":\"2023-09-20T00:00:00Z\"}", &d);
	CHECK(rc == DCI_REC_OK && d.has_disability == 1, "DR sample");
	CHECK(d.n_disability_types == 3 && streq(d.disability_types[0], "Physical and movement related functions") &&
		  streq(d.disability_types[1], "Hearing") && streq(d.disability_types[2], "H54.0"),
		  "types: %zu", d.n_disability_types);
	CHECK(streq(d.severity, "Severe"), "severity %s", S(d.severity));
	CHECK(streq(d.assessment_date, "2023-01-10"), "assessment %s", S(d.assessment_date));
	dci_disability_clear(&d);

	disab_of("{\"assessment_date\":\"bad\",\"last_updated\":\"2023-09-20\"}", &d);
	CHECK(streq(d.assessment_date, "2023-09-20") && d.bad == 0, "fallback date: %s", S(d.assessment_date));
	dci_disability_clear(&d);
	disab_of("{\"assessment_date\":\"bad\"}", &d);
	CHECK(d.assessment_date == NULL && (d.bad & DCI_BAD_ASSESS_DATE), "bad assessment date");
	dci_disability_clear(&d);
}

void
test_records_pwd(void)
{
	dci_disability d;

	/* threshold cut-off at 3: a 2 is not, a 3 is */
	disab_of("{\"functional_scores\":{\"vision\":2,\"hearing\":1}}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 0, "2 < 3");
	CHECK(dci_disability_is_pwd(&d, 2) == 1, "2 >= 2");
	dci_disability_clear(&d);
	disab_of("{\"functional_scores\":{\"vision\":3}}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 1, "3 >= 3");
	CHECK(dci_disability_is_pwd(&d, 4) == 0, "3 < 4, no registry verdict");
	CHECK(d.has_disability == 1, "has_disability uses the fixed cut-off 3");
	dci_disability_clear(&d);

	/* the registry's word counts either way; a high score still wins */
	disab_of("{\"has_disability\":true}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 1, "registry yes");
	dci_disability_clear(&d);
	disab_of("{\"has_disability\":false,\"functional_scores\":{\"vision\":2}}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 0, "registry no");
	dci_disability_clear(&d);
	disab_of("{\"disability_status\":\"Rejected\",\"functional_scores\":{\"vision\":4}}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 1, "score over threshold despite a rejection");
	dci_disability_clear(&d);
	disab_of("{\"has_disability\":true,\"functional_scores\":{\"vision\":1}}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == 1, "registry yes, low scores");
	dci_disability_clear(&d);

	/* nothing known is not "no" */
	disab_of("{\"disability_status\":\"Pending\"}", &d);
	CHECK(dci_disability_is_pwd(&d, 3) == -1, "unknown");
	CHECK(dci_disability_is_pwd(&d, 0) == -1, "threshold 0 does not count unknown domains");
	dci_disability_clear(&d);
	CHECK(dci_disability_is_pwd(NULL, 3) == -1, "NULL");
}

/* ------------------------------------------------ hostile values, binding */

void
test_records_nul_numbers(void)
{
	cj_node    *o = J("{\"big\":18446744073709551617,\"neg\":-9223372036854775809,\"max\":9223372036854775807,"
					  "\"min\":-9223372036854775808,\"sbig\":\"18446744073709551617\",\"f\":1.0,"
					  "\"near\":0.99999999999999999999,\"tiny\":1e-400,\"e\":1e3,\"nul\":\"3\\u0000\"}");
	long		n = -99;
	dci_birth	b;
	dci_enrollment e;
	dci_disability d;

	/* integers beyond a long are refused, never clamped */
	CHECK(dci_rec_long(o, "big", &n) == -1 && n == -99, "2^64+1 refused: %ld", n);
	CHECK(dci_rec_long(o, "neg", &n) == -1, "below LONG_MIN refused");
	CHECK(dci_rec_long(o, "sbig", &n) == -1, "2^64+1 as a string refused");
	CHECK(dci_rec_long(o, "max", &n) == 1 && n == 9223372036854775807L, "LONG_MAX");
	CHECK(dci_rec_long(o, "min", &n) == 1 && n == (-9223372036854775807L - 1), "LONG_MIN");
	CHECK(dci_rec_long(o, "near", &n) == 1 && n == 1, "0.99999999999999999999 reads 1, as signed");
	CHECK(dci_rec_long(o, "e", &n) == 1 && n == 1000, "1e3 is 1000");
	CHECK(dci_rec_long(o, "nul", &n) == -1, "a string with U+0000 is no number");
	/* numbers as text are their canonical text */
	CHECK(streq(dci_rec_text(o, "big"), "18446744073709551617"), "big integer text verbatim");
	CHECK(streq(dci_rec_text(o, "f"), "1.0") && streq(dci_rec_text(o, "near"), "1.0") &&
		  streq(dci_rec_text(o, "tiny"), "0.0") && streq(dci_rec_text(o, "e"), "1000.0"),
		  "canonical: %s %s %s %s", S(dci_rec_text(o, "f")), S(dci_rec_text(o, "near")),
		  S(dci_rec_text(o, "tiny")), S(dci_rec_text(o, "e")));
	CHECK(dci_rec_text(o, "nul") == NULL, "no text cut at U+0000");
	cj_free(o);

	/* a record holding U+0000 anywhere is refused whole, by every mapper */
	{
		static const char *const docs[] = {
			"{\"name\":{\"given_name\":\"Ami\\u0000na\"},\"sex\":\"female\"}",
			"{\"identifier\":[{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-1\\u0000\"}]}",
			"{\"extra\":{\"deep\":[\"ok\",\"\\u0000\"]},\"sex\":\"male\"}",
			"{\"k\\u0000\":1}",
		};

		for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		{
			o = J(docs[i]);
			CHECK(dci_map_birth(o, DCI_PROFILE_SPDCI, "BRN", &b) == DCI_REC_NUL && b.sex == NULL &&
				  b.identifier_value == NULL, "birth: doc %zu refused with DCI_REC_NUL", i);
			CHECK(dci_map_enrollment(o, NULL, &e) == DCI_REC_NUL && e.name == NULL, "enrollment: doc %zu", i);
			CHECK(dci_map_disability(o, &d) == DCI_REC_NUL && d.has_disability == -1 && d.registry_says == -1,
				  "disability: doc %zu", i);
			dci_birth_clear(&b);
			dci_enrollment_clear(&e);
			dci_disability_clear(&d);
			cj_free(o);
		}
	}
	/* its clean neighbour maps */
	o = J("[{\"sex\":\"\\u0000\"},{\"sex\":\"female\"}]");
	CHECK(dci_map_birth(cj_array_get(o, 0), DCI_PROFILE_SPDCI, NULL, &b) == DCI_REC_NUL, "row 0 refused");
	dci_birth_clear(&b);
	CHECK(dci_map_birth(cj_array_get(o, 1), DCI_PROFILE_SPDCI, NULL, &b) == DCI_REC_OK && streq(b.sex, "female"),
		  "row 1 maps");
	dci_birth_clear(&b);
	cj_free(o);
	/* a duplicate key counts once, with its last value */
	o = J("{\"functional_scores\":{\"vision\":4,\"vision\":1}}");
	dci_map_disability(o, &d);
	CHECK(d.scores[DCI_WG_VISION] == 1, "last duplicate: %d", d.scores[DCI_WG_VISION]);
	dci_disability_clear(&d);
	cj_free(o);
}

static int
has_id(const char *json, const char *type, const char *value)
{
	cj_node    *o = J(json);
	int			r = dci_rec_has_identifier(o, type, value);

	cj_free(o);
	return r;
}

void
test_records_has_identifier(void)
{
	static const struct
	{
		const char *json;
		const char *type;
		const char *value;
		int			want;
	}			cases[] = {
		/* spdci */
		{"{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"},"
		"{\"identifier_type\":\"BRN\",\"identifier_value\":\"B-7\"}]}", "BRN", "B-7", DCI_ID_YES},
		{"{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"}]}", "brn", "U-1", DCI_ID_NO},
		{"{\"identifier\":[{\"identifier_type\":\"uin\",\"identifier_value\":\"U-1\"}]}", "UIN", "U-1", DCI_ID_YES},
		{"{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"}]}", "UIN", "u-1", DCI_ID_NO},
		{"{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"U-1\"}]}", "UIN", "U-1 ", DCI_ID_NO},
		{"{\"identifier\":{\"identifier_type\":\"UIN\",\"identifier_value\":\"847951632\"}}", "UIN", "847951632", DCI_ID_YES},
		{"{\"identifier\":[{\"identifier_type\":\"ns:org:IdType:BRN\",\"identifier_value\":\"B-7\"}]}", "BRN", "B-7", DCI_ID_YES},
		{"{\"identifier_type\":\"BRN\",\"identifier\":12345}", "BRN", "12345", DCI_ID_YES},
		/* opencrvs */
		{"{\"identifier\":[{\"name\":\"BRN\",\"identifier\":\"2024BRN1\"},{\"name\":\"NID\",\"identifier\":\"N-9\"}]}",
		"NID", "N-9", DCI_ID_YES},
		{"{\"identifier\":[{\"type\":\"BRN\",\"identifier\":\"2024BRN1\"}]}", "BRN", "2024BRN1", DCI_ID_YES},
		{"{\"identifier\":[{\"name\":\"BRN\",\"identifier\":\"2024BRN1\"}]}", "NID", "2024BRN1", DCI_ID_NO},
		/* IBR nestings */
		{"{\"member\":{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"1\"}]}}", "UIN", "1", DCI_ID_YES},
		{"{\"member\":{\"demographic_info\":{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"1000000042\"}]}}}",
		"UIN", "1000000042", DCI_ID_YES},
		{"{\"demographic_info\":{\"identifier\":[{\"identifier_type\":\"NID\",\"identifier_value\":\"9\"}]}}", "NID", "9", DCI_ID_YES},
		{"{\"member\":{\"demographic_info\":{\"person\":{\"identifier_type\":\"NID\",\"identifier_value\":\"0205\"}}}}",
		"NID", "0205", DCI_ID_YES},
		{"{\"member\":{\"demographic_info\":{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"2\"}]}}}",
		"UIN", "1", DCI_ID_NO},
		/* no identifiers at all; an untyped member code does not count */
		{"{\"name\":\"x\"}", "UIN", "1", DCI_ID_NONE},
		{"{\"identifier\":[]}", "UIN", "1", DCI_ID_NONE},
		{"{\"member\":{\"member_identifier\":\"HS1\"}}", "UIN", "HS1", DCI_ID_NONE},
		/* a value with U+0000 never matches */
		{"{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"1\\u0000x\"}]}", "UIN", "1", DCI_ID_NO},
		/* untyped: present, but not ours */
		{"{\"identifier\":\"12345\"}", "UIN", "12345", DCI_ID_NO},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(has_id(cases[i].json, cases[i].type, cases[i].value) == cases[i].want,
			  "case %zu: %s has (%s, %s): %d, want %d", i, cases[i].json, cases[i].type, cases[i].value,
			  has_id(cases[i].json, cases[i].type, cases[i].value), cases[i].want);
	CHECK(dci_rec_has_identifier(NULL, "UIN", "1") == DCI_ID_NONE, "NULL record");
	CHECK(has_id("{\"identifier\":[{\"identifier_type\":\"UIN\",\"identifier_value\":\"1\"}]}", NULL, "1") == DCI_ID_NONE,
		  "NULL type");
}

/* ----------------------------------------------------- shapes and garbage */

#ifndef RECORDS_STANDALONE
void
test_records_reg_records(void)
{
	cj_node    *arr = J("[{\"sex\":\"M\"},{\"sex\":\"F\"},5]");
	cj_node    *one = J("{\"sex\":\"F\"}");
	cj_node    *str = J("\"x\"");
	dci_birth	b;

	CHECK(dci_records_len(arr) == 3 && dci_records_len(one) == 1, "array / object");
	CHECK(dci_records_len(NULL) == 0 && dci_records_len(str) == 0, "null / other");
	CHECK(dci_records_get(one, 0) == one && dci_records_get(one, 1) == NULL, "object is record 0");
	CHECK(dci_records_get(arr, 3) == NULL && dci_records_get(NULL, 0) == NULL, "out of range");
	CHECK(dci_map_birth(dci_records_get(arr, 1), DCI_PROFILE_SPDCI, NULL, &b) == DCI_REC_OK &&
		  streq(b.sex, "female"), "map element");
	dci_birth_clear(&b);
	CHECK(dci_map_birth(dci_records_get(arr, 2), DCI_PROFILE_SPDCI, NULL, &b) == DCI_REC_NOT_OBJECT,
		  "non-object element");
	cj_free(arr);
	cj_free(one);
	cj_free(str);
}
#endif

/* Map one document three ways and clear: nothing may crash or leak. */
static void
map_all(const cj_node *o)
{
	dci_birth	b;
	dci_enrollment e;
	dci_disability d;

	(void) dci_map_birth(o, DCI_PROFILE_SPDCI, "BRN", &b);
	dci_birth_clear(&b);
	(void) dci_map_birth(o, DCI_PROFILE_OPENCRVS, NULL, &b);
	dci_birth_clear(&b);
	(void) dci_map_enrollment(o, "NID", &e);
	dci_enrollment_clear(&e);
	(void) dci_map_disability(o, &d);
	(void) dci_disability_is_pwd(&d, 3);
	dci_disability_clear(&d);
}

void
test_records_garbage(void)
{
	static const char *const docs[] = {
		"null", "5", "\"x\"", "[]", "[1,2]", "{}", "true",
		"{\"name\":5,\"identifier\":\"x\",\"disability_info\":[1,2]}",
		"{\"name\":[],\"identifier\":[null,5,[],{}],\"sex\":[],\"birth_date\":{},\"death_date\":[1]}",
		"{\"name\":{\"given_name\":{},\"surname\":[1,{}],\"given\":[null]},\"relations\":\"mother\"}",
		"{\"relations\":[5,null,{\"@type\":5},{\"@type\":\"Mother\",\"identifier\":{\"identifier\":{\"identifier\":{\"identifier\":{\"identifier\":\"deep\"}}}}}]}",
		"{\"member\":5,\"demographic_info\":[],\"personal_details\":\"x\",\"person\":null}",
		"{\"member\":[{\"demographic_info\":[{\"person\":[{\"identifier_value\":\"1\"}]}]}]}",
		"{\"programme_identifier\":[5,[],{}],\"programme\":7,\"enrollment_status\":[],\"enrolment_status\":{}}",
		"{\"programme_identifier\":{\"programme\":{\"programme\":{\"programme\":{}}},\"programme_identifier\":{\"programme_identifier\":[]}}}",
		"{\"disability_info\":{\"disability_limitation_type\":[],\"functional_severity\":{}},\"functional_scores\":[1],\"wg_scores\":\"x\"}",
		"{\"disability_info\":[{\"disability_limitation_type\":{\"code\":\"VIS_SS\"},\"functional_severity\":{\"severity\":{\"severity\":3}}}]}",
		"{\"disability_details\":{\"impairment_type\":[1,\"a\",null,{\"value\":\"b\"}]},\"disability_types\":{},\"disability_status\":[]}",
		"{\"has_disability\":[],\"is_disabled\":{},\"disability_status\":{\"value\":\"Approved\"}}",
		"{\"deceased\":{\"deceased\":{\"deceased\":true}},\"vital_status\":[],\"death_date\":1234}",
		"{\"birth_place\":{\"address\":{\"address\":{\"address\":{\"address\":\"deep\"}}}}}",
		"{\"birth_date\":1e308,\"sex\":-1e308,\"enrollment_status\":9223372036854775807,\"vision\":-9223372036854775808}",
		"{\"identifier\":[{\"identifier_type\":\":\",\"identifier_value\":\"1\"},{\"identifier_type\":\"\",\"value\":\"\"}]}",
	};
	dci_disability d;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
	{
		cj_node    *o = J(docs[i]);

		map_all(o);
		cj_free(o);
	}
	map_all(NULL);
	CHECK(1, "garbage documents survived");

	{
		cj_node    *o = J("{\"disability_info\":[{\"disability_limitation_type\":{\"code\":\"VIS_SS\"},"
						   "\"functional_severity\":{\"severity\":3}}]}");

		dci_map_disability(o, &d);
		CHECK(d.scores[DCI_WG_VISION] == 3, "coded domain object: %d", d.scores[DCI_WG_VISION]);
		dci_disability_clear(&d);
		cj_free(o);
	}
	{
		dci_birth	b;

		CHECK(dci_map_birth(NULL, DCI_PROFILE_SPDCI, NULL, &b) == DCI_REC_NOT_OBJECT &&
			  b.person_name == NULL && b.is_deceased == 0, "NULL record");
		birth_of("[1]", DCI_PROFILE_SPDCI, NULL, &b);
		CHECK(b.identifier_value == NULL, "array record");
		dci_birth_clear(&b);
		birth_of("{\"relations\":[{\"@type\":\"Mother\",\"identifier\":{\"identifier\":{\"identifier\":"
				 "{\"identifier\":{\"identifier\":\"deep\"}}}}}]}", DCI_PROFILE_OPENCRVS, NULL, &b);
		CHECK(b.parent1_identifier == NULL, "nesting is bounded");
		dci_birth_clear(&b);
	}
}

/* Random trees of known keys and awkward values (deterministic). */
static unsigned long rng_state = 12345;

static unsigned
rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned) ((rng_state >> 33) % n);
}

/* A random document as JSON text: known keys, awkward values, duplicates. */
static void
random_tree(dbuf *b, int depth)
{
	static const char *const keys[] = {
		"identifier", "identifier_type", "identifier_value", "identifiers", "type", "value", "name",
		"given_name", "surname", "givenName", "familyName", "given", "family", "sex", "gender",
		"birth_date", "birthDate", "death_date", "deathDate", "deceased", "birth_place", "address",
		"parent1_identifier", "relations", "@type", "member", "demographic_info", "person",
		"member_identifier", "programme_identifier", "programme", "programme_name", "enrollment_status",
		"enrolment_status", "enrollment_date", "disability_status", "has_disability", "is_disabled",
		"disability_info", "disability_limitation_type", "functional_severity", "functional_scores",
		"wg_scores", "vision", "VIS_SS", "disability_details", "impairment_type", "disability_type",
		"disability_level", "registration_date", "last_updated", "personal_details", "code",
	};
	static const char *const strs[] = {
		"", " ", "x", "1", "3", "VIS_SS", "Mother", "father", "2024-02-29", "2024-02-30",
		"1980-03-23T10:20:15Z", "Approved", "Rejected", "Active", "A_LOT", "BRN", "null", "0000-00-00",
		"\\u00e9\\u0000x", "ns:org:BRN", "-", ":", "\\ud83d\\ude00",
	};
	static const char *const nums[] = {"-2", "0", "1", "3", "4", "2.5", "3.0", "1e400", "18446744073709551617",
	"-9223372036854775808", "1e-400"};

	switch (depth <= 0 ? rnd(5) : rnd(8))
	{
		case 0:
			dbuf_puts(b, "null");
			return;
		case 1:
		case 4:
			/* 1e400 makes the document invalid: replaced by 1 */
			{
				const char *n = nums[rnd(sizeof(nums) / sizeof(nums[0]))];

				dbuf_puts(b, strcmp(n, "1e400") == 0 ? "1" : n);
			}
			return;
		case 2:
			dbuf_printf(b, "\"%s\"", strs[rnd(sizeof(strs) / sizeof(strs[0]))]);
			return;
		case 3:
			dbuf_puts(b, rnd(2) ? "true" : "false");
			return;
		case 5:
		case 6:
			{
				unsigned	n = rnd(6);

				dbuf_putc(b, '{');
				for (unsigned i = 0; i < n; i++)
				{
					dbuf_printf(b, "%s\"%s\":", i ? "," : "", keys[rnd(sizeof(keys) / sizeof(keys[0]))]);
					random_tree(b, depth - 1);
				}
				dbuf_putc(b, '}');
				return;
			}
		default:
			{
				unsigned	n = rnd(4);

				dbuf_putc(b, '[');
				for (unsigned i = 0; i < n; i++)
				{
					if (i)
						dbuf_putc(b, ',');
					random_tree(b, depth - 1);
				}
				dbuf_putc(b, ']');
				return;
			}
	}
}

void
test_records_random(void)
{
	int			parsed = 0;

	for (int i = 0; i < 3000; i++)
	{
		dbuf		b;
		cj_node    *o;

		dbuf_init(&b);
		random_tree(&b, 5);
		o = cj_parse(b.data, b.len, NULL, 0);
		parsed += o != NULL;
		map_all(o);
		cj_free(o);
		dbuf_free(&b);
	}
	CHECK(parsed == 3000, "random documents parse: %d", parsed);
}

void
test_records_huge(void)
{
	size_t		n = 4 * 1024 * 1024;
	char	   *big = malloc(n + 1);
	dbuf		t;
	cj_node    *o;
	dci_birth	b;
	dci_enrollment e;
	static const char *const keys[] = {"name", "birth_date", "sex", "enrollment_status", "disability_status", "vision"};

	CHECK(big != NULL, "malloc");
	if (big == NULL)
		return;
	memset(big, 'a', n);
	big[n] = '\0';
	dbuf_init(&t);
	dbuf_putc(&t, '{');
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		dbuf_printf(&t, "%s\"%s\":\"%s\"", k ? "," : "", keys[k], big);
	dbuf_putc(&t, '}');
	o = J(t.data);
	dbuf_free(&t);
	CHECK(dci_map_birth(o, DCI_PROFILE_SPDCI, big, &b) == DCI_REC_OK, "huge birth");
	CHECK(b.person_name != NULL && strlen(b.person_name) == n && streq(b.sex, "unknown") &&
		  b.birth_date == NULL && (b.bad & DCI_BAD_BIRTH_DATE), "huge values");
	dci_birth_clear(&b);
	CHECK(dci_map_enrollment(o, NULL, &e) == DCI_REC_OK && e.enrollment_status &&
		  strlen(e.enrollment_status) == n && e.is_active == 0, "huge status");
	dci_enrollment_clear(&e);
	map_all(o);
	cj_free(o);
	free(big);
}

#ifdef RECORDS_STANDALONE
int
main(void)
{
	test_records_dates();
	test_records_helpers();
	test_records_birth_spdci();
	test_records_names();
	test_records_sex();
	test_records_deceased();
	test_records_opencrvs();
	test_records_enrollment();
	test_records_disability_status();
	test_records_wg_scores();
	test_records_pwd();
	test_records_garbage();
	test_records_random();
	test_records_huge();
	printf("test_records: %d checks, %d failed\n", unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}
#endif
