#include "demo_data.hpp"

#include <algorithm>
#include <functional>

namespace amosim {

namespace {

// splitmix64: small, deterministic, good enough for demo data.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
};

constexpr int64_t kSalesPipeline = 8011522;
constexpr int64_t kRentPipeline = 8011526;

const char* const kSaleObjects[] = {
    "Квартира на Подолі",
    "2-кімнатна квартира на Оболоні",
    "3-кімнатна квартира в ЖК «Новопечерські Липки»",
    "Будинок у Бучі",
    "Таунхаус в Ірпені",
    "Офіс на Печерську",
    "Студія на Позняках",
    "Пентхаус на Липках",
    "Земельна ділянка в Козині",
    "Квартира в ЖК «Tetris Hall»",
    "Комерційне приміщення на Хрещатику",
    "Квартира на Лук'янівці",
    "Будинок у Гостомелі",
    "1-кімнатна квартира на Теремках",
    "Квартира біля метро «Лівобережна»",
};

const char* const kRentObjects[] = {
    "Оренда квартири на Подолі",
    "Оренда офісу на Лівому березі",
    "Оренда студії на Оболоні",
    "Оренда будинку в Конча-Заспі",
    "Оренда 2-кімнатної квартири на Печерську",
    "Оренда складу в Броварах",
};

const char* const kFirstNames[] = {
    "Олена", "Андрій", "Марія", "Іван",   "Оксана",   "Дмитро",    "Наталія", "Сергій",
    "Юлія",  "Тарас",  "Ірина", "Богдан", "Катерина", "Олександр", "Софія",   "Ярослав",
};

const char* const kLastNames[] = {
    "Коваленко", "Шевченко", "Бондаренко", "Ткаченко", "Кравченко",  "Мельник",
    "Олійник",   "Петренко", "Савченко",   "Лисенко",  "Гончаренко", "Руденко",
};

template <typename T, size_t N>
const T& pick(Rng& r, const T (&arr)[N]) {
  return arr[r.next() % N];
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

uint32_t lower_cp(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 32;  // Latin-1
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;              // А-Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;              // Ѐ-Џ (Є І Ї ...)
  if (cp >= 0x460 && cp <= 0x4FF && cp % 2 == 0) {
    // Cyrillic supplement pairs (Ґ U+0490 → ґ U+0491 among them).
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
        (cp >= 0x4D0 && cp <= 0x4FF))
      return cp + 1;
  }
  return cp;
}

}  // namespace

std::string utf8_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(s[i]);
      ++i;
      continue;
    }
    put_utf8(out, lower_cp(cp));
    i += len;
  }
  return out;
}

DemoData make_demo_data(int64_t now_unix) {
  DemoData d;
  d.user_ids = {10587301, 10587305, 10587309};

  d.pipelines.push_back(
      Pipeline{kSalesPipeline,
               "Продажі",
               1,
               true,
               true,
               false,
               {
                   {66100622, "Неразібране", 10, false, "#c1c1c1", 1},
                   {66100626, "Перший контакт", 20, true, "#99ccff", 0},
                   {66100630, "Показ об'єкта", 30, true, "#ffff99", 0},
                   {66100634, "Переговори", 40, true, "#ffcc66", 0},
                   {66100638, "Підписання договору", 50, true, "#deff81", 0},
                   {kStatusWon, "Успішно реалізовано", 10000, false, "#CCFF66", 0},
                   {kStatusLost, "Закрито і не реалізовано", 11000, false, "#D5D8DB", 0},
               }});
  d.pipelines.push_back(
      Pipeline{kRentPipeline,
               "Оренда",
               2,
               false,
               true,
               false,
               {
                   {66100642, "Неразібране", 10, false, "#c1c1c1", 1},
                   {66100646, "Заявка", 20, true, "#98cbff", 0},
                   {66100650, "Показ", 30, true, "#fffd7f", 0},
                   {kStatusWon, "Успішно реалізовано", 10000, false, "#CCFF66", 0},
                   {kStatusLost, "Закрито і не реалізовано", 11000, false, "#D5D8DB", 0},
               }});

  Rng r{0x466F72596F75ULL};  // "ForYou"
  const int64_t day = 86400;
  const int64_t base = now_unix - now_unix % day;  // today 00:00 UTC: stable within a day
  d.account_created_at = base - 400 * day;

  constexpr int kLeads = 100;
  std::vector<int64_t> ages;  // seconds before `base`
  for (int i = 0; i < kLeads; ++i) ages.push_back(r.range(60, 180 * day - 1));
  std::sort(ages.begin(), ages.end(), std::greater<>());  // oldest first → ids ascend with time

  int64_t id = 29011001;
  for (int i = 0; i < kLeads; ++i) {
    Lead l{};
    id += r.range(1, 37);
    l.id = id;
    bool sale = r.range(0, 9) < 7;
    const Pipeline& p = sale ? d.pipelines[0] : d.pipelines[1];
    l.pipeline_id = p.id;
    l.name = std::string(sale ? pick(r, kSaleObjects) : pick(r, kRentObjects)) + " — " +
             pick(r, kFirstNames) + " " + pick(r, kLastNames);
    l.name_lower = utf8_lower(l.name);
    l.price = sale ? r.range(900, 15000) * 1000 : r.range(8, 80) * 1000;
    if (r.range(0, 19) == 0) l.price = 0;
    l.responsible_user_id = d.user_ids[static_cast<size_t>(r.range(0, 2))];
    l.group_id = 0;
    l.created_by = r.range(0, 3) == 0 ? 0 : l.responsible_user_id;  // 0: created by a form/robot
    l.updated_by = l.responsible_user_id;
    l.created_at = base - ages[static_cast<size_t>(i)];
    int64_t age = base - l.created_at;
    l.updated_at = l.created_at + r.range(0, age);

    // Old leads are more often closed; a few are still unsorted.
    int roll = static_cast<int>(r.range(0, 99));
    bool closed = roll < (age > 60 * day ? 45 : 12);
    if (closed) {
      l.status_id = r.range(0, 4) < 3 ? kStatusWon : kStatusLost;
      l.closed_at = l.updated_at;
      if (l.status_id == kStatusLost) l.loss_reason_id = 4590001 + r.range(0, 2);
    } else if (roll >= 95) {
      l.status_id = p.statuses[0].id;  // unsorted
    } else {
      // one of the regular open statuses (between "unsorted" and 142/143)
      size_t n_open = p.statuses.size() - 3;
      l.status_id =
          p.statuses[1 + static_cast<size_t>(r.range(0, static_cast<int64_t>(n_open) - 1))].id;
    }
    d.leads.push_back(std::move(l));
  }
  return d;
}

}  // namespace amosim
