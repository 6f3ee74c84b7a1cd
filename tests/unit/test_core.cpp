// core/: times, UTF-8 text, hosts; util/json's bounded reads.
#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "core/text.hpp"
#include "core/time.hpp"
#include "util/json.hpp"

using namespace amo;

BOOST_AUTO_TEST_SUITE(core_time)

BOOST_AUTO_TEST_CASE(iso8601_round_trip) {
  BOOST_TEST(core::iso8601(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(core::iso8601(1737368100) == "2025-01-20T10:15:00Z");
  BOOST_TEST(core::parse_time("2025-01-20T10:15:00Z").value_or(-1) == 1737368100);
}

BOOST_AUTO_TEST_CASE(parse_time_accepts_the_documented_forms) {
  BOOST_TEST(core::parse_time("1737368100").value_or(-1) == 1737368100);
  BOOST_TEST(core::parse_time("0").value_or(-1) == 0);
  BOOST_TEST(core::parse_time("2025-01-20").value_or(-1) == 1737331200);
  BOOST_TEST(core::parse_time("2025-01-20t10:15:00z").value_or(-1) == 1737368100);
  BOOST_TEST(core::parse_time("2025-01-20T10:15:00.123456Z").value_or(-1) == 1737368100);
  BOOST_TEST(core::parse_time("2025-01-20T13:15:00+03:00").value_or(-1) == 1737368100);
  BOOST_TEST(core::parse_time("2025-01-20T05:45:00-04:30").value_or(-1) == 1737368100);
  BOOST_TEST(core::parse_time("2024-02-29T00:00:00Z").value_or(-1) == 1709164800);
}

BOOST_AUTO_TEST_CASE(parse_time_refuses_everything_else) {
  for (const char* bad : {"",
                          "abc",
                          "2025-1-20",
                          "2025-01-20T10:15Z",
                          "2025-01-20T10:15:00",
                          "2025-01-20 10:15:00Z",
                          "2025-02-30",
                          "2025-02-29T00:00:00Z",
                          "2025-13-01",
                          "2025-00-10",
                          "2025-01-32",
                          "2025-01-20T24:00:00Z",
                          "2025-01-20T10:60:00Z",
                          "2025-01-20T10:15:00+24:00",
                          "2025-01-20T10:15:00+03",
                          "2025-01-20T10:15:00.Z",
                          "1969-12-31T23:59:59Z",
                          "+2025-01-20",
                          "2025-01-20T10:15:00Zjunk",
                          "1234567890123",
                          "-5",
                          "12 34",
                          "2025-01-20T1:15:00Z",
                          "２０２５-01-20"})
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!core::parse_time(bad).has_value()); }
  BOOST_TEST(!core::parse_time(std::string(1000, '9')).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(core_text)

BOOST_AUTO_TEST_CASE(utf8_validity) {
  for (const std::string& ok :
       std::vector<std::string>{"", "abc", "жук", "✓", "\xF0\x9F\x98\x80", std::string("a\0b", 3)})
    BOOST_TEST_CONTEXT(ok) { BOOST_TEST(core::valid_utf8(ok)); }
  for (const std::string& bad : std::vector<std::string>{
           "\xC3\x28", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xED\xBF\xBF",
           "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80", "\xFF", "\x80", "abc\xE2\x82"})
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!core::valid_utf8(bad)); }
}

BOOST_AUTO_TEST_CASE(code_points_count_characters_not_bytes) {
  BOOST_TEST(core::code_points("жук").value_or(0) == 3u);
  BOOST_TEST(core::code_points("a✓\xF0\x9F\x98\x80").value_or(0) == 3u);
  BOOST_TEST(!core::code_points("a\xFF").has_value());
}

