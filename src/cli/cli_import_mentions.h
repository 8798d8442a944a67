/* cli_import_mentions.h — `klantstem import mentions --db DB [--format F]
 * FILE` (issue 16, part H1): reviews and social posts from a file into the
 * mentions store, all or nothing (docs/MENTIONS.md).
 */
#ifndef KS_CLI_IMPORT_MENTIONS_H
#define KS_CLI_IMPORT_MENTIONS_H

/* argv[0] is "import", argv[1] "mentions"; returns the exit code (0 done,
 * 1 bad file or database failure, 2 usage). */
int cli_import_mentions_run(int argc, char **argv);

#endif
