/* cli_backup.h — `klantstem backup` and `klantstem restore` (docs/OPERATIONS.md
 * "Backup and restore"). */
#ifndef KS_CLI_BACKUP_H
#define KS_CLI_BACKUP_H

/* argv[0] is "backup" / "restore"; returns the exit status (0, 1 refusal
 * or failure, 2 usage). */
int cli_backup_run(int argc, char **argv);
int cli_restore_run(int argc, char **argv);

#endif
