/* SPDX-License-Identifier: MIT */
/*
 * json.c - the JSON writer and reader of json.h.
 *
 * Writer: every value goes through put(), which refuses to write past
 * cap - reserve and sets err instead, so the buffer always holds a prefix
 * of the document. Strings are escaped per RFC 8259: quote, backslash and
 * control characters; bytes that are not valid UTF-8 become U+FFFD, so
 * names from the network (DNS) can never make the document invalid.
 *
 * Reader: recursive descent, depth-limited, over the whole text; each
 * value becomes one token recording its span and where its subtree ends.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/json.h"

#define JSON_DEPTH_MAX 64

void tg_json_init(struct tg_json *j, char *buf, size_t cap)
{
	memset(j, 0, sizeof(*j));
	j->buf = buf;
	j->cap = cap;
}

void tg_json_reserve(struct tg_json *j, size_t n)
{
	j->reserve = n;
}

void tg_json_rewind(struct tg_json *j, struct tg_json_mark m)
{
	j->len = m.len;
	j->depth = m.depth;
	j->comma = m.comma;
	j->err = false;
}

static bool room(struct tg_json *j, size_t n)
{
	size_t lim = j->cap > j->reserve ? j->cap - j->reserve : 0;

	if (j->err || n > lim || j->len > lim - n) {
		j->err = true;
		return false;
	}
	return true;
}

static void put(struct tg_json *j, const char *s, size_t n)
{
	if (!room(j, n))
		return;
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static void putc_(struct tg_json *j, char c)
{
	put(j, &c, 1);
}

/* the length of the valid UTF-8 sequence at @s, or 0 (RFC 3629 4) */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	unsigned c = s[0];
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
	unsigned lo = 0x80, hi = 0xbf;

	if (n == 0 || c > 0xf4 || n > left)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f; /* no surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

static void put_escaped(struct tg_json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	char esc[8];

	putc_(j, '"');
	for (size_t i = 0; i < n && !j->err;) {
		size_t run = 0, u;

		/* copy plain ASCII in one go */
		while (i + run < n && s[i + run] >= 0x20 && s[i + run] < 0x7f &&
		       s[i + run] != '"' && s[i + run] != '\\')
			run++;
		if (run) {
			put(j, (const char *)s + i, run);
			i += run;
			continue;
		}
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			put(j, esc, 2);
		} else if (s[i] == '\n') {
			put(j, "\\n", 2);
		} else if (s[i] == '\t') {
			put(j, "\\t", 2);
		} else if (s[i] < 0x80) {
			snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
			put(j, esc, 6);
		} else if ((u = utf8_len(s + i, n - i)) > 0) {
			put(j, (const char *)s + i, u);
			i += u;
			continue;
		} else {
			put(j, "\\ufffd", 6);
		}
		i++;
	}
	putc_(j, '"');
}

/* the comma and the key before a value */
static void lead(struct tg_json *j, const char *key)
{
	if (j->comma)
		putc_(j, ',');
	if (key) {
		put_escaped(j, key, strlen(key));
		putc_(j, ':');
	}
	j->comma = true;
}

void tg_json_obj(struct tg_json *j, const char *key)
{
	lead(j, key);
	putc_(j, '{');
	j->depth++;
	j->comma = false;
}

void tg_json_obj_end(struct tg_json *j)
{
	putc_(j, '}');
	if (j->depth)
		j->depth--;
	j->comma = true;
}

void tg_json_arr(struct tg_json *j, const char *key)
{
	lead(j, key);
	putc_(j, '[');
	j->depth++;
	j->comma = false;
}

void tg_json_arr_end(struct tg_json *j)
{
	putc_(j, ']');
	if (j->depth)
		j->depth--;
	j->comma = true;
}

void tg_json_strn(struct tg_json *j, const char *key, const char *s, size_t n)
{
	lead(j, key);
	put_escaped(j, s, n);
}

void tg_json_str(struct tg_json *j, const char *key, const char *s)
{
	if (!s) {
		tg_json_null(j, key);
		return;
	}
	tg_json_strn(j, key, s, strlen(s));
}

