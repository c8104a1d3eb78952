#include "backup/naming.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace etcdd::backup {

namespace {

std::tm ToTm(Seconds t) {
  std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Parses exactly `s.size()` decimal digits.
std::optional<int> Digits(std::string_view s) {
  if (!AllDigits(s)) return std::nullopt;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// A calendar time from its fields; nullopt when a field is out of range or
// the date does not exist (timegm would silently normalise it).
std::optional<Seconds> FromFields(int year, int mon, int day, int hour, int min, int sec) {
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t tt = timegm(&tm);
  Seconds t{std::chrono::seconds(tt)};
  std::tm back = ToTm(t);
  if (back.tm_mday != day || back.tm_mon != mon - 1) return std::nullopt;
  return t;
}

// "YYYYMMDDTHHMMSSZ".
std::optional<Seconds> ParseCompactUtc(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto y = Digits(s.substr(0, 4)), mo = Digits(s.substr(4, 2)), d = Digits(s.substr(6, 2));
  auto h = Digits(s.substr(9, 2)), mi = Digits(s.substr(11, 2)), se = Digits(s.substr(13, 2));
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  return FromFields(*y, *mo, *d, *h, *mi, *se);
}

bool ConsumeSuffix(std::string_view* s, std::string_view suffix) {
  if (s->size() < suffix.size() || s->substr(s->size() - suffix.size()) != suffix) return false;
  s->remove_suffix(suffix.size());
  return true;
}

}  // namespace

std::string_view KindSuffix(BackupKind kind) {
  switch (kind) {
    case BackupKind::kArchive:
      return ".tar.zst";
    case BackupKind::kEncryptedArchive:
      return ".tar.zst.enc";
    case BackupKind::kRaw:
      return ".db";
  }
  return "";
}

std::string IdHex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

std::optional<uint64_t> ParseIdHex(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, 16);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string FormatCompactUtc(Seconds t) {
  std::tm tm = ToTm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string FormatRfc3339(Seconds t) {
  std::tm tm = ToTm(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<Seconds> ParseRfc3339(std::string_view s) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  auto y = Digits(s.substr(0, 4)), mo = Digits(s.substr(5, 2)), d = Digits(s.substr(8, 2));
  auto h = Digits(s.substr(11, 2)), mi = Digits(s.substr(14, 2)), se = Digits(s.substr(17, 2));
  if (!y || !mo || !d || !h || !mi || !se) return std::nullopt;
  return FromFields(*y, *mo, *d, *h, *mi, *se);
}

std::string FormatBackupName(const BackupName& name) {
  return IdHex(name.cluster_id) + "-" + FormatCompactUtc(name.time) + "-r" +
         std::to_string(name.revision) + std::string(KindSuffix(name.kind));
}

std::optional<BackupName> ParseBackupName(std::string_view s) {
  BackupName name;
  if (ConsumeSuffix(&s, KindSuffix(BackupKind::kEncryptedArchive))) {
    name.kind = BackupKind::kEncryptedArchive;
  } else if (ConsumeSuffix(&s, KindSuffix(BackupKind::kArchive))) {
    name.kind = BackupKind::kArchive;
  } else if (ConsumeSuffix(&s, KindSuffix(BackupKind::kRaw))) {
    name.kind = BackupKind::kRaw;
  } else {
    return std::nullopt;
  }
  // <16 hex>-<16 time>-r<digits>
  if (s.size() < 16 + 1 + 16 + 2 + 1 || s[16] != '-' || s[33] != '-' || s[34] != 'r') {
    return std::nullopt;
  }
  auto id = ParseIdHex(s.substr(0, 16));
  auto time = ParseCompactUtc(s.substr(17, 16));
  std::string_view rev = s.substr(35);
  if (!id || !time || !AllDigits(rev) || rev.size() > 18) return std::nullopt;
  name.cluster_id = *id;
  name.time = *time;
  std::from_chars(rev.data(), rev.data() + rev.size(), name.revision);
  return name;
}

std::string TempName(const std::string& final_name, pid_t pid) {
  return "." + final_name + ".tmp-" + std::to_string(pid);
}

std::optional<pid_t> ParseTempName(std::string_view s) {
  constexpr std::string_view kMark = ".tmp-";
  if (s.size() < 2 || s[0] != '.') return std::nullopt;
  size_t at = s.rfind(kMark);
  if (at == std::string_view::npos || at == 0) return std::nullopt;
  std::string_view digits = s.substr(at + kMark.size());
  if (!AllDigits(digits) || digits.size() > 9) return std::nullopt;
  pid_t pid = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (pid <= 0) return std::nullopt;
  return pid;
}

}  // namespace etcdd::backup
