/* cli_text.h — `klantstem text ...`: text understanding for analysts
 * (issue 14) on files, without a database.
 *
 *   text analyze  [--lang auto|nl|en] [--prior nl|en] [--format jsonl|csv]
 *                 [--taxonomy FILE] [--model FILE]
 *                 [FILE | --csv FILE --column NAME [--lang-column COL]]
 *   text train    --csv FILE --text COL --label COL [--lang-column COL] [--out MODEL]
 *   text evaluate --csv FILE --text COL --label COL [--lang-column COL] [--folds 5]
 *   text taxonomy            the default taxonomy (JSON), to start an edit from
 *
 * Exit codes as in main.c: 0 success, 1 bad input file (the message names
 * file and line) or failure, 2 usage error. docs/TEXT.md has examples.
 */
#ifndef KS_CLI_TEXT_H
#define KS_CLI_TEXT_H

/* argv[0] is "text"; returns the exit code. */
int cli_text_run(int argc, char **argv);

#endif
