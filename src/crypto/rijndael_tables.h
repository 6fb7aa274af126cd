/* Rijndael lookup tables (generated, see tools/gen-aes-tables.py).
 * te*: SubBytes+ShiftRows+MixColumns for one byte position, big-endian words;
 * td*: the same for the inverse cipher. Private to the crypto layer. */
#ifndef KMSD_CRYPTO_RIJNDAEL_TABLES_H
#define KMSD_CRYPTO_RIJNDAEL_TABLES_H

#include <stdint.h>

extern const uint8_t rijndael_sbox[256];
extern const uint8_t rijndael_inv_sbox[256];
extern const uint32_t rijndael_te0[256], rijndael_te1[256], rijndael_te2[256], rijndael_te3[256];
extern const uint32_t rijndael_td0[256], rijndael_td1[256], rijndael_td2[256], rijndael_td3[256];

#endif
