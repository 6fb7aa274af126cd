/* Rijndael rounds with AES-NI (see rijndael_ni.h).
 *
 * Decryption uses the same equivalent inverse cipher as the table code:
 * AESDEC expects the round keys with InvMixColumns applied, which is what
 * k->dec holds. Elsewhere than x86 the functions exist but are never
 * chosen. */
#include "crypto/rijndael_ni.h"

#if defined(__x86_64__) || defined(__i386__)

#include <wmmintrin.h>

bool aesni_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes");
}

__attribute__((target("aes,sse2"))) void aesni_encrypt_block(const aes_key *k,
							    const uint8_t in[AES_BLOCK],
							    uint8_t out[AES_BLOCK])
{
	const __m128i *rk = (const __m128i *)(const void *)k->enc_bytes;
	__m128i s = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)in),
				  _mm_loadu_si128(rk));
	for (int r = 1; r < k->rounds; r++)
		s = _mm_aesenc_si128(s, _mm_loadu_si128(rk + r));
	s = _mm_aesenclast_si128(s, _mm_loadu_si128(rk + k->rounds));
	_mm_storeu_si128((__m128i *)(void *)out, s);
}

__attribute__((target("aes,sse2"))) void aesni_decrypt_block(const aes_key *k,
							    const uint8_t in[AES_BLOCK],
							    uint8_t out[AES_BLOCK])
{
	const __m128i *rk = (const __m128i *)(const void *)k->dec_bytes;
	__m128i s = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(const void *)in),
				  _mm_loadu_si128(rk));
	for (int r = 1; r < k->rounds; r++)
		s = _mm_aesdec_si128(s, _mm_loadu_si128(rk + r));
	s = _mm_aesdeclast_si128(s, _mm_loadu_si128(rk + k->rounds));
	_mm_storeu_si128((__m128i *)(void *)out, s);
}

#else

bool aesni_available(void)
{
	return false;
}

void aesni_encrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK])
{
	(void)k;
	(void)in;
	(void)out;
}

void aesni_decrypt_block(const aes_key *k, const uint8_t in[AES_BLOCK], uint8_t out[AES_BLOCK])
{
	(void)k;
	(void)in;
	(void)out;
}

#endif
