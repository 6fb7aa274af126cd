/* Known-answer tests for the cipher, modes and digests. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "crypto/crypto.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

/* A FIPS-197 example: the key's schedule, then the block both ways (the
 * decryption once into another buffer, once in place), with the CPU's AES
 * instructions where it has them and with the tables. */
static void check_fips197(const char *key_hex, const char *pt_hex, const char *ct_hex, int rounds)
{
	uint8_t key[32], pt[16], ct[16], out[16];
	size_t key_len = strlen(key_hex) / 2;
	hex(key_hex, key, key_len);
	hex(pt_hex, pt, 16);
	aes_key k;
	CHECK(aes_key_init(&k, key, key_len));
	CHECK_EQ(k.rounds, rounds);
	for (int pass = 0; pass < 2; pass++, k.hw = false) {
		hex(ct_hex, ct, 16);
		aes_encrypt_block(&k, pt, out);
		CHECK_MEM(out, ct, 16);
		aes_decrypt_block(&k, ct, out);
		CHECK_MEM(out, pt, 16);
		aes_decrypt_block(&k, ct, ct);
		CHECK_MEM(ct, pt, 16);
	}
}

/* FIPS-197 appendix C.1 */
TEST(crypto_aes128_fips197)
{
	check_fips197("000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
		      "69c4e0d86a7b0430d8cdb78070b4c55a", 10);
}

/* FIPS-197 appendix B (the cipher example) */
TEST(crypto_aes128_fips197_appendix_b)
{
	check_fips197("2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734",
		      "3925841d02dc09fbdc118597196a0b32", 10);
}

