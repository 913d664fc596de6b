/*
 * Helpers shared by the backend implementations; not part of the API.
 */
#ifndef MAMORI_BACKEND_INTERNAL_H
#define MAMORI_BACKEND_INTERNAL_H

#include "backend/backend.h"

/* Length of a content-addressed object name: SHA-256 in lowercase hex. */
#define BACKEND_NAME_LEN 64

/*
 * MM_EINVAL (with a message) unless t is a valid type and name is a single
 * safe path component: non-empty, no '/', not starting with '.', and for
 * packs at least two characters. The name of OBJ_CONFIG is ignored.
 */
int backend_check_name(enum obj_type t, const char *name, struct mm_ctx *c) MM_MUST_CHECK;

/* 1 if name is exactly BACKEND_NAME_LEN lowercase hex digits (what list reports). */
int backend_name_listable(const char *name);

#endif
