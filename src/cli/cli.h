/* cli.h: runnel's subcommands other than `serve` (the command-line side of
 * the one binary; issue 14). Each takes the arguments after its name and
 * returns the process exit status. */
#ifndef RN_CLI_H
#define RN_CLI_H

/* runnel health [URL] [--timeout MS]: GET URL (default
 * http://127.0.0.1:4567/health/ready; a bare host:port gets that path),
 * exit 0 on a 200 answer, 1 on any other answer, 2 when nothing answered
 * (connection refused, timeout, bad URL). https:// is spoken without
 * certificate verification (a probe of the process, not of its identity).
 * For container health checks. */
int rn_cli_health(int argc, char **argv);

/* The Kinesis client subcommands (docs/cli.md), against runnel or AWS with
 * the standard AWS configuration (cli/kclient.h). Each returns 0, 1 on a
 * failure (a service error printed as "runnel: <ErrorType>: <message>") or
 * 2 on a usage error. */
int rn_cli_streams(int argc, char **argv);   /* streams ls|create|describe|delete */
int rn_cli_consumers(int argc, char **argv); /* consumers ls STREAM */
int rn_cli_put(int argc, char **argv);       /* put STREAM [--key K] DATA|- */
int rn_cli_tail(int argc, char **argv);      /* tail STREAM [--from ..] [--follow] [--format ..] [--decode-kpl] */
int rn_cli_bench(int argc, char **argv);     /* bench STREAM [--seconds S] [--size B] [--concurrency C] */

#endif
