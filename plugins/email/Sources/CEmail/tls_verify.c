/* Certificate verification with OpenSSL: the chain a TLS library received, checked against a CA
 * file (or the system store) and the host name or IP address the connection was made to. */
#include "cemail.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void cemail_block_sigpipe(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

void cemail_sha256(const void *data, size_t length, unsigned char digest[32]) {
    SHA256(data, length, digest);
}

static int is_ip_literal(const char *host) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, host, buffer) == 1 || inet_pton(AF_INET6, host, buffer) == 1;
}

int cemail_verify_chain(const unsigned char *const *certs, const size_t *lengths, size_t count, const char *host,
                        const char *ca_file, char *err, size_t err_cap) {
    int result = -1;
    X509 *leaf = NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!untrusted || !store || !ctx) {
        snprintf(err, err_cap, "out of memory verifying the certificate");
        goto done;
    }
    if (count == 0) {
        snprintf(err, err_cap, "the server presented no certificate");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const unsigned char *p = certs[i];
        X509 *cert = d2i_X509(NULL, &p, (long)lengths[i]);
        if (!cert) {
            snprintf(err, err_cap, "certificate %zu of the server's chain cannot be decoded", i);
            goto done;
        }
        if (i == 0) leaf = cert; else sk_X509_push(untrusted, cert);
    }
    if (ca_file && *ca_file) {
        if (X509_STORE_load_locations(store, ca_file, NULL) != 1) {
            snprintf(err, err_cap, "cannot load CA file %s", ca_file);
            goto done;
        }
    } else if (X509_STORE_set_default_paths(store) != 1) {
        snprintf(err, err_cap, "cannot load the system's trusted certificates");
        goto done;
    }
    if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
        snprintf(err, err_cap, "cannot set up certificate verification");
        goto done;
    }
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
    if (host && *host) {
        int ok = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                                     : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (ok != 1) {
            snprintf(err, err_cap, "cannot check the certificate for host %s", host);
            goto done;
        }
    }
    if (X509_verify_cert(ctx) == 1) {
        result = 0;
    } else {
        int code = X509_STORE_CTX_get_error(ctx);
        snprintf(err, err_cap, "certificate verification failed for %s: %s", host ? host : "?",
                 X509_verify_cert_error_string(code));
    }
done:
    ERR_clear_error();
    if (ctx) X509_STORE_CTX_free(ctx);
    if (store) X509_STORE_free(store);
    if (untrusted) sk_X509_pop_free(untrusted, X509_free);
    if (leaf) X509_free(leaf);
    return result;
}
