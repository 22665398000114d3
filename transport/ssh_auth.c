/* SPDX-License-Identifier: MIT */
/*
 * ssh_auth.c - logging in: agent, keys, then a human.
 *
 * Theory of operation: the order is ssh's. Public keys first, through
 * ssh_userauth_publickey_auto(): the keys of ssh-agent, then the identity
 * files (IdentityFile, else ~/.ssh/id_*), whose passphrase is asked on the
 * terminal when there is one. With IdentitiesOnly the agent is held back
 * until the files were tried, so that it cannot use up the server's
 * MaxAuthTries with unrelated keys. Then, on a terminal only,
 * keyboard-interactive and password. Without a terminal a refused login
 * ends with one line that says to use an agent or a key, or names the key
 * whose passphrase could not be asked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "transport/ssh_internal.h"

#define SECRET_MAX 512
#define HUMAN_TRIES 3
#define NO_AGENT "/nonexistent/tungate-identities-only"

/* libssh asks for a key's passphrase */
static int passphrase_cb(const char *prompt, char *buf, size_t len, int echo,
			 int verify, void *u)
{
	struct tp_ssh_run *r = u;
	char *id = NULL, q[600];
	int err;

	ssh_userauth_publickey_auto_get_current_identity(r->sess, &id);
	snprintf(q, sizeof(q),
		 "Enter passphrase for key '%s': ", id ? id : "?");
	/* libssh takes one answer per key: check it here, as ssh does */
	for (int i = 0; i < HUMAN_TRIES; i++) {
		ssh_key k = NULL;

		err = tp_ssh_tty_ask(r, q, buf, len, echo != 0);
		if (err || !id ||
		    ssh_pki_import_privkey_file(id, buf, NULL, NULL, &k) ==
			    SSH_OK) {
			ssh_key_free(k);
			break;
		}
		tp_ssh_wipe(buf, len);
		snprintf(q, sizeof(q),
			 "Bad passphrase, try again for '%s': ", id);
	}
	if (err == -ENXIO && !r->locked_key[0])
		snprintf(r->locked_key, sizeof(r->locked_key), "%s",
			 id ? id : "?");
	ssh_string_free_char(id);
	return err ? -1 : 0;
}

static int auth_pubkey(struct tp_ssh_run *r)
{
	int rc;

	if (r->cfg.identities_only != 1) {
		SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
			  ssh_userauth_publickey_auto(r->sess, NULL, NULL),
			  "logging in");
		return rc;
	}
	ssh_options_set(r->sess, SSH_OPTIONS_IDENTITY_AGENT, NO_AGENT);
	SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
		  ssh_userauth_publickey_auto(r->sess, NULL, NULL),
		  "logging in");
	ssh_options_set(r->sess, SSH_OPTIONS_IDENTITY_AGENT,
			r->cfg.identity_agent[0] ? r->cfg.identity_agent
						 : NULL);
	if (rc == SSH_AUTH_DENIED)
		SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
			  ssh_userauth_agent(r->sess, NULL), "logging in");
	return rc;
}

/* one keyboard-interactive exchange: every prompt on the terminal */
static int auth_kbdint_once(struct tp_ssh_run *r)
{
	char answer[SECRET_MAX], q[1024];
	int rc;

	SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
		  ssh_userauth_kbdint(r->sess, NULL, NULL), "logging in");
	while (rc == SSH_AUTH_INFO) {
		const char *ins = ssh_userauth_kbdint_getinstruction(r->sess);
		int n = ssh_userauth_kbdint_getnprompts(r->sess);

		for (int i = 0; i < n; i++) {
			char echo = 0;
			const char *p = ssh_userauth_kbdint_getprompt(
				r->sess, (unsigned)i, &echo);
			int err;

			snprintf(q, sizeof(q), "%s%s%s",
				 i == 0 && ins && *ins ? ins : "",
				 i == 0 && ins && *ins ? "\n" : "",
				 p ? p : "Password: ");
			err = tp_ssh_tty_ask(r, q, answer, sizeof(answer),
					     echo != 0);
			if (err == 0)
				ssh_userauth_kbdint_setanswer(
					r->sess, (unsigned)i, answer);
			tp_ssh_wipe(answer, sizeof(answer));
			if (err < 0)
				return err;
		}
		SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
			  ssh_userauth_kbdint(r->sess, NULL, NULL),
			  "logging in");
	}
	return rc;
}