BOOST_AUTO_TEST_CASE(repair_and_clean) {
  BOOST_TEST(core::repair_utf8("ok жук") == "ok жук");
  BOOST_TEST(core::repair_utf8("a\xFF"
                               "b") ==
             "a\xEF\xBF\xBD"
             "b");
  BOOST_TEST(core::repair_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_TEST(core::clean_text(std::string("Acme\0 Ltd\x01\x7F", 12), 100) == "Acme Ltd");
  BOOST_TEST(core::clean_text("line\nnext\ttab", 100) == "line\nnext\ttab");
  BOOST_TEST(core::clean_text("жжжжж", 3) == "жжж");
  BOOST_TEST(core::clean_text("a\xFF", 10) == "a\xEF\xBF\xBD");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bounded_json)

BOOST_AUTO_TEST_CASE(hostile_depth_is_refused_without_recursion) {
  rapidjson::Document d;
  for (size_t depth : {65u, 1000u, 150000u, 1000000u}) {
    std::string deep = std::string(depth, '[') + std::string(depth, ']');
    BOOST_TEST_CONTEXT(depth) {
      BOOST_TEST((json::parse(deep, d, json::kUpstreamLimits) == json::ParseFail::kTooDeep));
    }
  }
  std::string ok = std::string(64, '[') + std::string(64, ']');
  BOOST_TEST((json::parse(ok, d, json::kUpstreamLimits) == json::ParseFail::kNone));
  std::string objs;
  for (int i = 0; i < 40; ++i) objs += "{\"a\":";
  objs += "1" + std::string(40, '}');
  BOOST_TEST((json::parse(objs, d, json::kRequestLimits) == json::ParseFail::kTooDeep));
  // Brackets inside strings are text, not nesting.
  BOOST_TEST((json::parse("[\"" + std::string(5000, '[') + "\"]", d, json::kRequestLimits) ==
              json::ParseFail::kNone));
  BOOST_TEST(json::nesting_depth("[\"\\\"[[[\"]", 100) == 1);
}

BOOST_AUTO_TEST_CASE(size_encoding_and_syntax) {
  rapidjson::Document d;
  BOOST_TEST((json::parse(std::string(64 * 1024 + 1, ' '), d, json::kRequestLimits) ==
              json::ParseFail::kTooLarge));
  BOOST_TEST(
      (json::parse("{\"a\":\"\xC3\x28\"}", d, json::kRequestLimits) == json::ParseFail::kEncoding));
  BOOST_TEST(
      (json::parse("{\"a\":\"\\ud800\"}", d, json::kRequestLimits) == json::ParseFail::kEncoding));
  BOOST_TEST((json::parse("{\"a\":", d, json::kRequestLimits) == json::ParseFail::kSyntax));
  BOOST_TEST((json::parse("{} {}", d, json::kRequestLimits) == json::ParseFail::kSyntax));
  // A NUL byte anywhere: RapidJSON alone reads `{"a":1}<NUL>…` as `{"a":1}`.
  for (std::string text :
       {std::string("{\"a\":1}\0", 8), std::string("{\"a\":1}\0{\"a\":2}", 15),
        std::string("\0{}", 3), std::string("{\"a\":\"x\0\"}", 10), std::string("[1,\0 2]", 7)})
    for (auto lim : {json::kRequestLimits, json::kUpstreamLimits})
      BOOST_TEST((json::parse(text, d, lim) == json::ParseFail::kSyntax), text.size());
  BOOST_TEST((json::parse("", d, json::kRequestLimits) == json::ParseFail::kSyntax));
}

// Two members of one name, at any depth, in request and upstream text alike: readers
// disagree on which copy counts, so neither is read.
BOOST_AUTO_TEST_CASE(duplicate_member_names_are_refused) {
  rapidjson::Document d;
  std::string name;
  for (auto lim : {json::kRequestLimits, json::kUpstreamLimits}) {
    for (const char* text : {R"({"code":"a","code":"b"})", R"({"code":"a","x":1,"code":"a"})",
                             R"({"a":{"b":1,"c":{"d":[1,{"e":1,"e":2}]}}})",
                             R"([{"ok":1},{"s":1,"s":null}])", R"({"code":1,"c\u006fde":2})"}) {
      BOOST_TEST_CONTEXT(text) {
        name.clear();
        BOOST_TEST((json::parse(text, d, lim, &name) == json::ParseFail::kDuplicateKey));
        BOOST_TEST(d.IsNull());
        BOOST_TEST(!name.empty());
      }
    }
    BOOST_TEST((json::parse(R"({"x":{"code":1,"code":2}})", d, lim, &name) ==
                json::ParseFail::kDuplicateKey));
    BOOST_TEST(name == "code");
    // Names that differ in case, by a NUL or by one byte are different names; one name in
    // sibling objects is not a duplicate.
    for (const char* text : {R"({"code":1,"Code":2,"code\u0000":3,"cod":4})",
                             R"([{"a":1},{"a":2}])", R"({"a":{"a":{"a":1}}})", "{}", "[]"})
      BOOST_TEST((json::parse(text, d, lim) == json::ParseFail::kNone), text);
  }
  // Thousands of members are checked without quadratic work (the test would time out).
  std::string many = "{";
  for (int i = 0; i < 20000; ++i) many += "\"k" + std::to_string(i) + "\":0,";
  many += "\"k7\":1}";
  BOOST_TEST(
      (json::parse(many, d, json::kUpstreamLimits, &name) == json::ParseFail::kDuplicateKey));
  BOOST_TEST(name == "k7");
  BOOST_TEST(std::string(json::describe(json::ParseFail::kDuplicateKey)).find("duplicate") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(getters_report_the_wrong_shape) {
  rapidjson::Document d;
  BOOST_REQUIRE((json::parse(R"({"s":"x","n":5,"b":true,"z":null,"o":{},"a":[],"f":1.5})", d,
                             json::kRequestLimits) == json::ParseFail::kNone));
  BOOST_TEST(json::get_string(d, "s").value_or("") == "x");
  BOOST_TEST(json::get_int(d, "n").value_or(0) == 5);
  BOOST_TEST(json::get_bool(d, "b").value_or(false));
  BOOST_TEST(!json::get_string(d, "missing").has_value());
  BOOST_TEST(!json::get_string_or_null(d, "z").has_value());
  BOOST_TEST(!json::get_int_or_null(d, "z").has_value());
  BOOST_CHECK_THROW(json::get_string(d, "z"), json::ShapeError);  // null is not a string
  BOOST_CHECK_THROW(json::get_string(d, "n"), json::ShapeError);
  BOOST_CHECK_THROW(json::get_int(d, "s"), json::ShapeError);
  BOOST_CHECK_THROW(json::get_int(d, "f"), json::ShapeError);
  BOOST_CHECK_THROW(json::get_bool(d, "n"), json::ShapeError);
  BOOST_CHECK_THROW(json::get_object(d, "a"), json::ShapeError);
  BOOST_CHECK_THROW(json::get_array(d, "o"), json::ShapeError);
  try {
    json::get_string(d, "n");
  } catch (const json::ShapeError& e) {
    BOOST_TEST(e.field() == "n");
    BOOST_TEST(std::string(e.what()) == "'n' must be a string");
  }
}

BOOST_AUTO_TEST_SUITE_END()
