// SPDX-License-Identifier: MIT
/*
 * io.c - whole-buffer reads and writes (see io.h).
 *
 * Files that root keeps in a directory of its own (the inside's state
 * directory) are created under a fresh random name with O_EXCL|O_NOFOLLOW
 * and renamed into place: nothing that was there before, a symbolic link
 * planted by someone else included, is ever opened for writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/io.h"

int tg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

ssize_t tg_read_all(int fd, void *buf, size_t cap)
{
	char *b = buf;
	size_t n = 0;

	for (;;) {
		ssize_t r = read(fd, b + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
		if (n == cap) {
			char c;

			r = read(fd, &c, 1);
			return r == 0 ? (ssize_t)n : r < 0 ? -errno : -EFBIG;
		}
	}
}

static ssize_t read_file(const char *path, int flags, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = tg_read_all(fd, buf, cap);
	close(fd);
	return n;
}

ssize_t tg_read_file(const char *path, void *buf, size_t cap)
{
	return read_file(path, 0, buf, cap);
}

ssize_t tg_read_file_nofollow(const char *path, void *buf, size_t cap)
{
	return read_file(path, O_NOFOLLOW, buf, cap);
}

#define TMP_TRIES 16

int tg_tmp_create(const char *path, mode_t mode, char *tmp, size_t cap)
{
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[6];
	char sfx[sizeof(rnd) + 1];
	int fd, n;

	for (int t = 0; t < TMP_TRIES; t++) {
		if (getentropy(rnd, sizeof(rnd)) < 0)
			return -errno;
		for (size_t i = 0; i < sizeof(rnd); i++)
			sfx[i] = digits[rnd[i] % (sizeof(digits) - 1)];
		sfx[sizeof(rnd)] = '\0';
		n = snprintf(tmp, cap, "%s.%s", path, sfx);
		if (n < 0 || (size_t)n >= cap)
			return -ENAMETOOLONG;
		fd = open(tmp,
			  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			  mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

void tg_sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy))
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

int tg_write_file_atomic(const char *path, const void *buf, size_t len,
			 mode_t mode)
{
	char tmp[PATH_MAX];
	int fd = tg_tmp_create(path, mode, tmp, sizeof(tmp)), rc;

	if (fd < 0)
		return fd;
	rc = tg_write_all(fd, buf, len);
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	else
		tg_sync_dir(path);
	return rc;
}