/* FIPS-197 appendix C.2 and C.3: the generic schedule also serves 192/256 */
TEST(crypto_aes192_aes256_fips197)
{
	check_fips197("000102030405060708090a0b0c0d0e0f1011121314151617",
		      "00112233445566778899aabbccddeeff", "dda97ca4864cdfe06eaf70a0ec0d7191", 12);
	check_fips197("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		      "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089", 14);
}

TEST(crypto_key_sizes)
{
	uint8_t key[32] = { 0 };
	aes_key k;
	CHECK(!aes_key_init(&k, key, 15));
	CHECK(!aes_key_init(&k, key, 0));
	CHECK(aes_key_init(&k, key, 20));
	CHECK_EQ(k.rounds, 11);
}

/* Rijndael-160 round trip over many blocks (no published vector for a
 * 160-bit key with a 128-bit block; the recorded V4 MACs check it). */
TEST(crypto_rijndael160_round_trip)
{
	uint8_t key[20], block[16], copy[16];
	for (int i = 0; i < 20; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	aes_key k;
	CHECK(aes_key_init(&k, key, 20));
	for (int n = 0; n < 256; n++) {
		for (int i = 0; i < 16; i++)
			block[i] = (uint8_t)(n * 31 + i);
		memcpy(copy, block, 16);
		aes_encrypt_block(&k, block, block);
		CHECK(memcmp(block, copy, 16) != 0);
		aes_decrypt_block(&k, block, block);
		CHECK_MEM(block, copy, 16);
	}
}

/* The V6 schedule differs from AES-128 exactly in three round-key bytes. */
TEST(crypto_v6_schedule)
{
	uint8_t key[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	aes_key plain, v6;
	aes_key_init(&plain, key, 16);
	aes_key_init_kms_v6(&v6, key);
	for (int w = 0; w < 44; w++) {
		uint32_t d = plain.enc[w] ^ v6.enc[w];
		uint32_t want = w == 16 ? 0x73000000u : w == 24 ? 0x09000000u : w == 32 ? 0xE4000000u : 0;
		CHECK_EQ(d, want);
	}
	uint8_t block[16] = "kms v6 schedule", copy[16];
	memcpy(copy, block, 16);
	aes_encrypt_block(&v6, block, block);
	aes_decrypt_block(&v6, block, block);
	CHECK_MEM(block, copy, 16);
}

/* The AES instructions and the tables agree for every key size KMS and
 * FIPS-197 use and for the V6 schedule, block by block both ways. On a CPU
 * without the instructions both runs take the tables. */
TEST(crypto_instructions_match_tables)
{
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 29 + 5);
	aes_key keys[5];
	size_t sizes[4] = { 16, 20, 24, 32 };
	for (int i = 0; i < 4; i++)
		CHECK(aes_key_init(&keys[i], key, sizes[i]));
	aes_key_init_kms_v6(&keys[4], key);
	for (int i = 0; i < 5; i++) {
		aes_key tables = keys[i];
		tables.hw = false;
		for (int n = 0; n < 256; n++) {
			uint8_t block[16], a[16], b[16];
			for (int j = 0; j < 16; j++)
				block[j] = (uint8_t)(n * 131 + j * 17 + i);
			aes_encrypt_block(&keys[i], block, a);
			aes_encrypt_block(&tables, block, b);
			CHECK_MEM(a, b, 16);
			aes_decrypt_block(&keys[i], block, a);
			aes_decrypt_block(&tables, block, b);
			CHECK_MEM(a, b, 16);
		}
	}
}

/* NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, first two blocks */
TEST(crypto_cbc_sp800_38a)
{
	uint8_t key[16], iv[16], buf[32], ct[32], pt[32];
	hex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	hex("000102030405060708090a0b0c0d0e0f", iv, 16);
	hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", pt, 32);
	hex("7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2", ct, 32);
	aes_key k;
	aes_key_init(&k, key, 16);
	memcpy(buf, pt, 32);
	aes_cbc_encrypt(&k, iv, buf, 32);
	CHECK_MEM(buf, ct, 32);
	aes_cbc_decrypt(&k, iv, buf, 32);
	CHECK_MEM(buf, pt, 32);
}

TEST(crypto_pkcs7)
{
	uint8_t buf[48] = { 0 };
	CHECK_EQ(pkcs7_pad(buf, 13, sizeof buf), 16);
	CHECK_EQ(buf[13], 3);
	CHECK_EQ(buf[15], 3);
	CHECK_EQ(pkcs7_unpadded_len(buf, 16), 13);
	CHECK_EQ(pkcs7_pad(buf, 16, sizeof buf), 32); /* a full block of 16s */
	CHECK_EQ(buf[31], 16);
	CHECK_EQ(pkcs7_unpadded_len(buf, 32), 16);
	CHECK_EQ(pkcs7_pad(buf, 40, 47), 0);          /* does not fit */
	buf[31] = 0;
	CHECK_EQ(pkcs7_unpadded_len(buf, 32), -1);
	buf[31] = 17;
	CHECK_EQ(pkcs7_unpadded_len(buf, 32), -1);
	buf[31] = 2;
	buf[30] = 3;
	CHECK_EQ(pkcs7_unpadded_len(buf, 32), -1);
	CHECK_EQ(pkcs7_unpadded_len(buf, 0), -1);
	CHECK_EQ(pkcs7_unpadded_len(buf, 15), -1);
}

/* The MAC pads with 0x80 then zeros; a message of whole blocks gets an
 * extra block, so it must differ from the plain CBC residue. */
TEST(crypto_v4_mac_padding)
{
	uint8_t key[20] = { 1 }, msg[32] = { 0 }, mac[16], manual[48] = { 0 };
	aes_key k;
	aes_key_init(&k, key, 20);
	kms_v4_mac(&k, msg, 32, mac);
	manual[32] = 0x80;
	static const uint8_t zero_iv[16];
	aes_cbc_encrypt(&k, zero_iv, manual, 48);
	CHECK_MEM(mac, manual + 32, 16);

	uint8_t m2[21] = "twenty-one bytes long", b[32] = { 0 };
	kms_v4_mac(&k, m2, 21, mac);
	memcpy(b, m2, 21);
	b[21] = 0x80;
	aes_cbc_encrypt(&k, zero_iv, b, 32);
	CHECK_MEM(mac, b + 16, 16);
}

/* RFC 4231 test cases 1 and 6 (a key longer than the block) */
TEST(crypto_hmac_sha256_rfc4231)
{
	uint8_t key[131], out[32], want[32];
	memset(key, 0x0b, 20);
	hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
	CHECK(hmac_sha256(key, 20, "Hi There", 8, out));
	CHECK_MEM(out, want, 32);

	memset(key, 0xaa, 131);
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, 32);
	CHECK(hmac_sha256(key, 131, msg, strlen(msg), out));
	CHECK_MEM(out, want, 32);
}

TEST(crypto_sha256_abc)
{
	uint8_t out[32], want[32];
	hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want, 32);
	CHECK(sha256("abc", 3, out));
	CHECK_MEM(out, want, 32);
}

TEST(crypto_random_bytes)
{
	uint8_t a[32] = { 0 }, b[32] = { 0 };
	CHECK(random_bytes(a, sizeof a));
	CHECK(random_bytes(b, sizeof b));
	CHECK(memcmp(a, b, sizeof a) != 0);
}
