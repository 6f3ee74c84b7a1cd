#include "crypto/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <vector>

namespace amo::crypto {

namespace {

constexpr size_t kKeyLen = 32;
constexpr size_t kNonceLen = 12;
constexpr size_t kTagLen = 16;

// OpenSSL wants non-null pointers even for empty input.
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw CryptoError("cipher context allocation failed");
  return ctx;
}

int checked_int(size_t n) {
  if (n > static_cast<size_t>(INT_MAX)) throw CryptoError("input too large");
  return static_cast<int>(n);
}

constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view raw, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((raw.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= raw.size(); i += 3) {
    uint32_t v = (static_cast<uint8_t>(raw[i]) << 16) | (static_cast<uint8_t>(raw[i + 1]) << 8) |
                 static_cast<uint8_t>(raw[i + 2]);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  size_t rest = raw.size() - i;
  if (rest == 1) {
    uint32_t v = static_cast<uint8_t>(raw[i]) << 16;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = (static_cast<uint8_t>(raw[i]) << 16) | (static_cast<uint8_t>(raw[i + 1]) << 8);
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Strict decoder: only alphabet characters, optional correct '=' padding, no whitespace,
// and the unused low bits of the last character must be zero (one encoding per value).
std::optional<std::string> decode(std::string_view s, const char* alphabet) {
  std::array<int8_t, 256> table;
  table.fill(-1);
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);

  size_t len = s.size();
  if (len % 4 == 0 && len > 0) {  // padding only allowed on a full final quantum
    size_t pads = 0;
    while (pads < 2 && len > 0 && s[len - 1] == '=') {
      --len;
      ++pads;
    }
    if (pads > 0 && (len % 4) + pads != 4) return std::nullopt;
  }
  if (len % 4 == 1) return std::nullopt;

  std::string out;
  out.reserve(len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    int8_t v = table[static_cast<uint8_t>(s[i])];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (n == 0) return out;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), checked_int(n)) != 1) {
    throw CryptoError("random number generator failed");
  }
  return out;
}

std::string random_token(size_t bytes) { return base64url_encode(random_bytes(bytes)); }

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(bytes_of(data), data.size(), md, &md_len, EVP_sha256(), nullptr) != 1 ||
      md_len != 32) {
    throw CryptoError("sha256 failed");
  }
  return std::string(reinterpret_cast<char*>(md), md_len);
}

std::string sha256_hex(std::string_view data) { return hex(sha256(data)); }

namespace {

// HMAC-SHA256 contexts already keyed, per thread: keying costs an EVP_MAC fetch, two hash
// blocks and allocations, the same for every request signed with the same secret (JWT
// verification runs on every request). A context is reset to its key before each use
// (EVP_MAC_init with no key), so the result is exactly HMAC(key, data). Holds the few keys
// a thread uses (JWT_SECRET, AMO_CLIENT_SECRET); a new key past that evicts the oldest.
class HmacContexts {
 public:
  ~HmacContexts() {
    for (auto& e : entries_) EVP_MAC_CTX_free(e.ctx);
    EVP_MAC_free(mac_);
  }
  EVP_MAC_CTX* get(std::string_view key) {
    for (auto& e : entries_)
      if (e.key.size() == key.size() && CRYPTO_memcmp(e.key.data(), key.data(), key.size()) == 0) {
        if (EVP_MAC_init(e.ctx, nullptr, 0, nullptr) != 1) throw CryptoError("hmac failed");
        return e.ctx;
      }
    if (!mac_ && !(mac_ = EVP_MAC_fetch(nullptr, "HMAC", nullptr)))
      throw CryptoError("hmac failed");
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac_);
    if (!ctx) throw CryptoError("hmac failed");
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx, bytes_of(key), key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      throw CryptoError("hmac failed");
    }
    if (entries_.size() == kMax) {
      EVP_MAC_CTX_free(entries_.front().ctx);
      entries_.erase(entries_.begin());
    }
    entries_.push_back(Entry{std::string(key), ctx});
    return ctx;
  }

 private:
  static constexpr size_t kMax = 4;
  struct Entry {
    std::string key;
    EVP_MAC_CTX* ctx;
  };
  EVP_MAC* mac_ = nullptr;
  std::vector<Entry> entries_;
};

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
  thread_local HmacContexts contexts;
  EVP_MAC_CTX* ctx = contexts.get(key);
  unsigned char md[EVP_MAX_MD_SIZE];
  size_t md_len = 0;
  if (EVP_MAC_update(ctx, bytes_of(data), data.size()) != 1 ||
      EVP_MAC_final(ctx, md, &md_len, sizeof md) != 1 || md_len != 32)
    throw CryptoError("hmac failed");
  return std::string(reinterpret_cast<char*>(md), md_len);
}