static int auth_password_once(struct tp_ssh_run *r)
{
	char pw[SECRET_MAX], q[400];
	char *user = NULL;
	int rc;

	ssh_options_get(r->sess, SSH_OPTIONS_USER, &user);
	snprintf(q, sizeof(q), "%s@%s's password: ", user ? user : "?",
		 r->d.host);
	ssh_string_free_char(user);
	rc = tp_ssh_tty_ask(r, q, pw, sizeof(pw), false);
	if (rc == 0)
		SSH_UNTIL(rc, r, SSH_AUTH_AGAIN,
			  ssh_userauth_password(r->sess, NULL, pw),
			  "logging in");
	tp_ssh_wipe(pw, sizeof(pw));
	return rc;
}

/* a human at a terminal: keyboard-interactive, else password */
static int auth_human(struct tp_ssh_run *r, int methods)
{
	int rc = SSH_AUTH_DENIED;

	for (int i = 0; i < HUMAN_TRIES && rc == SSH_AUTH_DENIED; i++) {
		if (methods & SSH_AUTH_METHOD_INTERACTIVE)
			rc = auth_kbdint_once(r);
		else if (methods & SSH_AUTH_METHOD_PASSWORD)
			rc = auth_password_once(r);
		else
			break;
		if (rc == SSH_AUTH_DENIED)
			tg_warn("ssh %s: permission denied, please try again",
				r->dest);
	}
	return rc;
}

static int auth_denied(struct tp_ssh_run *r, int methods)
{
	char list[80] = "", *user = NULL;

	if (methods & SSH_AUTH_METHOD_PUBLICKEY)
		strcat(list, ",publickey");
	if (methods & SSH_AUTH_METHOD_INTERACTIVE)
		strcat(list, ",keyboard-interactive");
	if (methods & SSH_AUTH_METHOD_PASSWORD)
		strcat(list, ",password");
	if (methods & SSH_AUTH_METHOD_GSSAPI_MIC)
		strcat(list, ",gssapi-with-mic");
	ssh_options_get(r->sess, SSH_OPTIONS_USER, &user);
	if (r->locked_key[0])
		tp_ssh_fail(r, -EACCES,
			    "permission denied (%s) for %s: the key %s needs "
			    "a passphrase and there is no terminal to ask for "
			    "it: add it to ssh-agent (ssh-add)",
			    list[0] ? list + 1 : "none", user ? user : "?",
			    r->locked_key);
	else
		tp_ssh_fail(r, -EACCES,
			    "permission denied (%s) for %s: add your key to "
			    "ssh-agent or name it with IdentityFile",
			    list[0] ? list + 1 : "none", user ? user : "?");
	ssh_string_free_char(user);
	return -EACCES;
}

static int auth_result(struct tp_ssh_run *r, int rc)
{
	if (rc < SSH_AUTH_ERROR) /* -errno from the wait */
		return rc;
	return tp_ssh_fail(r, -ECONNABORTED, "login failed: %s",
			   ssh_get_error(r->sess));
}

/**
 * tp_ssh_auth() - log in (see the top for the order)
 * @r:		a connected session whose host key was accepted
 *
 * Return: 0, or -errno (-EACCES: refused; recorded)
 */
int tp_ssh_auth(struct tp_ssh_run *r)
{
	bool tty = tp_ssh_tty_present();
	int rc, methods;

	ssh_callbacks_init(&r->scb);
	r->scb.userdata = r;
	r->scb.auth_function = passphrase_cb;
	ssh_set_callbacks(r->sess, &r->scb);
	r->deadline = tp_ssh_now() + r->timeout_ms;
	SSH_UNTIL(rc, r, SSH_AUTH_AGAIN, ssh_userauth_none(r->sess, NULL),
		  "logging in");
	methods = ssh_userauth_list(r->sess, NULL);
	if (rc == SSH_AUTH_DENIED && (methods & SSH_AUTH_METHOD_PUBLICKEY))
		rc = auth_pubkey(r);
	if (rc == SSH_AUTH_PARTIAL || rc == SSH_AUTH_DENIED)
		methods = ssh_userauth_list(r->sess, NULL);
	if (rc == SSH_AUTH_PARTIAL && (methods & SSH_AUTH_METHOD_PUBLICKEY))
		rc = auth_pubkey(r);
	if ((rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) && tty)
		rc = auth_human(r, methods);
	r->deadline = 0;
	if (r->canceled)
		return -ECANCELED; /* a question was cut short: no verdict */
	if (rc == SSH_AUTH_SUCCESS)
		return 0;
	if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL)
		return auth_denied(r, methods);
	return auth_result(r, rc);
}
