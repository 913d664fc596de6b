/*
 * Every call into OpenSSL libcrypto and libargon2. OpenSSL picks the AES-NI
 * and SHA-NI code paths itself when the CPU has them.
 */
#include <argon2.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int
crypto_random(void *out, size_t n)
{
	if (n > INT32_MAX)
		return MM_EINVAL;
	return RAND_bytes(out, (int)n) == 1 ? 0 : MM_ECRYPTO;
}

int
crypto_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
	    const char *info, uint8_t *out, size_t out_len)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
	size_t len = out_len;
	int r = MM_ECRYPTO;

	if (pc == NULL)
		return MM_ENOMEM;
	if (EVP_PKEY_derive_init(pc) <= 0 || EVP_PKEY_CTX_set_hkdf_md(pc, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pc, ikm, (int)ikm_len) <= 0)
		goto out;
	if (salt_len > 0 && EVP_PKEY_CTX_set1_hkdf_salt(pc, salt, (int)salt_len) <= 0)
		goto out;
	if (EVP_PKEY_CTX_add1_hkdf_info(pc, (const unsigned char *)info, (int)strlen(info)) <= 0)
		goto out;
	if (EVP_PKEY_derive(pc, out, &len) <= 0 || len != out_len)
		goto out;
	r = 0;
out:
	EVP_PKEY_CTX_free(pc);
	return r;
}

int
crypto_keys_derive(struct mm_keys *k)
{
	int r;

	if ((r = crypto_hkdf(k->master, MM_KEY_LEN, NULL, 0, "mamori v1 enc", k->enc,
			     MM_KEY_LEN)) != 0 ||
	    (r = crypto_hkdf(k->master, MM_KEY_LEN, NULL, 0, "mamori v1 id", k->id,
			     MM_KEY_LEN)) != 0 ||
	    (r = crypto_hkdf(k->master, MM_KEY_LEN, NULL, 0, "mamori v1 gear", k->gear,
			     MM_KEY_LEN)) != 0)
		return r;
	return 0;
}

void
crypto_keys_wipe(struct mm_keys *k)
{
	OPENSSL_cleanse(k, sizeof(*k));
}

void
crypto_sha256(const void *p, size_t n, uint8_t out[32])
{
	SHA256(p, n, out);
}

struct sha256_ctx {
	EVP_MD_CTX *md;
};

struct sha256_ctx *
crypto_sha256_new(void)
{
	struct sha256_ctx *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c->md);
		free(c);
		return NULL;
	}
	return c;
}

void
crypto_sha256_update(struct sha256_ctx *c, const void *p, size_t n)
{
	EVP_DigestUpdate(c->md, p, n);
}

void
crypto_sha256_final(struct sha256_ctx *c, uint8_t out[32])
{
	unsigned int len = 32;

	EVP_DigestFinal_ex(c->md, out, &len);
	crypto_sha256_free(c);
}

