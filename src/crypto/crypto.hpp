#pragma once
// Random bytes, hashes, HMAC, base64 and AES-256-GCM token encryption (OpenSSL).
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace amo::crypto {

struct CryptoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string random_bytes(size_t n);           // CSPRNG (RAND_bytes); throws CryptoError
std::string random_token(size_t bytes = 32);  // base64url without padding of random_bytes(bytes)
std::string sha256(std::string_view data);    // 32 raw bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string hex(std::string_view raw);                                 // lower-case
bool constant_time_equal(std::string_view a,
                         std::string_view b);  // CRYPTO_memcmp; false on size mismatch

std::string base64_encode(std::string_view raw);  // standard alphabet, padded
std::optional<std::string> base64_decode(
    std::string_view b64);  // standard alphabet; padding optional; nullopt on bad input
std::string base64url_encode(std::string_view raw);               // URL alphabet, no padding
std::optional<std::string> base64url_decode(std::string_view s);  // URL alphabet; padding optional

// An AES-256 key and its id (first 8 hex digits of SHA-256 of the key bytes).
struct Key {
  std::string id;
  std::string bytes;  // exactly 32
};
// From base64 text (TOKEN_ENCRYPTION_KEY); nullopt unless it decodes to exactly 32 bytes.
std::optional<Key> key_from_base64(std::string_view b64);

// Encrypts token material with the current key; decrypts with any known key.
class TokenCipher {
 public:
  TokenCipher(Key current, std::vector<Key> previous = {});
  // Returns nonce(12) || ciphertext || tag(16), a fresh random nonce per call.
  // `aad` binds the value to where it is stored (e.g. "<user_id>|access").
  std::string encrypt(std::string_view plaintext, std::string_view aad) const;
  // Throws CryptoError when the key id is unknown or the blob was tampered with.
  std::string decrypt(std::string_view blob, std::string_view key_id, std::string_view aad) const;
  const std::string& current_id() const { return current_.id; }

 private:
  Key current_;
  std::vector<Key> previous_;
};

}  // namespace amo::crypto
