#pragma once

// RFC 3261 §25 character classes and a cursor over header text that understands linear white
// space (LWS, including CRLF folding). Pure, header-only, no allocation.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portline::sip::syntax {

enum : std::uint16_t {
  kAlnum = 1 << 0,
  kToken = 1 << 1,            // token (§25.1)
  kWord = 1 << 2,             // word (Call-ID)
  kUnreserved = 1 << 3,       // alphanum / mark
  kUserUnreserved = 1 << 4,   // & = + $ , ; ? /
  kPasswordExtra = 1 << 5,    // & = + $ ,
  kParamUnreserved = 1 << 6,  // [ ] / : & + $
  kHnvUnreserved = 1 << 7,    // [ ] / ? : + $
  kHostChar = 1 << 8,         // alphanum - .
  kDigit = 1 << 9,
  kHex = 1 << 10,
  kSchemeChar = 1 << 11,  // ALPHA DIGIT + - .
};

constexpr std::array<std::uint16_t, 256> MakeTable() {
  std::array<std::uint16_t, 256> t{};
  auto add = [&t](std::string_view chars, std::uint16_t f) {
    for (char c : chars) {
      t[static_cast<unsigned char>(c)] =
          static_cast<std::uint16_t>(t[static_cast<unsigned char>(c)] | f);
    }
  };
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit) {
      t[static_cast<std::size_t>(c)] =
          kAlnum | kToken | kWord | kUnreserved | kHostChar | kSchemeChar;
    }
    if (digit) {
      t[static_cast<std::size_t>(c)] =
          static_cast<std::uint16_t>(t[static_cast<std::size_t>(c)] | kDigit | kHex);
    }
    if ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
      t[static_cast<std::size_t>(c)] =
          static_cast<std::uint16_t>(t[static_cast<std::size_t>(c)] | kHex);
    }
  }
  add("-.!%*_+`'~", kToken | kWord);
  add("()<>:\\\"/[]?{}", kWord);
  add("-_.!~*'()", kUnreserved);
  add("&=+$,;?/", kUserUnreserved);
  add("&=+$,", kPasswordExtra);
  add("[]/:&+$", kParamUnreserved);
  add("[]/?:+$", kHnvUnreserved);
  add("-.", kHostChar);
  add("+-.", kSchemeChar);
  return t;
}

inline constexpr std::array<std::uint16_t, 256> kTable = MakeTable();

constexpr bool Is(char c, std::uint16_t cls) {
  return (kTable[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool IsToken(char c) { return Is(c, kToken); }
constexpr bool IsDigit(char c) { return Is(c, kDigit); }
constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }

constexpr bool IsTokenString(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!IsToken(c)) {
      return false;
    }
  }
  return true;
}

constexpr char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

constexpr bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) {
      return false;
    }
  }
  return true;
}

/// Checks that every `%` in `s` starts a valid escape and every other character is in `cls`.
constexpr bool IsEscapedOf(std::string_view s, std::uint16_t cls) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !Is(s[i + 1], kHex) || !Is(s[i + 2], kHex)) {
        return false;
      }
      i += 2;
    } else if (!Is(s[i], cls)) {
      return false;
    }
  }
  return true;
}

/// A read cursor over one header value. LWS = [*WSP CRLF] 1*WSP; header values keep their folds
/// (zero copy), so every skip treats "CRLF WSP" as white space.
class Cursor {
 public:
  constexpr explicit Cursor(std::string_view s) : s_(s) {}

  [[nodiscard]] constexpr bool Done() const { return pos_ >= s_.size(); }
  [[nodiscard]] constexpr char Peek() const { return Done() ? '\0' : s_[pos_]; }
  [[nodiscard]] constexpr std::size_t Pos() const { return pos_; }
  constexpr void Seek(std::size_t p) { pos_ = p; }
  [[nodiscard]] constexpr std::string_view Rest() const { return s_.substr(pos_); }
  [[nodiscard]] constexpr std::string_view Text() const { return s_; }
  constexpr void Advance(std::size_t n = 1) { pos_ += n; }

  /// Skips SWS; returns true when anything was skipped.
  constexpr bool SkipLws() {
    const std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (IsWsp(c)) {
        ++pos_;
      } else if (c == '\r' && pos_ + 2 < s_.size() && s_[pos_ + 1] == '\n' && IsWsp(s_[pos_ + 2])) {
        pos_ += 3;
      } else if (c == '\n' && pos_ + 1 < s_.size() && IsWsp(s_[pos_ + 1])) {
        pos_ += 2;
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  /// SWS c SWS (the SEMI, COMMA, EQUAL, SLASH, COLON separators of §25.1).
  constexpr bool Separator(char c) {
    const std::size_t save = pos_;
    SkipLws();
    if (Peek() == c) {
      ++pos_;
      SkipLws();
      return true;
    }
    pos_ = save;
    return false;
  }

  constexpr bool Consume(char c) {
    if (Peek() == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  /// The longest run of characters of class `cls`.
  constexpr std::string_view Span(std::uint16_t cls) {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && Is(s_[pos_], cls)) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }
  constexpr std::string_view Token() { return Span(kToken); }

  /// A quoted-string starting at the cursor (which must be at `"`); returns the inside, with
  /// escapes kept. Sets `ok` false when it is unterminated or has a bad escape.
  constexpr std::string_view Quoted(bool& ok) {
    ok = false;
    if (Peek() != '"') {
      return {};
    }
    const std::size_t start = ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\\') {
        if (pos_ + 1 >= s_.size() || static_cast<unsigned char>(s_[pos_ + 1]) > 0x7f ||
            s_[pos_ + 1] == '\n' || s_[pos_ + 1] == '\r') {
          return {};
        }
        pos_ += 2;
      } else if (c == '"') {
        ok = true;
        return s_.substr(start, pos_++ - start);
      } else if (c == '\r' || c == '\n') {
        // Only a fold may continue a quoted string.
        if (c == '\r' && pos_ + 2 < s_.size() && s_[pos_ + 1] == '\n' && IsWsp(s_[pos_ + 2])) {
          pos_ += 3;
        } else {
          return {};
        }
      } else {
        ++pos_;
      }
    }
    return {};
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

/// Parses an unsigned decimal of at most `max`; false on empty, non-digits or overflow.
constexpr bool ParseUnsigned(std::string_view s, std::uint64_t max, std::uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  std::uint64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) {
      return false;
    }
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) {
      return false;
    }
    v = v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace portline::sip::syntax