void
crypto_sha256_free(struct sha256_ctx *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

void
crypto_hmac_id(const uint8_t key[MM_KEY_LEN], const void *p, size_t n, struct mm_id *out)
{
	unsigned int len = MM_ID_LEN;

	HMAC(EVP_sha256(), key, MM_KEY_LEN, p, n, out->b, &len);
}

int
crypto_seal(const uint8_t key[MM_KEY_LEN], const void *plain, size_t n, const void *aad,
	    size_t aad_len, struct buf *out)
{
	EVP_CIPHER_CTX *cx;
	uint8_t *nonce, *ct;
	size_t start = out->len;
	int len, r;

	if (n > INT32_MAX - 64 || aad_len > INT32_MAX)
		return MM_ELIMIT;
	if ((r = buf_reserve(out, n + MM_AEAD_OVERHEAD)) != 0)
		return r;
	if ((cx = EVP_CIPHER_CTX_new()) == NULL)
		return MM_ENOMEM;
	r = MM_ECRYPTO;
	nonce = out->data + start;
	ct = nonce + MM_NONCE_LEN;
	if (RAND_bytes(nonce, MM_NONCE_LEN) != 1 ||
	    EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (aad_len > 0 && EVP_EncryptUpdate(cx, NULL, &len, aad, (int)aad_len) != 1)
		goto out;
	if (n > 0 && (EVP_EncryptUpdate(cx, ct, &len, plain, (int)n) != 1 || (size_t)len != n))
		goto out;
	if (EVP_EncryptFinal_ex(cx, ct + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, MM_TAG_LEN, ct + n) != 1)
		goto out;
	out->len = start + n + MM_AEAD_OVERHEAD;
	r = 0;
out:
	EVP_CIPHER_CTX_free(cx);
	return r;
}

int
crypto_seal_in_place(const uint8_t key[MM_KEY_LEN], uint8_t *box, size_t n, const void *aad,
		     size_t aad_len)
{
	EVP_CIPHER_CTX *cx;
	uint8_t *ct = box + MM_NONCE_LEN;
	int len, r = MM_ECRYPTO;

	if (n > INT32_MAX - 64 || aad_len > INT32_MAX)
		return MM_ELIMIT;
	if ((cx = EVP_CIPHER_CTX_new()) == NULL)
		return MM_ENOMEM;
	/* GCM is a stream mode: OpenSSL encrypts with in == out. */
	if (RAND_bytes(box, MM_NONCE_LEN) != 1 ||
	    EVP_EncryptInit_ex(cx, EVP_aes_256_gcm(), NULL, key, box) != 1 ||
	    (aad_len > 0 && EVP_EncryptUpdate(cx, NULL, &len, aad, (int)aad_len) != 1) ||
	    (n > 0 && (EVP_EncryptUpdate(cx, ct, &len, ct, (int)n) != 1 || (size_t)len != n)) ||
	    EVP_EncryptFinal_ex(cx, ct + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, MM_TAG_LEN, ct + n) != 1)
		goto out;
	r = 0;
out:
	EVP_CIPHER_CTX_free(cx);
	return r;
}

int
crypto_open(const uint8_t key[MM_KEY_LEN], const void *in, size_t n, const void *aad,
	    size_t aad_len, struct buf *out)
{
	const uint8_t *nonce = in, *ct, *tag;
	EVP_CIPHER_CTX *cx;
	size_t start = out->len, clen;
	uint8_t *pt;
	int len, r;

	if (n < MM_AEAD_OVERHEAD)
		return MM_ECORRUPT;
	clen = n - MM_AEAD_OVERHEAD;
	if (clen > INT32_MAX - 64 || aad_len > INT32_MAX)
		return MM_ELIMIT;
	ct = nonce + MM_NONCE_LEN;
	tag = ct + clen;
	if ((r = buf_reserve(out, clen)) != 0)
		return r;
	if ((cx = EVP_CIPHER_CTX_new()) == NULL)
		return MM_ENOMEM;
	r = MM_ECRYPTO;
	pt = out->data + start;
	if (EVP_DecryptInit_ex(cx, EVP_aes_256_gcm(), NULL, key, nonce) != 1)
		goto out;
	if (aad_len > 0 && EVP_DecryptUpdate(cx, NULL, &len, aad, (int)aad_len) != 1)
		goto out;
	if (clen > 0 && EVP_DecryptUpdate(cx, pt, &len, ct, (int)clen) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, MM_TAG_LEN, (void *)tag) != 1)
		goto out;
	/* The tag decides: on mismatch the plaintext written so far is wiped
	 * and never becomes part of out. */
	if (EVP_DecryptFinal_ex(cx, pt + clen, &len) != 1) {
		OPENSSL_cleanse(pt, clen);
		r = MM_EAUTH;
		goto out;
	}
	out->len = start + clen;
	r = 0;
out:
	EVP_CIPHER_CTX_free(cx);
	return r;
}

int
crypto_kdf_default(struct kdf_params *p, int fast)
{
	p->t_cost = fast ? 1 : 6;
	p->m_cost_kib = fast ? 256 : 32 * 1024;
	p->parallelism = fast ? 1 : 4;
	return crypto_random(p->salt, sizeof(p->salt));
}

int
crypto_kdf(const struct kdf_params *p, const char *password, size_t pw_len,
	   uint8_t out[MM_KEY_LEN])
{
	int r;

	if (p->t_cost < 1 || p->t_cost > 64 || p->parallelism < 1 || p->parallelism > 64 ||
	    p->m_cost_kib < 8 * p->parallelism || p->m_cost_kib > 4u * 1024 * 1024)
		return MM_ELIMIT;
	if (pw_len > UINT32_MAX)
		return MM_EINVAL;
	r = argon2id_hash_raw(p->t_cost, p->m_cost_kib, p->parallelism, password, pw_len,
			      p->salt, sizeof(p->salt), out, MM_KEY_LEN);
	if (r == ARGON2_MEMORY_ALLOCATION_ERROR)
		return MM_ENOMEM;
	return r == ARGON2_OK ? 0 : MM_ECRYPTO;
}

int
crypto_memcmp(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) != 0;
}

/* ---- Ed25519 signatures (RFC 8032) ------------------------------------------ */

struct mm_sigkey {
	EVP_PKEY *pk;
	int priv;
};

