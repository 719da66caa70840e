/*
 * owner.c - run SQL as the owner of the extension's tables.
 *
 * A caller with EXECUTE only must never make that SQL run its own code:
 * the scope is a security-restricted operation (no SET ROLE, no temporary
 * objects created, no deferred triggers of the caller), and search_path is
 * pg_catalog, pg_temp so that no function or operator of the caller's
 * schemas can be picked.  Statements still qualify every name they use.
 * An ERROR inside the scope is cleaned up by the transaction abort, which
 * restores the user, the security context, the GUCs and SPI.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "dci.h"

void
dci_owner_enter(dci_owner_scope *scope)
{
	Oid			owner = dci_config_owner();

	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec);
	SetUserIdAndSecContext(owner, scope->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	scope->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
dci_owner_leave(dci_owner_scope *scope)
{
	SPI_finish();
	AtEOXact_GUC(true, scope->save_nestlevel);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec);
}
