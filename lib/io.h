/* SPDX-License-Identifier: MIT */
/*
 * io.h - whole-buffer reads and writes on blocking descriptors, retried
 * on EINTR and short counts; files that appear whole or not at all.
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

/**
 * tg_read_file_nofollow() - tg_read_file(), but a symbolic link at @path
 * is refused (-ELOOP), not followed: for files in a directory of our own
 * Return: as tg_read_file()
 */
ssize_t tg_read_file_nofollow(const char *path, void *buf, size_t cap);

/**
 * tg_tmp_create() - create a new file beside @path under a random name,
 * "@path.XXXXXX", with O_EXCL|O_NOFOLLOW: never an existing file, never
 * through a symbolic link
 * @path:	the name the file will be renamed or linked to
 * @mode:	its permissions
 * @tmp:	set to its name
 * @cap:	size of @tmp
 *
 * Return: the descriptor (open for writing), or -errno
 */
int tg_tmp_create(const char *path, mode_t mode, char *tmp, size_t cap);

/**
 * tg_write_file_atomic() - make @path hold exactly @buf: written to
 * tg_tmp_create()'s file, fsync()ed, renamed over @path (a symbolic link
 * there is replaced, not followed), the directory synced
 * Return: 0 or -errno; on error @path is as it was and no file is left
 */
int tg_write_file_atomic(const char *path, const void *buf, size_t len,
			 mode_t mode);

/** tg_sync_dir() - best effort: fsync() the directory that holds @path */
void tg_sync_dir(const char *path);

#endif
