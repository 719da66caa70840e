/*
 * records.h - map DCI registry records (reg_records items) to flat C structs
 * (no PostgreSQL).
 *
 * Three record families: CRVS persons (birth/death), IBR beneficiaries
 * (enrollments) and DR persons (disability).  Real registries disagree on
 * spelling and shape (see dci-interop-notes, "Records"), so every reader is
 * lenient: a field may be a string or a number, an object or a one-element
 * array, snake_case or camelCase; "", null and absent all mean "none".  No
 * input makes these functions crash; a field of the wrong type is ignored.
 *
 * Every string in an output struct is malloc'd (NULL = none) and freed by the
 * matching *_clear function.  Records are nodes of the tree the response was
 * parsed into (canonjson.h); split the reg_records value itself into records
 * with dci_records_len / dci_records_get (envelope.h): they accept an array,
 * a single object, or nothing.
 *
 * A record holding U+0000 anywhere (value or key) is refused whole with
 * DCI_REC_NUL: PostgreSQL cannot store the character, and cutting the text
 * at it would change what the registry said.  The glue fails that row only.
 */
#ifndef DCI_RECORDS_H
#define DCI_RECORDS_H

#include <stddef.h>

#include "canonjson.h"

/* Return codes of the dci_map_* functions. */
#define DCI_REC_OK			0
#define DCI_REC_NOT_OBJECT	(-1)	/* the record is not a JSON object */
#define DCI_REC_NOMEM		(-2)
#define DCI_REC_NUL			(-3)	/* the record holds U+0000 (cj_has_nul) */

/* Bits of the "bad" member: a field was present but could not be read. */
#define DCI_BAD_BIRTH_DATE	0x01
#define DCI_BAD_DEATH_DATE	0x02
#define DCI_BAD_REG_DATE	0x04
#define DCI_BAD_ENROLL_DATE 0x08
#define DCI_BAD_ASSESS_DATE 0x10

/* Which key spellings a CRVS is tried with first (the others still are). */
typedef enum dci_profile
{
	DCI_PROFILE_SPDCI,			/* snake_case, name{given_name,...} */
	DCI_PROFILE_OPENCRVS		/* givenName, birthDate, identifier[{name,identifier}], relations[] */
} dci_profile;

/* "spdci" (also NULL or "") or "opencrvs", any case.  0 ok, -1 unknown. */
int			dci_profile_parse(const char *s, dci_profile *out);

/*
 * Dates.  Accepted: YYYY-MM-DD, optionally followed by T or a space and
 * HH:MM[:SS[.fraction]] with an optional Z, +hh:mm, +hhmm or +hh (the date is
 * kept as written, not shifted to UTC); also DD.MM.YYYY (SPDCI IBR samples).
 * Month and day are range-checked, leap years included.
 *
 * dci_date_parse: 1 and out = "YYYY-MM-DD" when valid; 0 when s is NULL,
 * blank, "null"/"none"/"nil" or all-zero ("0000-00-00"); -1 when invalid.
 * dci_date_normalize: malloc'd "YYYY-MM-DD", or NULL for absent and invalid.
 */
int			dci_date_parse(const char *s, char out[11]);
char	   *dci_date_normalize(const char *s);

/*
 * Field readers (o may be anything; key is looked up only in an object).
 *
 * dci_rec_text: a string (or a number, as its canonical text) that is not
 * blank; NULL for "", whitespace, null, absent, booleans, objects, arrays,
 * and for a string holding U+0000.  The pointer is owned by the tree.
 * dci_rec_long: 1 and *out set for 3, 3.0 or "3" (blanks around allowed);
 * 0 for absent/null/""; -1 for anything else (3.5, "x", [], and any value
 * beyond a long: refused, never clamped).
 * dci_rec_bool: 1 for true, 1, "1", "true", "yes", "y", "t"; 0 for false, 0,
 * "0", "false", "no", "n", "f" (any case); -1 for absent or anything else.
 */
const char *dci_rec_text(const cj_node *o, const char *key);
int			dci_rec_long(const cj_node *o, const char *key, long *out);
int			dci_rec_bool(const cj_node *o, const char *key);

/* Answers of dci_rec_has_identifier. */
#define DCI_ID_YES			1
#define DCI_ID_NO			0
#define DCI_ID_NONE			(-1)	/* the record carries no identifier at all */

