/* SPDX-License-Identifier: MIT */
/*
 * words.h - command lines as words: --via's PREFIX split as sh would, and
 * words quoted for a remote sh.
 */
#ifndef TP_WORDS_H
#define TP_WORDS_H

#include <stdbool.h>
#include <stddef.h>

/**
 * tp_words_split() - split @s into words as sh would, without a shell
 * @s:		the command line, e.g. "docker exec -i 'my box'"
 * @words:	set to a malloc()ed, NULL-terminated array (one block: free
 *		it with free())
 * @why:	on -EINVAL, set to a static line that says what is wrong
 *
 * Blanks separate words; '...' keeps everything literally, "..." too
 * except that a backslash escapes $ ` " \ and a newline there; outside
 * quotes a backslash escapes the next character. Nothing is expanded, so
 * what sh would expand or treat as an operator ($ ` | & ; < > ( ), a #,
 * ~ at the start of a word, * ? [) is refused unless quoted: no variable
 * or wildcard silently means something else than in a shell.
 *
 * Return: the number of words (at least 1), or -EINVAL (bad or unclosed
 * quoting, no words, an unquoted special character), -ENOMEM
 */
int tp_words_split(const char *s, char ***words, const char **why);

/**
 * tp_sh_quote() - @s as one word for POSIX sh: '...', a ' in it as '\''
 * @dst:	output, NUL-terminated
 * @cap:	its size; 4 * strlen(@s) + 3 always suffices
 * @s:		the word
 *
 * Return: the length written, or -ENOSPC (then @dst holds "")
 */
int tp_sh_quote(char *dst, size_t cap, const char *s);

/**
 * tp_words_remote_shell() - whether the prefix @words hands its command to
 * a remote shell as one line (joined with spaces) rather than as words
 * @words:	the prefix, as from tp_words_split()
 *
 * True for a first word named ssh (any directory) and for gh with
 * `codespace ssh` (or `cs ssh`) after it; docker exec, kubectl exec and the like run
 * their words as they are.
 */
bool tp_words_remote_shell(const char *const *words);

#endif
