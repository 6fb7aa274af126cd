/* Rijndael with a 128-bit block and 128..256-bit keys (FIPS-197, plus the
 * 160-bit key size the original Rijndael allows and KMS V4 uses).
 *
 * The classic 32-bit table formulation: each round is 16 table lookups and
 * XORs. Where the CPU has AES instructions a block goes to rijndael_ni.c
 * instead, with the same round keys (a tenth of the instructions, and no
 * key-dependent table lookups). Decryption uses the equivalent inverse
 * cipher, whose round keys are the encryption keys in reverse with
 * InvMixColumns applied. */
#include "crypto/crypto.h"

#include "crypto/rijndael_ni.h"
#include "crypto/rijndael_tables.h"

static uint32_t be32_load(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void be32_store(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t sub_word(uint32_t w)
{
	return ((uint32_t)rijndael_sbox[w >> 24] << 24) |
	       ((uint32_t)rijndael_sbox[(w >> 16) & 0xff] << 16) |
	       ((uint32_t)rijndael_sbox[(w >> 8) & 0xff] << 8) | rijndael_sbox[w & 0xff];
}

/* InvMixColumns of one word, expressed through the tables:
 * td[i][sbox[x]] is InvMixColumns applied to x in byte position i. */
static uint32_t inv_mix_word(uint32_t w)
{
	return rijndael_td0[rijndael_sbox[w >> 24]] ^
	       rijndael_td1[rijndael_sbox[(w >> 16) & 0xff]] ^
	       rijndael_td2[rijndael_sbox[(w >> 8) & 0xff]] ^
	       rijndael_td3[rijndael_sbox[w & 0xff]];
}

/* The decryption keys, and both schedules in byte order; called again
 * whenever the encryption keys change. */
static void derive_other_keys(aes_key *k)
{
	int n = k->rounds;
	for (int r = 0; r <= n; r++) {
		for (int c = 0; c < 4; c++) {
			uint32_t w = k->enc[4 * (n - r) + c];
			k->dec[4 * r + c] = (r == 0 || r == n) ? w : inv_mix_word(w);
		}
	}
	for (int i = 0; i < 4 * (n + 1); i++) {
		be32_store(k->enc_bytes + 4 * i, k->enc[i]);
		be32_store(k->dec_bytes + 4 * i, k->dec[i]);
	}
	k->hw = aesni_available();
}

bool aes_key_init(aes_key *k, const uint8_t *key, size_t key_len)
{
	if (key_len != 16 && key_len != 20 && key_len != 24 && key_len != 32)
		return false;

	int nk = (int)(key_len / 4);
	k->rounds = nk + 6;
	int total = 4 * (k->rounds + 1);
	uint32_t rcon = 0x01;

	for (int i = 0; i < nk; i++)
		k->enc[i] = be32_load(key + 4 * i);
	for (int i = nk; i < total; i++) {
		uint32_t t = k->enc[i - 1];
		if (i % nk == 0) {
			t = sub_word((t << 8) | (t >> 24)) ^ (rcon << 24);
			rcon = (rcon << 1) ^ ((rcon & 0x80) ? 0x11b : 0);
		} else if (nk > 6 && i % nk == 4) {
			t = sub_word(t);
		}
		k->enc[i] = k->enc[i - nk] ^ t;
	}
	derive_other_keys(k);
	return true;
}

void aes_key_init_kms_v6(aes_key *k, const uint8_t key[16])
{
	aes_key_init(k, key, 16);
	/* bytes 64, 96 and 128 of the expanded key: the first (most significant
	 * in our big-endian words) byte of words 16, 24 and 32 */
	k->enc[16] ^= 0x73u << 24;
	k->enc[24] ^= 0x09u << 24;
	k->enc[32] ^= 0xE4u << 24;
	derive_other_keys(k);
}

void aes_encrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK])
{
	if (k->hw) {
		aesni_encrypt_block(k, in, out);
		return;
	}
	const uint32_t *rk = k->enc;
	uint32_t s0 = be32_load(in) ^ rk[0], s1 = be32_load(in + 4) ^ rk[1];
	uint32_t s2 = be32_load(in + 8) ^ rk[2], s3 = be32_load(in + 12) ^ rk[3];
	uint32_t t0, t1, t2, t3;

	for (int r = 1; r < k->rounds; r++) {
		rk += 4;
		t0 = rijndael_te0[s0 >> 24] ^ rijndael_te1[(s1 >> 16) & 0xff] ^
		     rijndael_te2[(s2 >> 8) & 0xff] ^ rijndael_te3[s3 & 0xff] ^ rk[0];
		t1 = rijndael_te0[s1 >> 24] ^ rijndael_te1[(s2 >> 16) & 0xff] ^
		     rijndael_te2[(s3 >> 8) & 0xff] ^ rijndael_te3[s0 & 0xff] ^ rk[1];
		t2 = rijndael_te0[s2 >> 24] ^ rijndael_te1[(s3 >> 16) & 0xff] ^
		     rijndael_te2[(s0 >> 8) & 0xff] ^ rijndael_te3[s1 & 0xff] ^ rk[2];
		t3 = rijndael_te0[s3 >> 24] ^ rijndael_te1[(s0 >> 16) & 0xff] ^
		     rijndael_te2[(s1 >> 8) & 0xff] ^ rijndael_te3[s2 & 0xff] ^ rk[3];
		s0 = t0;
		s1 = t1;
		s2 = t2;
		s3 = t3;
	}
	rk += 4;
	const uint8_t *sb = rijndael_sbox;
	t0 = ((uint32_t)sb[s0 >> 24] << 24) | ((uint32_t)sb[(s1 >> 16) & 0xff] << 16) |
	     ((uint32_t)sb[(s2 >> 8) & 0xff] << 8) | sb[s3 & 0xff];
	t1 = ((uint32_t)sb[s1 >> 24] << 24) | ((uint32_t)sb[(s2 >> 16) & 0xff] << 16) |
	     ((uint32_t)sb[(s3 >> 8) & 0xff] << 8) | sb[s0 & 0xff];
	t2 = ((uint32_t)sb[s2 >> 24] << 24) | ((uint32_t)sb[(s3 >> 16) & 0xff] << 16) |
	     ((uint32_t)sb[(s0 >> 8) & 0xff] << 8) | sb[s1 & 0xff];
	t3 = ((uint32_t)sb[s3 >> 24] << 24) | ((uint32_t)sb[(s0 >> 16) & 0xff] << 16) |
	     ((uint32_t)sb[(s1 >> 8) & 0xff] << 8) | sb[s2 & 0xff];
	be32_store(out, t0 ^ rk[0]);
	be32_store(out + 4, t1 ^ rk[1]);
	be32_store(out + 8, t2 ^ rk[2]);
	be32_store(out + 12, t3 ^ rk[3]);
}

