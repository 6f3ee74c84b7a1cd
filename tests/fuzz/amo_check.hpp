#pragma once
// Shared by the amoCRM answer targets: the only failure a parser may report, and an
// optional "#status NNN" first line that sets the HTTP status the answer came with.
#include <cstdlib>

#include "amo/client.hpp"
#include "fuzz_check.hpp"

namespace amo::fuzz {

// Runs `f`; an amoCRM parser may fail only with AmoError(kGarbage). True when `f` returned.
template <typename F>
bool amo_parses(F&& f) {
  try {
    f();
    return true;
  } catch (const amo_api::AmoError& e) {
    FUZZ_CHECK(e.kind == amo_api::Failure::kGarbage, "a parser threw AmoError kind %d",
               static_cast<int>(e.kind));
    FUZZ_CHECK(e.fault() == core::Fault::kAmoBadResponse, "garbage mapped to fault %d",
               static_cast<int>(e.fault()));
    return false;
  }
}

// "#status 204\n<body>" → 204 and the body; anything else → 200 and the whole input.
inline long answer_status(std::string_view in, std::string_view* body) {
  *body = in;
  if (in.substr(0, 8) != "#status ") return 200;
  std::string_view rest;
  std::string line(first_line(in.substr(8), &rest));
  *body = rest;
  return std::strtol(line.c_str(), nullptr, 10);
}

}  // namespace amo::fuzz
