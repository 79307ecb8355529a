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

#endif
