// Pure parts of the connect flow: the referer host check, state digests, the hook signature.
#include <boost/test/unit_test.hpp>

#include "crypto/crypto.hpp"
#include "oauth/connect.hpp"

using amo::oauth::host_allowed;

BOOST_AUTO_TEST_SUITE(oauth)

BOOST_AUTO_TEST_CASE(referer_host_check) {
  const std::vector<std::string> allowed = {"amocrm.ru", "amocrm.com", "kommo.com"};
  for (auto ok :
       {"reforyou.amocrm.ru", "amocrm.ru", "x.y.kommo.com", "REFORYOU.AMOCRM.RU", "a-b.amocrm.com"})
    BOOST_TEST_CONTEXT(ok) { BOOST_TEST(host_allowed(ok, allowed)); }
  for (auto bad :
       {"evil.com", "reforyou.amocrm.ru.evil.com", "evilamocrm.ru", "amocrm.ru@evil.com",
        "user@reforyou.amocrm.ru", "127.0.0.1", "10.0.0.1", "reforyou.amocrm.ru:443",
        "reforyou.amocrm.ru/", "https://reforyou.amocrm.ru", "", ".amocrm.ru",
        "reforyou..amocrm.ru", "reforyou.amocrm.ru.", "amocrm.ru.", "xn--e1a.amocrm.ru evil",
        "reforyou.amocrm.ru\n", "reforyou.amocrm.ru%2eevil.com"})
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!host_allowed(bad, allowed)); }
  BOOST_TEST(!host_allowed("reforyou.amocrm.ru", {"kommo.com"}));
  BOOST_TEST(!host_allowed(std::string(300, 'a') + ".amocrm.ru", allowed));
}

BOOST_AUTO_TEST_CASE(state_digest_is_sha256) {
  BOOST_TEST(amo::crypto::hex(amo::oauth::digest("abc")) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(amo::oauth::digest("a") != amo::oauth::digest("b"));
}

BOOST_AUTO_TEST_CASE(random_states_are_long_and_distinct) {
  auto a = amo::crypto::random_token(32), b = amo::crypto::random_token(32);
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() == 43u);  // 256 bits, base64url without padding
  BOOST_TEST(
      a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(disconnect_hook_signature) {
  // hex HMAC-SHA256 of "<client_uuid>|<account_id>" keyed with the client secret.
  auto sig = amo::crypto::hex(amo::crypto::hmac_sha256("secret", "uuid-1|31920194"));
  BOOST_TEST(sig.size() == 64u);
  BOOST_TEST(amo::crypto::constant_time_equal(
      sig, amo::crypto::hex(amo::crypto::hmac_sha256("secret", "uuid-1|31920194"))));
  BOOST_TEST(!amo::crypto::constant_time_equal(
      sig, amo::crypto::hex(amo::crypto::hmac_sha256("secret", "uuid-1|31920195"))));
  BOOST_TEST(!amo::crypto::constant_time_equal(
      sig, amo::crypto::hex(amo::crypto::hmac_sha256("other", "uuid-1|31920194"))));
}

BOOST_AUTO_TEST_SUITE_END()