std::string hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) {
    auto b = static_cast<uint8_t>(c);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64_encode(std::string_view raw) { return encode(raw, kStdAlphabet, true); }

std::optional<std::string> base64_decode(std::string_view b64) { return decode(b64, kStdAlphabet); }

std::string base64url_encode(std::string_view raw) { return encode(raw, kUrlAlphabet, false); }

std::optional<std::string> base64url_decode(std::string_view s) { return decode(s, kUrlAlphabet); }

std::optional<Key> key_from_base64(std::string_view b64) {
  // Tolerate surrounding whitespace (a trailing newline from a file or `openssl rand`).
  while (!b64.empty() && is_space(b64.front())) b64.remove_prefix(1);
  while (!b64.empty() && is_space(b64.back())) b64.remove_suffix(1);
  auto raw = base64_decode(b64);
  if (!raw || raw->size() != kKeyLen) return std::nullopt;
  Key k;
  k.id = sha256_hex(*raw).substr(0, 8);
  k.bytes = std::move(*raw);
  return k;
}

TokenCipher::TokenCipher(Key current, std::vector<Key> previous)
    : current_(std::move(current)), previous_(std::move(previous)) {
  if (current_.bytes.size() != kKeyLen) throw CryptoError("encryption key must be 32 bytes");
  for (const auto& k : previous_) {
    if (k.bytes.size() != kKeyLen) throw CryptoError("encryption key must be 32 bytes");
  }
}

std::string TokenCipher::encrypt(std::string_view plaintext, std::string_view aad) const {
  const int pt_len = checked_int(plaintext.size());
  const int aad_len = checked_int(aad.size());
  std::string out = random_bytes(kNonceLen);
  out.resize(kNonceLen + plaintext.size() + kTagLen);
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  auto* ct = nonce + kNonceLen;

  CipherCtx ctx = new_ctx();
  int len = 0;
  int total = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceLen),
                                nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr,
                               reinterpret_cast<const unsigned char*>(current_.bytes.data()),
                               nonce) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), aad_len) == 1 &&
            EVP_EncryptUpdate(ctx.get(), ct, &len, bytes_of(plaintext), pt_len) == 1;
  if (ok) {
    total = len;
    ok = EVP_EncryptFinal_ex(ctx.get(), ct + total, &len) == 1;
    total += len;
  }
  ok = ok && static_cast<size_t>(total) == plaintext.size() &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagLen),
                           ct + total) == 1;
  if (!ok) throw CryptoError("token encryption failed");
  return out;
}

std::string TokenCipher::decrypt(std::string_view blob, std::string_view key_id,
                                 std::string_view aad) const {
  const Key* key = nullptr;
  if (key_id == current_.id) {
    key = &current_;
  } else {
    for (const auto& k : previous_) {
      if (key_id == k.id) {
        key = &k;
        break;
      }
    }
  }
  if (key == nullptr) throw CryptoError("unknown key id");
  if (blob.size() < kNonceLen + kTagLen || blob.size() > static_cast<size_t>(INT_MAX) ||
      aad.size() > static_cast<size_t>(INT_MAX)) {
    throw CryptoError("token decryption failed");
  }

  const auto* nonce = reinterpret_cast<const unsigned char*>(blob.data());
  const size_t ct_size = blob.size() - kNonceLen - kTagLen;
  std::string_view ct = blob.substr(kNonceLen, ct_size);
  std::array<unsigned char, kTagLen> tag;
  std::copy(blob.end() - kTagLen, blob.end(), tag.begin());

  std::string out(ct_size, '\0');
  auto* pt = reinterpret_cast<unsigned char*>(out.data());
  unsigned char scratch = 0;  // valid output pointer when the plaintext is empty
  CipherCtx ctx = new_ctx();
  int len = 0;
  int total = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceLen),
                          nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr,
                         reinterpret_cast<const unsigned char*>(key->bytes.data()), nonce) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) ==
          1 &&
      EVP_DecryptUpdate(ctx.get(), ct_size ? pt : &scratch, &len, bytes_of(ct),
                        static_cast<int>(ct_size)) == 1;
  if (ok) {
    total = len;
    ok = EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagLen),
                             tag.data()) == 1 &&
         EVP_DecryptFinal_ex(ctx.get(), ct_size ? pt + total : &scratch, &len) == 1;
    total += len;
  }
  if (!ok || static_cast<size_t>(total) != ct_size) {
    OPENSSL_cleanse(out.data(), out.size());
    throw CryptoError("token decryption failed");
  }
  return out;
}

}  // namespace amo::crypto
