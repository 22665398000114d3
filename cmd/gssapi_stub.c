/* SPDX-License-Identifier: MIT */
/*
 * gssapi_stub.c - GSSAPI entry points for the static link.
 *
 * Debian's libssh.a is built with GSSAPI (Kerberos) support, but there is
 * no static libgssapi_krb5. These stubs satisfy the linker; every call
 * fails (GSS_S_FAILURE), so libssh sees GSSAPI as unavailable and moves
 * on to agent and key authentication.
 *
 * Every GSSAPI function takes "OM_uint32 *minor_status" first; the stubs
 * declare only that argument, which is safe under the x86-64 System V
 * calling convention (the caller owns the stack, extra register arguments
 * are ignored).
 */
#include <stddef.h>
#include <stdint.h>

#define GSS_STUB_FAILURE (13u << 16) /* GSS_S_FAILURE */

struct gss_stub_oid {
	uint32_t length;
	void *elements;
};

static struct gss_stub_oid gss_stub_oid_none;
void *GSS_C_NT_HOSTBASED_SERVICE = &gss_stub_oid_none;
void *GSS_C_NT_USER_NAME = &gss_stub_oid_none;

#define GSS_FAIL(name)                                                        \
	uint32_t name(uint32_t *minor);                                       \
	uint32_t name(uint32_t *minor)                                        \
	{                                                                      \
		if (minor)                                                     \
			*minor = 0;                                            \
		return GSS_STUB_FAILURE;                                       \
	}

/* releases succeed: there is never anything to release */
#define GSS_OK(name)                                                          \
	uint32_t name(uint32_t *minor);                                       \
	uint32_t name(uint32_t *minor)                                        \
	{                                                                      \
		if (minor)                                                     \
			*minor = 0;                                            \
		return 0;                                                      \
	}

GSS_FAIL(gss_accept_sec_context)
GSS_FAIL(gss_acquire_cred)
GSS_FAIL(gss_add_oid_set_member)
GSS_FAIL(gss_create_empty_oid_set)
GSS_FAIL(gss_display_name)
GSS_FAIL(gss_display_status)
GSS_FAIL(gss_get_mic)
GSS_FAIL(gss_import_name)
GSS_FAIL(gss_indicate_mechs)
GSS_FAIL(gss_init_sec_context)
GSS_FAIL(gss_inquire_cred)
GSS_FAIL(gss_inquire_cred_by_mech)
GSS_FAIL(gss_test_oid_set_member)
GSS_FAIL(gss_verify_mic)
GSS_OK(gss_release_buffer)
GSS_OK(gss_release_cred)
GSS_OK(gss_release_name)
GSS_OK(gss_release_oid_set)
