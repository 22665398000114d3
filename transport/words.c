/* SPDX-License-Identifier: MIT */
/*
 * words.c - sh-like word splitting (no shell) and quoting for sh.
 *
 * Theory of operation: --via's PREFIX is what a user would type before a
 * command in their shell ("kubectl exec -i pod/x -c app --"), so it is
 * split with the shell's quoting rules (POSIX XCU 2.2), and the words are
 * then handed to posix_spawnp() as they are: the laptop side never runs a
 * shell over user text. One pass over the string writes every word, NUL
 * after NUL, into the tail of one block whose head is the array of
 * pointers, so the caller frees one pointer.
 *
 * Some prefixes (ssh, gh codespace ssh) do not run the words they are
 * given but join them with spaces into one line for the remote user's
 * shell, which splits it again; tp_words_remote_shell() knows them by
 * name, so that via.c can quote every word it appends for that shell.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "transport/words.h"

#define BLANKS " \t\n"
/* what sh would expand or treat as syntax outside quotes */
#define SPECIAL "$`|&;<>()*?["

/* one word from *sp into *op; *sp is at its first character */
static int word_take(const char **sp, char **op, const char **why)
{
	const char *s = *sp;
	char *o = *op;
	bool start = true;

	while (*s && !strchr(BLANKS, *s)) {
		if (*s == '\'') {
			const char *e = strchr(s + 1, '\'');

			if (!e)
				return *why = "an unclosed ' quote", -EINVAL;
			memcpy(o, s + 1, (size_t)(e - s - 1));
			o += e - s - 1;
			s = e + 1;
		} else if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (!*s)
					return *why = "an unclosed \" quote",
					       -EINVAL;
				if (*s == '\\' && s[1] &&
				    strchr("$`\"\\\n", s[1])) {
					if (*++s != '\n')
						*o++ = *s;
					continue;
				}
				if (*s == '$' || *s == '`')
					return *why = "$ or ` inside \"...\" "
						      "(no expansion here: "
						      "use '...')",
					       -EINVAL;
				*o++ = *s;
			}
			s++;
		} else if (*s == '\\') {
			if (!s[1])
				return *why = "a \\ at the end", -EINVAL;
			if (s[1] != '\n')
				*o++ = s[1];
			s += 2;
		} else if (strchr(SPECIAL, *s) ||
			   (start && (*s == '#' || *s == '~'))) {
			return *why = "a character sh would expand or treat "
				      "as syntax ($ ` | & ; < > ( ) * ? [, # "
				      "or ~ at a word's start): quote it",
			       -EINVAL;
		} else {
			*o++ = *s++;
		}
		start = false;
	}
	*o++ = '\0';
	*sp = s;
	*op = o;
	return 0;
}

int tp_words_split(const char *s, char ***words, const char **why)
{
	size_t len = strlen(s), max = len / 2 + 2; /* words + NULL */
	char **v = malloc(max * sizeof(*v) + len + 1);
	char *o;
	int n = 0, err;

	*why = NULL;
	if (!v)
		return -ENOMEM;
	o = (char *)(v + max);
	for (;;) {
		s += strspn(s, BLANKS);
		if (!*s)
			break;
		v[n++] = o;
		err = word_take(&s, &o, why);
		if (err) {
			free(v);
			return err;
		}
	}
	if (!n) {
		free(v);
		*why = "no command";
		return -EINVAL;
	}
	v[n] = NULL;
	*words = v;
	return n;
}

int tp_sh_quote(char *dst, size_t cap, const char *s)
{
	size_t n = 0;

#define PUT(c)                     \
	do {                       \
		if (n + 1 >= cap)  \
			goto full; \
		dst[n++] = (c);    \
	} while (0)
	PUT('\'');
	for (; *s; s++) {
		if (*s == '\'') {
			PUT('\'');
			PUT('\\');
			PUT('\'');
		}
		PUT(*s);
	}
	PUT('\'');
#undef PUT
	dst[n] = '\0';
	return (int)n;
full:
	if (cap)
		dst[0] = '\0';
	return -ENOSPC;
}

/* the last component of @w, without writing to it */
static const char *base_name(const char *w)
{
	const char *b = strrchr(w, '/');

	return b ? b + 1 : w;
}

bool tp_words_remote_shell(const char *const *words)
{
	const char *b = base_name(words[0]);

	if (!strcmp(b, "ssh"))
		return true;
	if (strcmp(b, "gh"))
		return false;
	/* gh's own options may come first: `gh -R x codespace ssh` */
	for (size_t i = 1; words[i] && words[i + 1]; i++)
		if ((!strcmp(words[i], "codespace") ||
		     !strcmp(words[i], "cs")) && /* gh's alias */
		    !strcmp(words[i + 1], "ssh"))
			return true;
	return false;
}
