// System OpenSSL 3 (libssl-dev): AES (IGE, CTR), SHA, RSA, bignum DH, PBKDF2, random.
#include <openssl/aes.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
