/* SPDX-License-Identifier: MIT */
/*
 * io.h - whole-buffer reads and writes on blocking descriptors, retried
 * on EINTR and short counts.
 */
#ifndef TG_IO_H
#define TG_IO_H

#include <stddef.h>
#include <sys/types.h>

/**
 * tg_write_all() - write all of @buf to @fd
 * Return: 0 or -errno
 */
int tg_write_all(int fd, const void *buf, size_t len);

/**
 * tg_read_all() - read @fd to its end, at most @cap bytes
 * Return: the length, or -EFBIG if there is more, or -errno
 */
ssize_t tg_read_all(int fd, void *buf, size_t cap);

/**
 * tg_read_file() - tg_read_all() of the file at @path
 * Return: as tg_read_all(), or -errno from open()
 */
ssize_t tg_read_file(const char *path, void *buf, size_t cap);

#endif