void aes_decrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK])
{
	if (k->hw) {
		aesni_decrypt_block(k, in, out);
		return;
	}
	const uint32_t *rk = k->dec;
	uint32_t s0 = be32_load(in) ^ rk[0], s1 = be32_load(in + 4) ^ rk[1];
	uint32_t s2 = be32_load(in + 8) ^ rk[2], s3 = be32_load(in + 12) ^ rk[3];
	uint32_t t0, t1, t2, t3;

	for (int r = 1; r < k->rounds; r++) {
		rk += 4;
		t0 = rijndael_td0[s0 >> 24] ^ rijndael_td1[(s3 >> 16) & 0xff] ^
		     rijndael_td2[(s2 >> 8) & 0xff] ^ rijndael_td3[s1 & 0xff] ^ rk[0];
		t1 = rijndael_td0[s1 >> 24] ^ rijndael_td1[(s0 >> 16) & 0xff] ^
		     rijndael_td2[(s3 >> 8) & 0xff] ^ rijndael_td3[s2 & 0xff] ^ rk[1];
		t2 = rijndael_td0[s2 >> 24] ^ rijndael_td1[(s1 >> 16) & 0xff] ^
		     rijndael_td2[(s0 >> 8) & 0xff] ^ rijndael_td3[s3 & 0xff] ^ rk[2];
		t3 = rijndael_td0[s3 >> 24] ^ rijndael_td1[(s2 >> 16) & 0xff] ^
		     rijndael_td2[(s1 >> 8) & 0xff] ^ rijndael_td3[s0 & 0xff] ^ rk[3];
		s0 = t0;
		s1 = t1;
		s2 = t2;
		s3 = t3;
	}
	rk += 4;
	const uint8_t *ib = rijndael_inv_sbox;
	t0 = ((uint32_t)ib[s0 >> 24] << 24) | ((uint32_t)ib[(s3 >> 16) & 0xff] << 16) |
	     ((uint32_t)ib[(s2 >> 8) & 0xff] << 8) | ib[s1 & 0xff];
	t1 = ((uint32_t)ib[s1 >> 24] << 24) | ((uint32_t)ib[(s0 >> 16) & 0xff] << 16) |
	     ((uint32_t)ib[(s3 >> 8) & 0xff] << 8) | ib[s2 & 0xff];
	t2 = ((uint32_t)ib[s2 >> 24] << 24) | ((uint32_t)ib[(s1 >> 16) & 0xff] << 16) |
	     ((uint32_t)ib[(s0 >> 8) & 0xff] << 8) | ib[s3 & 0xff];
	t3 = ((uint32_t)ib[s3 >> 24] << 24) | ((uint32_t)ib[(s2 >> 16) & 0xff] << 16) |
	     ((uint32_t)ib[(s1 >> 8) & 0xff] << 8) | ib[s0 & 0xff];
	be32_store(out, t0 ^ rk[0]);
	be32_store(out + 4, t1 ^ rk[1]);
	be32_store(out + 8, t2 ^ rk[2]);
	be32_store(out + 12, t3 ^ rk[3]);
}
