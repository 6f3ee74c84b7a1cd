#pragma once
// What a handler may use: the domain's services and the callback pages.
#include "core/services.hpp"

namespace amo {

namespace render {
class Pages;
}

struct Context : Services {
  const render::Pages& pages;
};

}  // namespace amo