int
crypto_sig_generate(struct buf *pem)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *bio = NULL;
	BUF_MEM *mem = NULL;
	int r = MM_ECRYPTO;

	if (pk == NULL || (bio = BIO_new(BIO_s_secmem())) == NULL ||
	    PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    BIO_get_mem_ptr(bio, &mem) != 1 || mem == NULL)
		goto out;
	pem->secret = 1;
	r = buf_append(pem, mem->data, mem->length);
out:
	BIO_free(bio);
	EVP_PKEY_free(pk);
	return r;
}

int
crypto_sig_load(const uint8_t *pem, size_t n, struct mm_sigkey **out)
{
	struct mm_sigkey *k = NULL;
	BIO *bio = NULL;
	EVP_PKEY *pk = NULL;
	int priv = 1, r = MM_ECRYPTO;

	if (n > INT32_MAX)
		return MM_ELIMIT;
	if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
		goto out;
	if ((pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
		ERR_clear_error();
		priv = 0;
		BIO_free(bio);
		if ((bio = BIO_new_mem_buf(pem, (int)n)) == NULL)
			goto out;
		pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		ERR_clear_error();
	}
	if (pk == NULL || EVP_PKEY_get_id(pk) != EVP_PKEY_ED25519) {
		r = MM_EINVAL; /* not an Ed25519 key in PEM */
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		r = MM_ENOMEM;
		goto out;
	}
	k->pk = pk;
	k->priv = priv;
	pk = NULL;
	*out = k;
	r = 0;
out:
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return r;
}

void
crypto_sig_free(struct mm_sigkey *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pk);
	free(k);
}

int
crypto_sig_has_private(const struct mm_sigkey *k)
{
	return k->priv;
}

int
crypto_sig_public(const struct mm_sigkey *k, uint8_t pub[MM_SIG_PUB_LEN])
{
	size_t len = MM_SIG_PUB_LEN;

	if (EVP_PKEY_get_raw_public_key(k->pk, pub, &len) != 1 || len != MM_SIG_PUB_LEN)
		return MM_ECRYPTO;
	return 0;
}

int
crypto_sig_public_pem(const struct mm_sigkey *k, struct buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	BUF_MEM *mem = NULL;
	int r = MM_ECRYPTO;

	if (bio != NULL && PEM_write_bio_PUBKEY(bio, k->pk) == 1 &&
	    BIO_get_mem_ptr(bio, &mem) == 1 && mem != NULL)
		r = buf_append(out, mem->data, mem->length);
	BIO_free(bio);
	return r;
}

int
crypto_sig_sign(const struct mm_sigkey *k, const void *msg, size_t n, uint8_t sig[MM_SIG_LEN])
{
	EVP_MD_CTX *md;
	size_t len = MM_SIG_LEN;
	int r = MM_ECRYPTO;

	if (!k->priv)
		return MM_EINVAL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return MM_ENOMEM;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pk) == 1 &&
	    EVP_DigestSign(md, sig, &len, msg, n) == 1 && len == MM_SIG_LEN)
		r = 0;
	EVP_MD_CTX_free(md);
	return r;
}

int
crypto_sig_verify(const uint8_t pub[MM_SIG_PUB_LEN], const void *msg, size_t n,
		  const uint8_t sig[MM_SIG_LEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, MM_SIG_PUB_LEN);
	EVP_MD_CTX *md = NULL;
	int r = MM_ESIG;

	if (pk == NULL)
		return MM_ESIG;
	if ((md = EVP_MD_CTX_new()) != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, MM_SIG_LEN, msg, n) == 1)
		r = 0;
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return r;
}

/* ---- base64 (RFC 4648, with padding) ------------------------------------------------ */

int
crypto_base64_encode(const void *p, size_t n, struct buf *out)
{
	size_t need = 4 * ((n + 2) / 3) + 1;
	int e, len;

	if (n > INT32_MAX / 2)
		return MM_ELIMIT;
	if ((e = buf_reserve(out, need)) != 0)
		return e;
	len = EVP_EncodeBlock(out->data + out->len, p, (int)n);
	out->len += (size_t)len;
	return 0;
}

int
crypto_base64_decode(const char *s, size_t n, uint8_t *out, size_t want)
{
	uint8_t tmp[3 * 64];
	size_t pad = 0;
	int len;

	/* Exactly the encoding of want bytes: no whitespace, canonical padding. */
	if (want == 0 || want > 2 * 64 || n != 4 * ((want + 2) / 3))
		return MM_EINVAL;
	while (pad < 2 && n > pad && s[n - 1 - pad] == '=')
		pad++;
	if (pad != (3 - want % 3) % 3)
		return MM_EINVAL;
	len = EVP_DecodeBlock(tmp, (const unsigned char *)s, (int)n);
	if (len < 0 || (size_t)len != want + pad)
		return MM_EINVAL;
	memcpy(out, tmp, want);
	return 0;
}