void tg_json_strf(struct tg_json *j, const char *key, const char *fmt, ...)
{
	char s[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(s, sizeof(s), fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	tg_json_strn(j, key, s,
		     (size_t)r < sizeof(s) ? (size_t)r : sizeof(s) - 1);
}

static void put_raw(struct tg_json *j, const char *key, const char *text)
{
	lead(j, key);
	put(j, text, strlen(text));
}

void tg_json_u64(struct tg_json *j, const char *key, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	put_raw(j, key, s);
}

void tg_json_i64(struct tg_json *j, const char *key, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	put_raw(j, key, s);
}

void tg_json_bool(struct tg_json *j, const char *key, bool v)
{
	put_raw(j, key, v ? "true" : "false");
}

void tg_json_null(struct tg_json *j, const char *key)
{
	put_raw(j, key, "null");
}

int tg_json_finish(struct tg_json *j)
{
	j->reserve = 0;
	putc_(j, '\n');
	if (j->err || j->depth || j->len >= j->cap)
		return -ENOSPC;
	j->buf[j->len] = '\0';
	return (int)j->len;
}

/* ------------------------------------------------------------ reader */

struct parser {
	struct tg_jdoc *d;
	const char *s;
	size_t len, pos;
	unsigned depth;
};

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
		p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static int new_tok(struct parser *p, uint8_t type)
{
	struct tg_jdoc *d = p->d;

	if (d->n >= d->max)
		return -E2BIG;
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 256;
		struct tg_jtok *t;

		if (cap > d->max)
			cap = d->max;
		t = realloc(d->tok, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		d->tok = t;
		d->cap = cap;
	}
	d->tok[d->n] =
		(struct tg_jtok){.type = type, .start = (uint32_t)p->pos};
	return (int)d->n++;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

static int parse_string(struct parser *p)
{
	int t = new_tok(p, TG_JSTR);

	if (t < 0)
		return t;
	p->pos++; /* the opening quote */
	p->d->tok[t].start = (uint32_t)p->pos;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];

		if (c == '"') {
			p->d->tok[t].len =
				(uint32_t)p->pos - p->d->tok[t].start;
			p->pos++;
			return t;
		}
		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			if (p->pos + 1 >= p->len)
				return -EINVAL;
			c = (unsigned char)p->s[++p->pos];
			if (c == 'u') {
				if (p->pos + 4 >= p->len)
					return -EINVAL;
				for (int i = 1; i <= 4; i++)
					if (!is_hex(p->s[p->pos + i]))
						return -EINVAL;
				p->pos += 4;
			} else if (!strchr("\"\\/bfnrt", c)) {
				return -EINVAL;
			}
		}
		p->pos++;
	}
	return -EINVAL;
}

static size_t digits(struct parser *p)
{
	size_t n = 0;

	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++, n++;
	return n;
}

static int parse_number(struct parser *p)
{
	int t = new_tok(p, TG_JNUM);

	if (t < 0)
		return t;
	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '0')
		p->pos++;
	else if (!digits(p))
		return -EINVAL;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digits(p))
			return -EINVAL;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len &&
		    (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (!digits(p))
			return -EINVAL;
	}
	p->d->tok[t].len = (uint32_t)p->pos - p->d->tok[t].start;
	return t;
}

static int parse_literal(struct parser *p)
{
	static const struct {
		const char *word;
		uint8_t type;
	} lits[] = {
		{"true", TG_JBOOL}, {"false", TG_JBOOL}, {"null", TG_JNULL}};

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i].word);
		int t;

		if (p->len - p->pos < n ||
		    memcmp(p->s + p->pos, lits[i].word, n))
			continue;
		t = new_tok(p, lits[i].type);
		if (t < 0)
			return t;
		p->d->tok[t].len = (uint32_t)n;
		p->pos += n;
		return t;
	}
	return -EINVAL;
}

static int parse_value(struct parser *p);

/* the members of an object or the elements of an array, after '{' or '[' */
static int parse_container(struct parser *p, bool obj)
{
	int t = new_tok(p, obj ? TG_JOBJ : TG_JARR), r;
	char close = obj ? '}' : ']';

	if (t < 0)
		return t;
	if (++p->depth > JSON_DEPTH_MAX)
		return -EINVAL;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		goto out;
	}
	for (;;) {
		skip_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return -EINVAL;
			r = parse_string(p);
			if (r < 0)
				return r;
			p->d->tok[r].next = p->d->n;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos++] != ':')
				return -EINVAL;
		}
		r = parse_value(p);
		if (r < 0)
			return r;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		return -EINVAL;
	}
out:
	p->depth--;
	p->d->tok[t].len = (uint32_t)p->pos - p->d->tok[t].start;
	return t;
}

static int parse_value(struct parser *p)
{
	int t;
	char c;

	skip_ws(p);
	if (p->pos >= p->len)
		return -EINVAL;
	c = p->s[p->pos];
	if (c == '{' || c == '[')
		t = parse_container(p, c == '{');
	else if (c == '"')
		t = parse_string(p);
	else if (c == '-' || (c >= '0' && c <= '9'))
		t = parse_number(p);
	else
		t = parse_literal(p);
	if (t >= 0)
		p->d->tok[t].next = p->d->n;
	return t;
}

int tg_json_parse(struct tg_jdoc *d, const char *text, size_t len,
		  uint32_t max_tokens)
{
	struct parser p = {.d = d, .s = text, .len = len};
	int r;

	memset(d, 0, sizeof(*d));
	d->text = text;
	d->max = max_tokens;
	if (len > UINT32_MAX)
		return -E2BIG;
	r = parse_value(&p);
	skip_ws(&p);
	if (r >= 0 && p.pos != len)
		r = -EINVAL;
	if (r < 0) {
		tg_json_free(d);
		return r;
	}
	return 0;
}

