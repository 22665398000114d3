/* SPDX-License-Identifier: MIT */
/*
 * status.h - `tungate status [NAME] [--json] [--watch]`: what a running
 * outside is doing, read from its control socket.
 */
#ifndef TG_STATUS_H
#define TG_STATUS_H

/**
 * tg_status_run() - the status command
 * @argc:	argument count, argv[0] being "status"
 * @argv:	arguments
 *
 * Return: the exit status (0; 1 when no outside answers; 2 on a usage
 * error)
 */
int tg_status_run(int argc, char **argv);

#endif
