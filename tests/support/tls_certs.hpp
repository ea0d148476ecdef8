// tls_certs.hpp: makes test CAs and certificates with OpenSSL's C API, written as PEM files.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_TLS_CERTS_HPP
#define BLUEJEANS_AUTH_TESTS_TLS_CERTS_HPP

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>
#include <unistd.h>

namespace test_support {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertDeleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;
using Cert = std::unique_ptr<X509, CertDeleter>;

struct CertSpec {
  std::string common_name;
  std::string subject_alt_name;  // "IP:127.0.0.1", empty for none
  bool is_ca = false;
  long valid_from_days = -1;  // relative to now
  long valid_until_days = 30;
};

inline void require(bool ok, const char* what) {
  if (!ok) {
    throw std::runtime_error(std::string("making test certificates: ") + what);
  }
}

// P-256 keys: quick to make, even under sanitizers.
inline Key make_key() {
  Key key(EVP_EC_gen("P-256"));
  require(key != nullptr, "EVP_EC_gen");
  return key;
}

inline void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  require(extension != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for key, signed by issuer (or by key itself when issuer is null).
inline Cert make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  Cert cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.valid_from_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.valid_until_days * 86400L);
  X509_set_pubkey(cert.get(), key);

  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));

  add_extension(cert.get(), signer, NID_basic_constraints,
                spec.is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!spec.subject_alt_name.empty()) {
    add_extension(cert.get(), signer, NID_subject_alt_name, spec.subject_alt_name);
  }
  require(X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return cert;
}

inline void write_pem(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  require(file != nullptr, "fopen");
  const bool ok = PEM_write_X509(file, cert) == 1;
  std::fclose(file);
  require(ok, "PEM_write_X509");
}

inline void write_pem(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  require(file != nullptr, "fopen");
  const bool ok = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  require(ok, "PEM_write_PrivateKey");
}

// A certificate and its key as files.
struct PemPair {
  std::string cert;
  std::string key;
};

// Every certificate the TLS tests use, in a temporary directory removed at exit.
class TlsFiles {
 public:
  TlsFiles() {
    char pattern[] = "/tmp/bluejeans-auth-tls-XXXXXX";
    require(mkdtemp(pattern) != nullptr, "mkdtemp");
    dir_ = pattern;

    Key ca_key = make_key();
    Cert ca = make_cert({"bluejeans-auth test CA", "", true}, ca_key.get(), nullptr, nullptr);
    ca_cert = file("ca.pem");
    write_pem(ca_cert, ca.get());

    trusted = issue("trusted", {"127.0.0.1", "IP:127.0.0.1,DNS:localhost"}, ca, ca_key);
    other_host = issue("other-host", {"other.example", "DNS:other.example"}, ca, ca_key);
    expired = issue("expired", {"127.0.0.1", "IP:127.0.0.1", false, -30, -1}, ca, ca_key);
    client = issue("client", {"bluejeans-auth test client", ""}, ca, ca_key);

    Key own_key = make_key();
    Cert own = make_cert({"127.0.0.1", "IP:127.0.0.1"}, own_key.get(), nullptr, nullptr);
    self_signed = {file("self-signed.pem"), file("self-signed-key.pem")};
    write_pem(self_signed.cert, own.get());
    write_pem(self_signed.key, own_key.get());
  }

  ~TlsFiles() {
    for (const auto& path : written_) {
      std::remove(path.c_str());
    }
    rmdir(dir_.c_str());
  }

  TlsFiles(const TlsFiles&) = delete;
  TlsFiles& operator=(const TlsFiles&) = delete;

  std::string ca_cert;
  PemPair trusted;      // for 127.0.0.1, signed by the CA
  PemPair other_host;   // for other.example, signed by the CA
  PemPair expired;      // for 127.0.0.1, expired yesterday
  PemPair client;       // a client certificate signed by the CA
  PemPair self_signed;  // for 127.0.0.1, its own issuer

 private:
  std::string file(const std::string& name) {
    written_.push_back(dir_ + "/" + name);
    return written_.back();
  }

  PemPair issue(const std::string& name, const CertSpec& spec, const Cert& ca, const Key& ca_key) {
    Key key = make_key();
    Cert cert = make_cert(spec, key.get(), ca.get(), ca_key.get());
    PemPair pair{file(name + ".pem"), file(name + "-key.pem")};
    write_pem(pair.cert, cert.get());
    write_pem(pair.key, key.get());
    return pair;
  }

  std::string dir_;
  std::vector<std::string> written_;
};

// Made once per test program: key generation is the slow part.
inline const TlsFiles& tls_files() {
  static const TlsFiles files;
  return files;
}

}  // namespace test_support

#endif  // BLUEJEANS_AUTH_TESTS_TLS_CERTS_HPP
