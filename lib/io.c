// SPDX-License-Identifier: MIT
/*
 * io.c - whole-buffer reads and writes (see io.h).
 */
#include <errno.h>
#include <fcntl.h>
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

ssize_t tg_read_file(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = tg_read_all(fd, buf, cap);
	close(fd);
	return n;
}
