#include <boost/test/unit_test.hpp>
#include <set>
#include <string>
#include <thread>

#include "crypto/crypto.hpp"

using namespace amo::crypto;

namespace {

Key make_key(char fill) {
  auto k = key_from_base64(base64_encode(std::string(32, fill)));
  BOOST_REQUIRE(k.has_value());
  return *k;
}

std::string unhex(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto)

BOOST_AUTO_TEST_CASE(sha256_abc) {
  BOOST_TEST(sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256("abc").size() == 32u);
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

BOOST_AUTO_TEST_CASE(hmac_sha256_rfc4231) {
  // RFC 4231 test case 1.
  BOOST_TEST(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // RFC 4231 test case 2.
  BOOST_TEST(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 6 (key longer than the block size).
  BOOST_TEST(hex(hmac_sha256(std::string(131, '\xaa'),
                             "Test Using Larger Than Block-Size Key - Hash Key First")) ==
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Empty key and data are allowed.
  BOOST_TEST(hmac_sha256("", "").size() == 32u);
}

// hmac_sha256 keeps keyed contexts per thread: each call is still HMAC(key, data) whatever
// keys came before it (a context reset to its key, not left holding the previous data),
// in every thread, also past the contexts it keeps.
BOOST_AUTO_TEST_CASE(hmac_sha256_prepared_keys_give_the_same_results) {
  const std::string tc1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  const std::string tc2 = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  auto check = [&] {
    for (int round = 0; round < 3; ++round) {
      BOOST_TEST(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")) == tc1);
      BOOST_TEST(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) == tc2);
      BOOST_TEST(hex(hmac_sha256("Jefe", "what do ya want for nothing?")) == tc2);
      // Keys that share a prefix or differ only in length are different keys.
      BOOST_TEST(hmac_sha256("Jef", "x") != hmac_sha256("Jefe", "x"));
      for (int k = 0; k < 6; ++k) hmac_sha256("key-" + std::to_string(k), "evicts");
    }
  };
  check();
  std::thread t(check);
  t.join();
}

BOOST_AUTO_TEST_CASE(hex_lowercase) {
  BOOST_TEST(hex(std::string("\x00\x01\xab\xff", 4)) == "0001abff");
  BOOST_TEST(hex("") == "");
}

BOOST_AUTO_TEST_CASE(random_bytes_and_tokens) {
  BOOST_TEST(random_bytes(0).empty());
  BOOST_TEST(random_bytes(48).size() == 48u);
  BOOST_TEST(random_bytes(32) != random_bytes(32));
  std::string t = random_token();
  BOOST_TEST(t.size() == 43u);  // 32 bytes, base64url without padding
  BOOST_TEST(
      t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
  BOOST_TEST(random_token(16).size() == 22u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_token());
  BOOST_TEST(seen.size() == 100u);
}

BOOST_AUTO_TEST_CASE(constant_time_equal_cases) {
  BOOST_TEST(constant_time_equal("", ""));
  BOOST_TEST(constant_time_equal("abc", "abc"));
  BOOST_TEST(!constant_time_equal("abc", "abd"));
  BOOST_TEST(!constant_time_equal("abc", "ab"));
  BOOST_TEST(!constant_time_equal("", "a"));
  BOOST_TEST(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  BOOST_TEST(!constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

BOOST_AUTO_TEST_CASE(base64_known_vectors) {
  // RFC 4648 §10.
  BOOST_TEST(base64_encode("") == "");
  BOOST_TEST(base64_encode("f") == "Zg==");
  BOOST_TEST(base64_encode("fo") == "Zm8=");
  BOOST_TEST(base64_encode("foo") == "Zm9v");
  BOOST_TEST(base64_encode("foob") == "Zm9vYg==");
  BOOST_TEST(base64_encode("fooba") == "Zm9vYmE=");
  BOOST_TEST(base64_encode("foobar") == "Zm9vYmFy");
  BOOST_TEST(base64_decode("Zm9vYg==").value() == "foob");
  BOOST_TEST(base64_decode("Zm9vYg").value() == "foob");  // padding optional
  BOOST_TEST(base64_decode("Zm9vYmE=").value() == "fooba");
  BOOST_TEST(base64_decode("Zm9vYmE").value() == "fooba");
  BOOST_TEST(base64_decode("").value() == "");
  BOOST_TEST(base64_encode("\xfb\xff") == "+/8=");
  BOOST_TEST(base64url_encode("\xfb\xff") == "-_8");
}

BOOST_AUTO_TEST_CASE(base64_round_trips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); n += 1) {
    std::string s = all.substr(0, n);
    BOOST_TEST(base64_decode(base64_encode(s)).value() == s);
    BOOST_TEST(base64url_decode(base64url_encode(s)).value() == s);
    BOOST_TEST(base64url_encode(s).find('=') == std::string::npos);
  }
  for (int i = 0; i < 20; ++i) {
    std::string r = random_bytes(static_cast<size_t>(i) * 7 + 1);
    BOOST_TEST(base64_decode(base64_encode(r)).value() == r);
    BOOST_TEST(base64url_decode(base64url_encode(r)).value() == r);
  }
  // Padded url-safe text is accepted too.
  BOOST_TEST(base64url_decode("Zm8=").value() == "fo");
}

BOOST_AUTO_TEST_CASE(base64_rejects_bad_input) {
  BOOST_TEST(!base64_decode("Zm9v!").has_value());
  BOOST_TEST(!base64_decode("Z").has_value());  // impossible length
  BOOST_TEST(!base64_decode("Zm9vY").has_value());
  BOOST_TEST(!base64_decode("Zm=v").has_value());  // padding in the middle
  BOOST_TEST(!base64_decode("Zm9=").has_value());  // non-zero trailing bits
  BOOST_TEST(!base64_decode("Zm===").has_value());
  BOOST_TEST(!base64_decode("Z===").has_value());
  BOOST_TEST(!base64_decode("====").has_value());
  BOOST_TEST(base64_decode("Zm8").has_value());       // unpadded is fine
  BOOST_TEST(!base64_decode("Zm8==").has_value());    // too much padding
  BOOST_TEST(!base64_decode("Zm9vYg=").has_value());  // partial padding
  BOOST_TEST(!base64_decode("Zm8=\n").has_value());   // no whitespace
  BOOST_TEST(!base64_decode("Zm 8=").has_value());
  BOOST_TEST(!base64_decode("Zh==").has_value());    // non-zero trailing bits
  BOOST_TEST(!base64_decode("-_8=").has_value());    // URL alphabet in standard decoder
  BOOST_TEST(!base64url_decode("+/8").has_value());  // standard alphabet in URL decoder
  BOOST_TEST(!base64url_decode("a.b").has_value());
  BOOST_TEST(!base64_decode(std::string("Zm\0v", 4)).has_value());
}

BOOST_AUTO_TEST_CASE(key_from_base64_checks) {
  const std::string raw(32, '\x42');
  auto k = key_from_base64(base64_encode(raw));
  BOOST_REQUIRE(k.has_value());
  BOOST_TEST(k->bytes == raw);
  BOOST_TEST(k->id == sha256_hex(raw).substr(0, 8));
  BOOST_TEST(k->id.size() == 8u);
  // Surrounding whitespace (e.g. trailing newline) is tolerated.
  BOOST_TEST(key_from_base64(base64_encode(raw) + "\n").has_value());

  BOOST_TEST(!key_from_base64(base64_encode(std::string(31, 'x'))).has_value());
  BOOST_TEST(!key_from_base64(base64_encode(std::string(33, 'x'))).has_value());
  BOOST_TEST(!key_from_base64(base64_encode(std::string(16, 'x'))).has_value());
  BOOST_TEST(!key_from_base64("").has_value());
  BOOST_TEST(!key_from_base64("not base64 at all!!").has_value());
  BOOST_TEST(!key_from_base64(std::string(44, '*')).has_value());
  // Different keys have different ids.
  BOOST_TEST(make_key('a').id != make_key('b').id);
}

BOOST_AUTO_TEST_CASE(aes_gcm_round_trip) {
  TokenCipher c(make_key('k'));
  for (std::string pt : {std::string(), std::string("x"), std::string("access-token-value"),
                         std::string(5000, 'z'), std::string("bin\0ary", 7)}) {
    std::string blob = c.encrypt(pt, "42|access");
    BOOST_TEST(blob.size() == 12 + pt.size() + 16);
    BOOST_TEST(c.decrypt(blob, c.current_id(), "42|access") == pt);
  }
  BOOST_TEST(c.current_id() == make_key('k').id);
}

BOOST_AUTO_TEST_CASE(aes_gcm_known_answer) {
  // NIST GCM test vector (AES-256, 96-bit IV, no AAD; "Test Case 14" of the GCM spec).
  Key k{"testkey0", std::string(32, '\0')};
  TokenCipher c(k);
  std::string blob = std::string(12, '\0') + unhex("cea7403d4d606b6e074ec5d3baf39d18") +
                     unhex("d0d1c8a799996bf0265b98b5d48ab919");
  BOOST_TEST(c.decrypt(blob, "testkey0", "") == std::string(16, '\0'));
}

BOOST_AUTO_TEST_CASE(aes_gcm_fresh_nonce) {
  TokenCipher c(make_key('k'));
  std::string a = c.encrypt("same plaintext", "aad");
  std::string b = c.encrypt("same plaintext", "aad");
  BOOST_TEST(a != b);
  BOOST_TEST(a.substr(0, 12) != b.substr(0, 12));
  BOOST_TEST(c.decrypt(a, c.current_id(), "aad") == "same plaintext");
  BOOST_TEST(c.decrypt(b, c.current_id(), "aad") == "same plaintext");
}

BOOST_AUTO_TEST_CASE(aes_gcm_tamper_detection) {
  TokenCipher c(make_key('k'));
  const std::string pt = "refresh-token-material";
  const std::string blob = c.encrypt(pt, "7|refresh");
  for (size_t i = 0; i < blob.size(); ++i) {  // every byte: nonce, ciphertext and tag
    std::string bad = blob;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    BOOST_CHECK_THROW(c.decrypt(bad, c.current_id(), "7|refresh"), CryptoError);
  }
  BOOST_CHECK_THROW(c.decrypt(blob.substr(0, blob.size() - 1), c.current_id(), "7|refresh"),
                    CryptoError);
  BOOST_CHECK_THROW(c.decrypt(blob + "x", c.current_id(), "7|refresh"), CryptoError);
  BOOST_CHECK_THROW(c.decrypt("", c.current_id(), "7|refresh"), CryptoError);
  BOOST_CHECK_THROW(c.decrypt(std::string(27, 'a'), c.current_id(), "7|refresh"), CryptoError);
  try {
    c.decrypt(std::string(40, 'a'), c.current_id(), "7|refresh");
    BOOST_FAIL("expected CryptoError");
  } catch (const CryptoError& e) {
    BOOST_TEST(std::string(e.what()) == "token decryption failed");
  }
}

BOOST_AUTO_TEST_CASE(aes_gcm_wrong_aad) {
  TokenCipher c(make_key('k'));
  const std::string blob = c.encrypt("secret", "1|access");
  BOOST_CHECK_THROW(c.decrypt(blob, c.current_id(), "1|refresh"), CryptoError);
  BOOST_CHECK_THROW(c.decrypt(blob, c.current_id(), "2|access"), CryptoError);
  BOOST_CHECK_THROW(c.decrypt(blob, c.current_id(), ""), CryptoError);
  BOOST_TEST(c.decrypt(blob, c.current_id(), "1|access") == "secret");
}

BOOST_AUTO_TEST_CASE(aes_gcm_key_rotation) {
  Key old_key = make_key('o');
  Key older_key = make_key('p');
  Key new_key = make_key('n');
  TokenCipher old_cipher(old_key);
  const std::string blob = old_cipher.encrypt("tok", "9|access");

  TokenCipher rotated(new_key, {older_key, old_key});
  BOOST_TEST(rotated.current_id() == new_key.id);
  BOOST_TEST(rotated.decrypt(blob, old_key.id, "9|access") == "tok");
  // New encryptions use the new key.
  const std::string fresh = rotated.encrypt("tok2", "9|access");
  BOOST_TEST(rotated.decrypt(fresh, new_key.id, "9|access") == "tok2");
  BOOST_CHECK_THROW(old_cipher.decrypt(fresh, new_key.id, "9|access"), CryptoError);
  // The right id with the wrong key bytes fails authentication.
  BOOST_CHECK_THROW(rotated.decrypt(blob, older_key.id, "9|access"), CryptoError);
}

BOOST_AUTO_TEST_CASE(aes_gcm_unknown_key_id) {
  TokenCipher c(make_key('k'), {make_key('o')});
  const std::string blob = c.encrypt("x", "a");
  try {
    c.decrypt(blob, "deadbeef", "a");
    BOOST_FAIL("expected CryptoError");
  } catch (const CryptoError& e) {
    BOOST_TEST(std::string(e.what()) == "unknown key id");
  }
  BOOST_CHECK_THROW(c.decrypt(blob, "", "a"), CryptoError);
}

BOOST_AUTO_TEST_CASE(cipher_rejects_bad_key_length) {
  BOOST_CHECK_THROW(TokenCipher(Key{"abcd1234", std::string(16, 'k')}), CryptoError);
  BOOST_CHECK_THROW(TokenCipher(make_key('k'), {Key{"abcd1234", std::string(31, 'k')}}),
                    CryptoError);
}

BOOST_AUTO_TEST_SUITE_END()
