/* cli_users.h — `klantstem users ...` and `klantstem tokens ...`: accounts
 * and API tokens from the command line, for the operator (no HTTP, no
 * login: whoever may open the database may do this).
 *
 *   users list    --db FILE
 *   users disable --db FILE --user ID|EMAIL   (ends its sessions, revokes its tokens)
 *   users enable  --db FILE --user ID|EMAIL
 *   users delete  --db FILE --user ID|EMAIL   (a tombstone: store_user_delete)
 *   tokens list   --db FILE [--user ID|EMAIL]
 *   tokens revoke --db FILE --id TOKEN_ID
 *
 * The same rules as the API hold (the last active admin stays one; an
 * account owning open improvement actions is not deleted). Exit codes as
 * in main.c: 0 success, 1 refused or failed (the message says why), 2
 * usage error. Messages go to stderr, prefixed "klantstem:".
 */
#ifndef KS_CLI_USERS_H
#define KS_CLI_USERS_H

/* argv[0] is "users" or "tokens"; returns the exit code. */
int cli_users_run(int argc, char **argv);

#endif
