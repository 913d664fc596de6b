/*
 * crypto: every call into OpenSSL libcrypto and libargon2 lives here.
 * AES-256-GCM (fresh random 96-bit nonce each time), HMAC-SHA-256 keyed IDs,
 * SHA-256, HKDF-SHA-256, Argon2id for passwords, Ed25519 signatures. Secrets are wiped after use.
 */
#ifndef MAMORI_CRYPTO_H
#define MAMORI_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/util.h"

#define MM_KEY_LEN 32
#define MM_ID_LEN 32
#define MM_NONCE_LEN 12
#define MM_TAG_LEN 16
#define MM_AEAD_OVERHEAD (MM_NONCE_LEN + MM_TAG_LEN)

struct mm_id {
	uint8_t b[MM_ID_LEN];
};

/* Keys derived from the 32-byte master secret (see docs/repository-format.md). */
struct mm_keys {
	uint8_t master[MM_KEY_LEN];
	uint8_t enc[MM_KEY_LEN];  /* AES-256-GCM for every object and blob */
	uint8_t id[MM_KEY_LEN];   /* HMAC-SHA-256 key for blob IDs */
	uint8_t gear[MM_KEY_LEN]; /* seed of the chunker's gear table */
};

/* Fill with random bytes from RAND_bytes. */
int crypto_random(void *out, size_t n) MM_MUST_CHECK;

/* Derive enc/id/gear from k->master with HKDF-SHA-256, info strings
 * "mamori v1 enc", "mamori v1 id", "mamori v1 gear", no salt. */
int crypto_keys_derive(struct mm_keys *k) MM_MUST_CHECK;
void crypto_keys_wipe(struct mm_keys *k);

/* HKDF-SHA-256 (RFC 5869) with an optional salt. */
int crypto_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
		const char *info, uint8_t *out, size_t out_len) MM_MUST_CHECK;

/* SHA-256 of bytes. */
void crypto_sha256(const void *p, size_t n, uint8_t out[32]);
/* Incremental SHA-256 (opaque context). */
struct sha256_ctx;
struct sha256_ctx *crypto_sha256_new(void);
void crypto_sha256_update(struct sha256_ctx *c, const void *p, size_t n);
void crypto_sha256_final(struct sha256_ctx *c, uint8_t out[32]); /* also frees c */
void crypto_sha256_free(struct sha256_ctx *c);

/* HMAC-SHA-256 under key (32 bytes). Used for blob IDs. */
void crypto_hmac_id(const uint8_t key[MM_KEY_LEN], const void *p, size_t n, struct mm_id *out);

/*
 * AEAD seal: appends nonce(12) || ciphertext || tag(16) to out.
 * aad may be NULL/0.
 */
int crypto_seal(const uint8_t key[MM_KEY_LEN], const void *plain, size_t n,
		const void *aad, size_t aad_len, struct buf *out) MM_MUST_CHECK;
/* The same in place, without a second buffer: box holds room for the nonce
 * (12), then the n plaintext bytes, then room for the tag (16); on return
 * it is nonce || ciphertext || tag. aad may be NULL/0. */
int crypto_seal_in_place(const uint8_t key[MM_KEY_LEN], uint8_t *box, size_t n, const void *aad,
			 size_t aad_len) MM_MUST_CHECK;
/*
 * AEAD open: in = nonce || ciphertext || tag; the tag is verified before any
 * plaintext is released. Appends plaintext to out. MM_EAUTH on any mismatch,
 * MM_ECORRUPT if shorter than the overhead.
 */
int crypto_open(const uint8_t key[MM_KEY_LEN], const void *in, size_t n,
		const void *aad, size_t aad_len, struct buf *out) MM_MUST_CHECK;

/* Argon2id parameters as stored in key files. */
struct kdf_params {
	uint32_t t_cost;      /* iterations */
	uint32_t m_cost_kib;  /* memory in KiB */
	uint32_t parallelism; /* lanes */
	uint8_t salt[16];
};
/* Defaults: t=6, m=32 MiB, p=4: the memory-time product of RFC 9106's second
 * recommended option (t=3, 64 MiB) at half the peak memory, fresh random salt. MAMORI_TEST_KDF=1 in the environment of tests lowers
 * memory to 256 KiB and t to 1 so test suites stay fast — read by the CLI, not here. */
int crypto_kdf_default(struct kdf_params *p, int fast) MM_MUST_CHECK;
/* Upper bounds accepted from a key file (hostile bytes must not make us allocate
 * without limit): t <= 64, m <= 4 GiB, p <= 64. MM_ELIMIT otherwise. */
int crypto_kdf(const struct kdf_params *p, const char *password, size_t pw_len,
	       uint8_t out[MM_KEY_LEN]) MM_MUST_CHECK;

/* Constant-time comparison, 0 if equal. */
int crypto_memcmp(const void *a, const void *b, size_t n);

/* Ed25519 signatures (RFC 8032), used by the ledger's checkpoints. */
#define MM_SIG_PUB_LEN 32
#define MM_SIG_LEN 64
struct mm_sigkey;
/* A fresh key as PEM (PKCS #8); the buffer is marked secret. */
int crypto_sig_generate(struct buf *pem) MM_MUST_CHECK;
/* A private key (PKCS #8) or a public key (SubjectPublicKeyInfo) in PEM;
 * MM_EINVAL when the bytes hold no Ed25519 key. */
int crypto_sig_load(const uint8_t *pem, size_t n, struct mm_sigkey **out) MM_MUST_CHECK;
void crypto_sig_free(struct mm_sigkey *k);
int crypto_sig_has_private(const struct mm_sigkey *k);
int crypto_sig_public(const struct mm_sigkey *k, uint8_t pub[MM_SIG_PUB_LEN]) MM_MUST_CHECK;
int crypto_sig_public_pem(const struct mm_sigkey *k, struct buf *out) MM_MUST_CHECK;
/* MM_EINVAL when k holds only a public key. */
int crypto_sig_sign(const struct mm_sigkey *k, const void *msg, size_t n,
		    uint8_t sig[MM_SIG_LEN]) MM_MUST_CHECK;
/* 0 when sig is pub's signature of msg, else MM_ESIG. */
int crypto_sig_verify(const uint8_t pub[MM_SIG_PUB_LEN], const void *msg, size_t n,
		      const uint8_t sig[MM_SIG_LEN]) MM_MUST_CHECK;

/* Base64 with padding (RFC 4648 section 4), appended without a NUL. */
int crypto_base64_encode(const void *p, size_t n, struct buf *out) MM_MUST_CHECK;
/* Decode exactly the canonical encoding of want bytes (at most 128). */
int crypto_base64_decode(const char *s, size_t n, uint8_t *out, size_t want) MM_MUST_CHECK;

#endif
