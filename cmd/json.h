/* SPDX-License-Identifier: MIT */
/*
 * json.h - a tiny JSON writer into a bounded buffer, and a small reader.
 *
 * The writer never writes past its buffer: once a value does not fit, the
 * writer remembers the error and ignores everything after it. A caller
 * that emits many rows takes a mark before each row and rewinds to it when
 * the row did not fit, so that the document stays whole and only loses
 * rows; room for the closing brackets is kept back with tg_json_reserve().
 *
 * The reader tokenizes a whole document at once (like jsmn): each value is
 * one token that knows where its subtree ends, so walking an object or an
 * array needs no allocation. Strings are unescaped on demand.
 */
#ifndef TG_JSON_H
#define TG_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg_json {
	char *buf;
	size_t cap, len;
	size_t reserve; /* bytes at the end that values may not use */
	unsigned depth;
	bool comma; /* the next value needs a comma before it */
	bool err; /* a value did not fit: the text is cut */
};

struct tg_json_mark {
	size_t len;
	unsigned depth;
	bool comma;
};

/** tg_json_init() - an empty writer over @buf, @cap bytes */
void tg_json_init(struct tg_json *j, char *buf, size_t cap);

/*
 * Values. @key names the member inside an object and must be NULL inside
 * an array or at the top level.
 */
void tg_json_obj(struct tg_json *j, const char *key);
void tg_json_obj_end(struct tg_json *j);
void tg_json_arr(struct tg_json *j, const char *key);
void tg_json_arr_end(struct tg_json *j);
void tg_json_str(struct tg_json *j, const char *key, const char *s);
void tg_json_strn(struct tg_json *j, const char *key, const char *s, size_t n);
void tg_json_strf(struct tg_json *j, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tg_json_u64(struct tg_json *j, const char *key, uint64_t v);
void tg_json_i64(struct tg_json *j, const char *key, int64_t v);
void tg_json_bool(struct tg_json *j, const char *key, bool v);
void tg_json_null(struct tg_json *j, const char *key);

/** tg_json_reserve() - keep @n bytes back for what closes the document */
void tg_json_reserve(struct tg_json *j, size_t n);

static inline struct tg_json_mark tg_json_mark(const struct tg_json *j)
{
	return (struct tg_json_mark){j->len, j->depth, j->comma};
}

/** tg_json_rewind() - forget everything written since @m, and the error */
void tg_json_rewind(struct tg_json *j, struct tg_json_mark m);

/**
 * tg_json_finish() - end the document with a newline and a NUL
 * Return: its length (without the NUL), or -ENOSPC if something did not
 * fit or a container is still open
 */
int tg_json_finish(struct tg_json *j);

/* ------------------------------------------------------------ reader */

enum tg_jtype { TG_JNULL, TG_JBOOL, TG_JNUM, TG_JSTR, TG_JARR, TG_JOBJ };

struct tg_jtok {
	uint8_t type;
	uint32_t start, len; /* the text; a string's is inside the quotes */
	uint32_t next; /* the token after this value's subtree */
};

struct tg_jdoc {
	const char *text;
	struct tg_jtok *tok;
	uint32_t n, cap, max;
};

/**
 * tg_json_parse() - tokenize @text, which must stay valid while @d is used
 * @d:		filled; free with tg_json_free()
 * @text:	the document
 * @len:	its length
 * @max_tokens:	refuse a document with more values than this
 *
 * Token 0 is the top-level value. In an object, each member is a key
 * token (a string) followed by its value's tokens.
 * Return: 0, -EINVAL (not one valid JSON value), -E2BIG or -ENOMEM
 */
int tg_json_parse(struct tg_jdoc *d, const char *text, size_t len,
		  uint32_t max_tokens);
void tg_json_free(struct tg_jdoc *d);

/** tg_json_get() - the value of member @key of object @obj, or -1 */
int tg_json_get(const struct tg_jdoc *d, int obj, const char *key);

/*
 * Walk the elements of array @a: for (i = tg_json_first(d, a); i >= 0;
 * i = tg_json_next(d, a, i)).
 */
int tg_json_first(const struct tg_jdoc *d, int a);
int tg_json_next(const struct tg_jdoc *d, int a, int i);

/**
 * tg_json_text() - the string @t unescaped into @out (cut to @cap - 1
 * bytes at a character boundary, NUL terminated); numbers, booleans and
 * null as they were written
 * Return: @out; "" if @t is -1 or a container
 */
const char *tg_json_text(const struct tg_jdoc *d, int t, char *out, size_t cap);

/** tg_json_num() - the number @t, or @dflt if it is not one */
double tg_json_num(const struct tg_jdoc *d, int t, double dflt);

/** tg_json_uint() - the number @t as an unsigned integer, or @dflt */
uint64_t tg_json_uint(const struct tg_jdoc *d, int t, uint64_t dflt);

/** tg_json_true() - @t is the literal true */
bool tg_json_true(const struct tg_jdoc *d, int t);

#endif