/*
 * Does the record carry identifier (type, value)?  For binding an answer to
 * the question: the type compares without case (and "ns:org:IdType:BRN"
 * matches "BRN"), the value exactly.  Read from the shapes pick_identifier
 * knows: spdci identifier[] / identifier {identifier_type, identifier_value},
 * OpenCRVS identifier[{name or type, identifier}], dci_PersonRecord's
 * identifier_type + identifier, and the same under member,
 * member.demographic_info(.person), demographic_info(.person),
 * personal_details and person (IBR, DR).  At most 64 identifiers are looked
 * at.  A record holding U+0000 anywhere answers DCI_ID_YES or DCI_ID_NO,
 * never DCI_ID_NONE (a value with U+0000 never matches).  DCI_ID_NONE also
 * when rec is no object or type/value is NULL.
 */
int			dci_rec_has_identifier(const cj_node *rec, const char *type, const char *value);

/* A CRVS person (birth or death record). */
typedef struct dci_birth
{
	char	   *identifier_type;	/* type of the chosen identifier, if known */
	char	   *identifier_value;	/* the one of the wanted type, else the first */
	char	   *given_name;
	char	   *family_name;
	char	   *person_name;	/* full name as given, or given + second + family */
	char	   *sex;			/* male, female, other, unknown */
	char	   *birth_date;		/* YYYY-MM-DD */
	char	   *birth_place;	/* text, or the name/address of a place object */
	char	   *parent1_identifier; /* mother in OpenCRVS relations[] */
	char	   *parent2_identifier; /* father */
	int			is_deceased;	/* 1 death date or marker, 0 none, -1 only an unreadable death date */
	char	   *death_date;
	char	   *registration_date;
	unsigned	bad;			/* DCI_BAD_* */
} dci_birth;

/*
 * Map one CRVS record.  want_idtype (NULL: none) selects which identifier
 * is reported.  *out is overwritten; on failure it is left cleared.
 * DCI_REC_OK, DCI_REC_NOT_OBJECT, DCI_REC_NUL or DCI_REC_NOMEM (all three
 * mappers).
 */
int			dci_map_birth(const cj_node *rec, dci_profile p,
						  const char *want_idtype, dci_birth *out);
void		dci_birth_clear(dci_birth *b);

/* An IBR beneficiary's enrollment. */
typedef struct dci_enrollment
{
	char	   *identifier_type;
	char	   *identifier_value;
	char	   *name;			/* full name */
	char	   *programme_name;
	char	   *programme_id;
	char	   *enrollment_status; /* active, deceased, graduated, suspended, or as sent (lowercase) */
	int			is_active;		/* 1 Active, 0 any other status sent, -1 no status */
	char	   *enrollment_date;
	unsigned	bad;
} dci_enrollment;

int			dci_map_enrollment(const cj_node *rec, const char *want_idtype,
							   dci_enrollment *out);
void		dci_enrollment_clear(dci_enrollment *e);

/* Washington Group domains, the order of dci_disability.scores. */
typedef enum dci_wg_domain
{
	DCI_WG_VISION,
	DCI_WG_HEARING,
	DCI_WG_MOBILITY,
	DCI_WG_COGNITION,
	DCI_WG_SELF_CARE,
	DCI_WG_COMMUNICATION,
	DCI_WG_NDOMAINS
} dci_wg_domain;

/* A DR person. */
typedef struct dci_disability
{
	int			has_disability; /* 1, 0, -1 unknown: registry first, else scores */
	int			registry_says;	/* 1, 0, -1: from disability_status / has_disability only */
	char	  **disability_types;
	size_t		n_disability_types;
	int			scores[DCI_WG_NDOMAINS];	/* 1..4, 0 = unknown */
	char	   *severity;		/* disability_level or severity, as text */
	char	   *assessment_date;
	unsigned	bad;
} dci_disability;

int			dci_map_disability(const cj_node *rec, dci_disability *out);
void		dci_disability_clear(dci_disability *d);

/*
 * Person with a disability: 1 when any known domain score >= threshold or the
 * registry says so; 0 when the registry says not (and no score reaches the
 * threshold) or, without a registry verdict, every known score is below it;
 * -1 when nothing is known.
 */
int			dci_disability_is_pwd(const dci_disability *d, int threshold);

/* Lowercase name of a domain ("vision", ..., "self_care", "communication"). */
const char *dci_wg_domain_name(int domain);

#endif