void tg_json_free(struct tg_jdoc *d)
{
	free(d->tok);
	d->tok = NULL;
	d->n = d->cap = 0;
}

static bool valid(const struct tg_jdoc *d, int t)
{
	return t >= 0 && (uint32_t)t < d->n;
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v = v * 16 +
		    (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* one escape at @s (after the backslash) into @o; *@used: chars read */
static size_t unescape_one(const char *s, const char *end, char *o,
			   size_t *used)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	unsigned cp, lo;

	if (*s != 'u') {
		*used = 1;
		o[0] = to[strchr(from, *s) - from];
		return 1;
	}
	cp = hex4(s + 1);
	*used = 5;
	if (cp >= 0xd800 && cp < 0xdc00 && end - s >= 11 && s[5] == '\\' &&
	    s[6] == 'u' && (lo = hex4(s + 7)) >= 0xdc00 && lo < 0xe000) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*used = 11;
	} else if (cp >= 0xd800 && cp < 0xe000) {
		cp = 0xfffd; /* a lone surrogate */
	}
	return utf8_put(o, cp);
}

/* @n bytes of @s cut short: drop a UTF-8 sequence left incomplete */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t lead = n, want;
	unsigned char c;

	while (lead > 0 && n - lead < 4 &&
	       ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return n;
	c = (unsigned char)s[lead - 1];
	if (c < 0xc0)
		return n;
	want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return n - (lead - 1) < want ? lead - 1 : n;
}

const char *tg_json_text(const struct tg_jdoc *d, int t, char *out, size_t cap)
{
	const char *s, *end;
	size_t n = 0;

	if (!cap)
		return out;
	out[0] = '\0';
	if (!valid(d, t) || d->tok[t].type >= TG_JARR)
		return out;
	s = d->text + d->tok[t].start;
	end = s + d->tok[t].len;
	while (s < end) {
		char one[4];
		size_t k = 1, used = 1;

		if (*s == '\\' && d->tok[t].type == TG_JSTR) {
			k = unescape_one(s + 1, end, one, &used);
			used++; /* the backslash */
		} else {
			one[0] = *s;
		}
		if (n + k >= cap)
			break;
		memcpy(out + n, one, k);
		n += k;
		s += used;
	}
	if (s < end)
		n = utf8_cut(out, n);
	out[n] = '\0';
	return out;
}

int tg_json_get(const struct tg_jdoc *d, int obj, const char *key)
{
	size_t klen = strlen(key);
	uint32_t i;

	if (!valid(d, obj) || d->tok[obj].type != TG_JOBJ)
		return -1;
	for (i = (uint32_t)obj + 1; i < d->tok[obj].next;
	     i = d->tok[i + 1].next) {
		char k[128];

		/* keys are plain ASCII here; unescape anyway */
		if (d->tok[i].len == klen &&
		    !memcmp(d->text + d->tok[i].start, key, klen))
			return (int)i + 1;
		if (memchr(d->text + d->tok[i].start, '\\', d->tok[i].len) &&
		    !strcmp(tg_json_text(d, (int)i, k, sizeof(k)), key))
			return (int)i + 1;
	}
	return -1;
}

int tg_json_first(const struct tg_jdoc *d, int a)
{
	if (!valid(d, a) || d->tok[a].type != TG_JARR ||
	    d->tok[a].next == (uint32_t)a + 1)
		return -1;
	return a + 1;
}

int tg_json_next(const struct tg_jdoc *d, int a, int i)
{
	if (!valid(d, a) || !valid(d, i) || d->tok[i].next >= d->tok[a].next)
		return -1;
	return (int)d->tok[i].next;
}

double tg_json_num(const struct tg_jdoc *d, int t, double dflt)
{
	char s[64];

	if (!valid(d, t) || d->tok[t].type != TG_JNUM)
		return dflt;
	return strtod(tg_json_text(d, t, s, sizeof(s)), NULL);
}

uint64_t tg_json_uint(const struct tg_jdoc *d, int t, uint64_t dflt)
{
	char s[64];

	if (!valid(d, t) || d->tok[t].type != TG_JNUM ||
	    d->text[d->tok[t].start] == '-')
		return dflt;
	tg_json_text(d, t, s, sizeof(s));
	if (strpbrk(s, ".eE"))
		return (uint64_t)strtod(s, NULL);
	return strtoull(s, NULL, 10);
}

bool tg_json_true(const struct tg_jdoc *d, int t)
{
	return valid(d, t) && d->tok[t].type == TG_JBOOL &&
	       d->text[d->tok[t].start] == 't';
}
